/**
 * The web dashboard in a real browser (Debian's chromium, in m1's network
 * namespace) against a three-member lab: a wrong password is refused and
 * logged in the security log; after logging in the page shows the three
 * members and exactly one leader of each database; a switch created with
 * ovn-nbctl appears in the topology without a reload; a member that shuts
 * down turns OFFLINE; after logging out the data answers 401; repeated
 * failures are answered 429 with Retry-After. A full-page screenshot is
 * saved in test-artifacts/ (ignored by git).
 */
import assert from "node:assert/strict";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import type { Lab } from "../../src/lab/lab.js";
import {
  addDashboardUser,
  browserMissing,
  launchInNamespace,
  type NamespacedBrowser,
} from "../helpers/browser.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const ARTIFACTS = resolve(import.meta.dirname, "../../test-artifacts");
const PASSWORD = "correct horse battery staple";
const WAIT = { timeout: 30_000 };

let lab: Lab | undefined;
let dir: string | undefined;
let browser: NamespacedBrowser | undefined;
let page: Page;
let url: string;

interface SecurityLine {
  time: string;
  member: string;
  event: string;
  outcome: string;
  user?: string;
  remote?: string;
  reason?: string;
  role?: string;
}

async function securityLines(node: string): Promise<SecurityLine[]> {
  const text = await readFile(join(lab!.node(node).stateDir, "logs", "security.log"), "utf8").catch(
    () => "",
  );
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as SecurityLine);
}

/**
 * The security log lines of m1 that `match`, once there is at least one
 * (the log holds other events too: users created, services, …).
 */
function loggedLines(what: string, match: (l: SecurityLine) => boolean): Promise<SecurityLine[]> {
  return waitFor(`${what} in the security log`, async () => {
    const lines = (await securityLines("m1")).filter(match);
    return lines.length > 0 && lines;
  });
}

/**
 * A request made by the page itself, so that it leaves from m1's namespace
 * (playwright's own request API would send it from this machine's).
 */
async function fetchInPage(
  path: string,
  body?: unknown,
): Promise<{ status: number; retryAfter: string | null; json: unknown }> {
  return page.evaluate(
    async ({ path, body }) => {
      const r = await fetch(path, {
        method: body === undefined ? "GET" : "POST",
        credentials: "same-origin",
        ...(body === undefined
          ? {}
          : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
      });
      const text = r.headers.get("content-type")?.includes("json") ? await r.text() : "null";
      return {
        status: r.status,
        retryAfter: r.headers.get("retry-after"),
        json: JSON.parse(text) as unknown,
      };
    },
    { path, body },
  );
}

/** The status badge of member `name` in the members table. */
function memberStatus(name: string): Promise<string> {
  return page.locator(`#members tr[data-member="${name}"] .member-status`).innerText();
}

const skip = browserMissing();

describe("web dashboard", { skip }, () => {
  before(async () => {
    lab = await startLab(3);
    dir = await makeTempDir("dash");
    await lab.ok("m1", ["project", "add", "admin"]);
    await addDashboardUser(lab, "m1", "alice", PASSWORD, [
      "--project",
      "admin",
      "--role",
      "reader",
    ]);
    await addDashboardUser(lab, "m1", "bob", PASSWORD);
    const m1 = lab.node("m1");
    url = `https://${m1.address}:6690/`;
    browser = await launchInNamespace(m1.namespace, dir);
    const context = await browser.browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1400, height: 900 },
    });
    page = await context.newPage();
  });

  after(async () => {
    await browser?.close();
    await stopLab(lab);
    if (dir) await removeDir(dir);
  });

  it("refuses a wrong password, and the refusal is in the security log", async () => {
    await waitFor("the dashboard to answer", async () => (await page.goto(url))?.ok(), {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await page.fill('input[name="user"]', "alice");
    await page.fill('input[name="password"]', "not the password");
    await page.click('button[type="submit"]');
    const error = await page.locator(".login .error").innerText(WAIT);
    assert.match(error, /wrong user name or password/);
    const lines = await loggedLines("the refusal", (l) => l.event === "dashboard.login");
    assert.equal(lines.length, 1);
    assert.deepEqual(
      { ...lines[0], time: undefined },
      {
        time: undefined,
        member: "m1",
        event: "dashboard.login",
        outcome: "failure",
        user: "alice",
        remote: lab!.node("m1").address,
        reason: "bad credentials",
      },
    );
    const log = await readFile(join(lab!.node("m1").stateDir, "logs", "security.log"), "utf8");
    assert.ok(!log.includes("not the password"), "no password in the security log");
  });

  it("refuses a user without a role on the admin project", async () => {
    const r = await fetchInPage("/api/login", { user: "bob", password: PASSWORD });
    assert.equal(r.status, 401);
    assert.match((r.json as { error: string }).error, /no role on the admin project/);
    const refused = await loggedLines(
      "bob's refusal",
      (l) => l.event === "dashboard.login" && l.user === "bob",
    );
    assert.deepEqual(
      refused.map((l) => [l.event, l.outcome, l.reason]),
      [["dashboard.login", "failure", "no role on the admin project"]],
    );
  });

  it("logs in and shows the three members and one leader per database", async () => {
    await page.fill('input[name="user"]', "alice");
    await page.fill('input[name="password"]', PASSWORD);
    await page.click('button[type="submit"]');
    await page.locator("#members").waitFor(WAIT);
    for (const name of ["m1", "m2", "m3"]) {
      await page.locator(`#members tr[data-member="${name}"]`).waitFor(WAIT);
    }
    assert.equal(await page.locator("#members tbody tr").count(), 3);
    await waitFor(
      "every member ONLINE and a leader for NB, SB and the state database",
      async () => {
        const statuses = await Promise.all(["m1", "m2", "m3"].map(memberStatus));
        const leaders = await page.locator("#databases .role-leader").count();
        const named = await page.locator("#databases td.leader").allInnerTexts();
        return (
          statuses.every((s) => s === "ONLINE") &&
          leaders === 3 &&
          named.every((n) => /^m[123]$/.test(n))
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const roles = await page.locator("#members tbody tr td:nth-child(3)").allInnerTexts();
    assert.deepEqual(roles, ["voter", "voter", "voter"]);
    const ok = await loggedLines(
      "the login",
      (l) => l.event === "dashboard.login" && l.outcome === "success",
    );
    assert.deepEqual(
      ok.map((l) => [l.event, l.user, l.role, l.remote]),
      [["dashboard.login", "alice", "reader", lab!.node("m1").address]],
    );
  });

  it("shows a switch created with ovn-nbctl without reloading", async () => {
    await page.evaluate(
      () => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true),
    );
    await lab!.ok("m2", ["ovn-nbctl", "--timeout=10", "ls-add", "dash-sw1"]);
    await lab!.ok("m2", ["ovn-nbctl", "--timeout=10", "lsp-add", "dash-sw1", "dash-p1"]);
    await page.locator('svg#topology g.switch[data-name="dash-sw1"]').waitFor(WAIT);
    await page.locator('svg#topology g.port[data-name="dash-p1"]').waitFor(WAIT);
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
      true,
      "the page was not reloaded",
    );
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
  });

  it("shows a member that shuts down as OFFLINE", async () => {
    await lab!.ok("m3", ["shutdown"]);
    await waitFor("m3 OFFLINE on the page", async () => (await memberStatus("m3")) === "OFFLINE", {
      timeoutMs: 40_000,
      intervalMs: 250,
    });
    assert.equal(await memberStatus("m1"), "ONLINE");
  });

  it("logs out; the data then answers 401", async () => {
    await page.click("#logout");
    await page.locator(".login").waitFor(WAIT);
    for (const path of ["/api/cluster", "/api/topology", "/api/events", "/api/session"]) {
      assert.equal((await fetchInPage(path)).status, 401, path);
    }
    const out = await loggedLines("the logout", (l) => l.event === "dashboard.logout");
    assert.deepEqual(
      out.map((l) => [l.outcome, l.user]),
      [["success", "alice"]],
    );
  });

  it("answers repeated failures with 429 and Retry-After; no password is in any log", async () => {
    let last = 0;
    let retryAfter: string | undefined;
    for (let i = 0; i < 8 && last !== 429; i++) {
      const r = await fetchInPage("/api/login", { user: "mallory", password: `guess ${i}` });
      last = r.status;
      retryAfter = r.retryAfter ?? undefined;
    }
    assert.equal(last, 429);
    assert.ok(Number(retryAfter) > 0, `Retry-After: ${retryAfter}`);
    // No password given to the dashboard is in any log of any member.
    for (const node of lab!.nodes) {
      const dir = join(node.stateDir, "logs");
      for (const file of await readdir(dir)) {
        const text = await readFile(join(dir, file), "utf8");
        for (const secret of [PASSWORD, "not the password", "guess 0"]) {
          assert.ok(!text.includes(secret), `${node.name}'s ${file} holds a password`);
        }
      }
    }
  });

  it("prints its URL, follows dashboard.address live, goes on when the port is taken", async () => {
    const printed = await lab!.ok("m1", ["dashboard"]);
    assert.ok(printed.includes(url), printed);
    assert.match(printed, /microovn user add NAME --project admin --role reader/);
    const bad = await lab!.cli("m1", ["config", "set", "dashboard.address", "10.0.0.1:6690"]);
    assert.notEqual(bad.exitCode, 0);
    assert.match(
      bad.stderr,
      /one machine.s address, but the setting applies to every member.*e\.g\. member:6690/,
    );
    assert.doesNotMatch(await lab!.ok("m1", ["config", "list"]), /dashboard\.address/);
    const answers = () =>
      fetchInPage("/api/session").then(
        () => true,
        () => false,
      );
    await lab!.ok("m1", ["config", "set", "dashboard.address", "off"]);
    await waitFor("m1's dashboard to stop listening", async () => !(await answers()), {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    assert.match(await lab!.ok("m1", ["dashboard"]), /The dashboard is off/);
    // A port that is taken (here the member API's own) is reported and retried; the daemon goes on.
    await lab!.ok("m1", ["config", "set", "dashboard.address", "member:6686"]);
    const refused = await waitFor(
      "m1 to say it cannot listen on 6686",
      async () => {
        const state = JSON.parse(await lab!.ok("m1", ["dashboard", "--json"])) as {
          problem?: string;
        };
        return state.problem?.includes("EADDRINUSE") && state.problem;
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    );
    assert.match(refused, /cannot listen on 198\.18\.\d+\.\d+:6686/);
    assert.match(await lab!.ok("m1", ["status"]), /m1/);
    await lab!.ok("m1", ["config", "set", "dashboard.address", "member:6690"]);
    await waitFor("m1's dashboard to listen again", answers, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
  });
});
