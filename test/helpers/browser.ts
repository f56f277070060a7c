/**
 * A real headless browser for tests: Debian's chromium, driven by
 * playwright-core (no browser is ever downloaded), run inside a lab
 * member's network namespace so that it reaches the members' addresses as
 * that member does. The browser process is killed by its pid when the test
 * ends, whatever happened.
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { chromium, type Browser, type Page } from "playwright-core";
import type { Lab } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { CLI } from "./member.js";
import { startLab, stopLab } from "./lab.js";
import { isAlive } from "./processes.js";
import { makeTempDir, removeDir } from "./tmp.js";
import { waitFor } from "./wait.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Why a browser test cannot run here, or undefined when it can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is missing: install Debian's chromium (scripts/install-test-packages.sh)`;
}

export interface NamespacedBrowser {
  browser: Browser;
  /** Closes the browser and kills whatever of it is left. */
  close(): Promise<void>;
}

/** Chromium in network namespace `namespace`; `dir` holds its launcher script. */
export async function launchInNamespace(
  namespace: string,
  dir: string,
): Promise<NamespacedBrowser> {
  // `ip netns exec` execs chromium in place: the script's pid is the browser's.
  const launcher = join(dir, "chromium-in-netns");
  const pidFile = join(dir, "chromium.pid");
  await writeFile(
    launcher,
    `#!/bin/sh\necho $$ > ${pidFile}\nexec ip netns exec ${namespace} ${CHROMIUM} "$@"\n`,
  );
  await chmod(launcher, 0o755);
  const kill = async () => {
    const pid = Number(await readFile(pidFile, "utf8").catch(() => ""));
    if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return;
    // Playwright starts it as the leader of its own process group: take the renderers too.
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      process.kill(pid, "SIGKILL");
    }
  };
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: launcher,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      timeout: 60_000,
    });
  } catch (e) {
    await kill();
    throw e;
  }
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      await kill();
    },
  };
}

/** A user of the identity store with `password`, added through member `node`. */
export async function addDashboardUser(
  lab: Lab,
  node: string,
  name: string,
  password: string,
  options: string[] = [],
): Promise<void> {
  const n = lab.node(node);
  const args = [
    CLI,
    "--state-dir",
    n.stateDir,
    "user",
    "add",
    name,
    ...options,
    "--password-stdin",
  ];
  await runIn(n.namespace, process.execPath, args, { input: password, timeoutMs: 30_000 });
}

/**
 * A browser in member `node`'s namespace, logged in to its dashboard as
 * `user` (a reader of the admin project, made here), with the page open.
 */
export async function openDashboard(
  lab: Lab,
  node: string,
  dir: string,
  viewport = { width: 1400, height: 900 },
): Promise<{ browser: NamespacedBrowser; page: Page; url: string }> {
  const password = randomBytes(12).toString("hex");
  await lab.ok(node, ["project", "add", "admin"]).catch(() => undefined);
  await addDashboardUser(lab, node, "viewer", password, ["--project", "admin", "--role", "reader"]);
  const n = lab.node(node);
  const url = `https://${n.address}:6690/`;
  const browser = await launchInNamespace(n.namespace, dir);
  try {
    const context = await browser.browser.newContext({ ignoreHTTPSErrors: true, viewport });
    const page = await context.newPage();
    await waitFor("the dashboard to answer", async () => (await page.goto(url))?.ok(), {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await page.fill('input[name="user"]', "viewer");
    await page.fill('input[name="password"]', password);
    await page.click('button[type="submit"]');
    await page.locator("#members").waitFor({ timeout: 30_000 });
    return { browser, page, url };
  } catch (e) {
    const shown = await pageText(browser);
    await browser.close();
    throw new Error(`${(e as Error).message}\nThe page showed: ${shown}`, { cause: e });
  }
}

/** What the browser's first page shows, for an error message. */
async function pageText(b: NamespacedBrowser): Promise<string> {
  const page = b.browser.contexts()[0]?.pages()[0];
  return page ? await page.innerText("body").catch((e: Error) => e.message) : "(no page)";
}

/**
 * Runs `work` with a lab of `nodes` members, a scratch directory and, once
 * `work` opens one, a browser; all three are gone afterwards, whatever
 * happened (for scripts and benchmarks; tests use before/after).
 */
export async function withLabBrowser(
  nodes: number,
  work: (lab: Lab, dir: string, keep: (b: NamespacedBrowser) => void) => Promise<void>,
): Promise<void> {
  let lab: Lab | undefined;
  let dir: string | undefined;
  let browser: NamespacedBrowser | undefined;
  try {
    lab = await startLab(nodes);
    dir = await makeTempDir("dash");
    await work(lab, dir, (b) => (browser = b));
  } finally {
    await browser?.close();
    await stopLab(lab);
    if (dir) await removeDir(dir);
  }
}
