/**
 * The security log across a lab cluster: a join with a bad token leaves
 * exactly one line, on the member that refused it, with the joiner's
 * address and the name it gave; a refused OpenStack API login leaves one
 * line with the user and the caller's address. Then, after a run that
 * handles every kind of secret (join tokens, a user's password, the
 * OpenStack administrator's password, Keystone tokens, private keys before
 * and after a CA regeneration), none of them is in any file under any
 * member's logs/ (the daemons' logs and the security logs alike).
 */
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabNode } from "../../src/lab/lab.js";
import { callMemberApi, startLab, stopLab } from "../helpers/lab.js";
import { callLabIdentity, passwordAuth, printedAdminPassword } from "../helpers/openstack-api.js";
import { securityLines, waitForSecurityLines } from "../helpers/security-log.js";

let lab: Lab | undefined;
let m1: LabNode;
let m2: LabNode;
/** Every secret the run handled, by what it is. */
const secrets = new Map<string, string>();

/** The base64 lines of every private key a member holds now, each a secret. */
async function keepPrivateKeys(node: LabNode, when: string): Promise<void> {
  const pki = join(node.stateDir, "data/pki");
  for (const file of (await readdir(pki)).filter((f) => f.endsWith("privkey.pem"))) {
    const body = (await readFile(join(pki, file), "utf8"))
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("-----"));
    body.forEach((line, i) => secrets.set(`${node.name} ${file} line ${i} (${when})`, line));
  }
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name);
    files.push(...(e.isDirectory() ? await filesUnder(path) : [path]));
  }
  return files;
}

function decodeToken(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token, "base64").toString("utf8")) as Record<string, unknown>;
}

before(async () => {
  lab = await startLab(1);
  m1 = lab.node("m1");
  m2 = await lab.addNode();
  await keepPrivateKeys(m1, "bootstrap");
});

after(() => stopLab(lab));

describe("the security log in a cluster", () => {
  it("a join with a bad token leaves one line, on the member that refused it", async () => {
    const token = (await lab!.ok("m1", ["cluster", "add", m2.name])).trim();
    const forged = Buffer.from(
      JSON.stringify({
        ...decodeToken(token),
        secret: "bm90LXRoZS1zZWNyZXQtb2YtYW55LXRva2VuLWF0LWFsbA",
      }),
    ).toString("base64");
    secrets.set("join token", token);
    secrets.set("join token's secret", String(decodeToken(token).secret));
    secrets.set("forged join token", forged);
    const refused = await lab!.cli(m2.name, ["cluster", "join", forged, "--address", m2.address]);
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /not known to the cluster/);
    const [line] = await waitForSecurityLines(m1.stateDir, "token.use", { outcome: "failure" });
    assert.deepEqual(
      { ...line, time: undefined, reason: undefined },
      {
        time: undefined,
        event: "token.use",
        outcome: "failure",
        member: "m1",
        name: m2.name,
        remote: m2.address,
        reason: undefined,
        code: "TOKEN_UNKNOWN",
      },
    );
    assert.match(String(line!.reason), /not known to the cluster/);
    assert.equal(
      (await securityLines(m1.stateDir)).filter((l) => l.event === "token.use").length,
      1,
      "exactly one line for the refused join",
    );
    const issued = (await securityLines(m1.stateDir)).filter((l) => l.event === "token.issue");
    assert.deepEqual(
      issued.map((l) => [l.name, l.outcome]),
      [[m2.name, "success"]],
    );

    // The real token then admits it: recorded on both sides.
    await lab!.ok(m2.name, ["cluster", "join", token, "--address", m2.address]);
    const [admitted] = await waitForSecurityLines(m1.stateDir, "token.use", { outcome: "success" });
    assert.equal(admitted!.role, "voter");
    await waitForSecurityLines(m2.stateDir, "member.join", { outcome: "success", member: m2.name });
    await keepPrivateKeys(m2, "join");
  });

  it("a call refused by the member API leaves a line, once a minute per caller and reason", async () => {
    for (let i = 0; i < 3; i++) {
      const refused = await callMemberApi(lab!, m2, m1, "GET", "/1.0/cluster/members");
      assert.equal(refused.status, 403);
    }
    const [line] = await waitForSecurityLines(m1.stateDir, "member-api.refused");
    assert.deepEqual(
      [line!.outcome, line!.code, line!.remote, line!.path],
      ["failure", "MEMBER_CERTIFICATE_REQUIRED", m2.address, "/1.0/cluster/members"],
    );
    assert.match(String(line!.reason), /needs a client certificate issued by this cluster's CA/);
    const all = (await securityLines(m1.stateDir)).filter((l) => l.event === "member-api.refused");
    assert.equal(all.length, 1, "the repeats are counted, not written");
  });

  it("a refused OpenStack API login leaves one line with the user and the caller's address", async () => {
    const enabled = await lab!.ok("m1", ["enable", "openstack-api"]);
    secrets.set("OpenStack admin password", printedAdminPassword(enabled));
    const added = await lab!.ok("m1", [
      "user",
      "add",
      "alice",
      "--project",
      "admin",
      "--role",
      "member",
    ]);
    const lines = added.split("\n");
    const password = lines[lines.findIndex((l) => /^Generated password/.test(l)) + 1]!;
    assert.match(password, /^\S{16,}$/);
    secrets.set("alice's password", password);
    const wrong = await callLabIdentity(lab!, "m1", "POST", "/v3/auth/tokens", {
      body: passwordAuth("alice", "not-her-password"),
    });
    assert.equal(wrong.status, 401);
    const [line] = await waitForSecurityLines(m1.stateDir, "openstack.login", {
      outcome: "failure",
    });
    assert.deepEqual(
      { ...line, time: undefined },
      {
        time: undefined,
        event: "openstack.login",
        outcome: "failure",
        member: "m1",
        user: "alice",
        method: "password",
        remote: m1.address,
        status: 401,
      },
    );
    assert.equal(
      (await securityLines(m1.stateDir)).filter((l) => l.event === "openstack.login").length,
      1,
    );

    // And her right password: a token, which is a secret too.
    const right = await callLabIdentity(lab!, "m1", "POST", "/v3/auth/tokens", {
      body: passwordAuth("alice", password, "admin"),
    });
    assert.equal(right.status, 201);
    const token = right.headers!["x-subject-token"]!;
    secrets.set("alice's Keystone token", token);
    await waitForSecurityLines(m1.stateDir, "openstack.login", {
      outcome: "success",
      user: "alice",
    });
    // A member may not list users: refused, recorded without the token.
    const listed = await callLabIdentity(lab!, "m1", "GET", "/v3/users", {
      headers: { "x-auth-token": token },
    });
    assert.equal(listed.status, 403);
    await waitForSecurityLines(m1.stateDir, "openstack.refused", {
      status: 403,
      path: "/v3/users",
    });
  });

  it("no secret the run handled is in any member's logs, after a CA regeneration too", async () => {
    await lab!.ok("m1", ["certificates", "regenerate-ca"]);
    await waitForSecurityLines(m1.stateDir, "ca.regenerate", { outcome: "success" });
    await waitForSecurityLines(m2.stateDir, "ca.commit", { outcome: "success", by: "m1" });
    await keepPrivateKeys(m1, "new CA");
    await keepPrivateKeys(m2, "new CA");
    assert.ok(secrets.size > 20, `${secrets.size} secrets`);

    const files = [
      ...(await filesUnder(join(m1.stateDir, "logs"))),
      ...(await filesUnder(join(m2.stateDir, "logs"))),
    ];
    assert.ok(files.some((f) => f.endsWith("microovnd.log")));
    assert.ok(files.some((f) => f.endsWith("security.log")));
    const found: string[] = [];
    for (const file of files) {
      const text = await readFile(file, "utf8");
      for (const [what, secret] of secrets)
        if (text.includes(secret)) found.push(`${what} in ${file}`);
    }
    assert.deepEqual(found, []);
  });
});
