/**
 * The security log's writer on a real file system (line shape, redaction,
 * the off switch, rotation, an unwritable log dir), its event list against
 * the documentation, and the OpenStack API's login and refusal events.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MicroOvnError } from "../../src/errors.js";
import { StateDir } from "../../src/member/state-dir.js";
import { audited } from "../../src/security/audited.js";
import { SECURITY_EVENTS } from "../../src/security/events.js";
import { REDACTED, isSecretField, redactText, settingForLog } from "../../src/security/redact.js";
import {
  ROTATE_BYTES,
  recordSecurityEvent,
  securityLogFlushed,
  securityLogPath,
  setSecurityLogEnabled,
} from "../../src/security/security-log.js";
import { followSecurityLogSetting } from "../../src/security/switch.js";
import { RefusalThrottle } from "../../src/security/throttle.js";
import { authOutcome, openstackSecurityLog } from "../../src/openstack/security-events.js";
import type { Backend } from "../../src/openstack/backend.js";
import { configKey, SECURITY_LOG } from "../../src/cluster/config-keys.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

let dir: string;
let count = 0;

/** A fresh member state dir (with member.json naming `name`, if given). */
async function freshState(name?: string): Promise<StateDir> {
  const state = new StateDir(join(dir, `m${count++}`));
  if (name !== undefined) {
    await mkdir(state.dataDir, { recursive: true });
    await writeFile(state.memberConfigPath, JSON.stringify({ name }));
  }
  return state;
}

async function lines(state: StateDir): Promise<Record<string, unknown>[]> {
  await securityLogFlushed(state);
  const text = await readFile(securityLogPath(state), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

before(async () => {
  dir = await makeTempDir("seclog");
});
after(async () => {
  await removeDir(dir);
});

describe("security log writer", () => {
  it("writes one JSON line: time, event, outcome, member, then the details", async () => {
    const state = await freshState("m1");
    recordSecurityEvent(state, {
      event: "token.use",
      outcome: "failure",
      name: "m4",
      remote: "198.18.0.4",
      reason: "unknown token",
    });
    recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "k", value: "v" });
    const [first, second] = await lines(state);
    assert.deepEqual(Object.keys(first!), [
      "time",
      "event",
      "outcome",
      "member",
      "name",
      "remote",
      "reason",
    ]);
    assert.match(String(first!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(
      { ...first, time: undefined },
      {
        time: undefined,
        event: "token.use",
        outcome: "failure",
        member: "m1",
        name: "m4",
        remote: "198.18.0.4",
        reason: "unknown token",
      },
    );
    assert.equal(second!.event, "config.set");
    assert.equal((await stat(securityLogPath(state))).mode & 0o777, 0o600);
  });

  it("writes no member before there is one, and a member the event names as given", async () => {
    const state = await freshState();
    recordSecurityEvent(state, { event: "member.bootstrap", outcome: "failure", reason: "x" });
    recordSecurityEvent(state, { event: "dashboard.login", outcome: "success", member: "m9" });
    const [first, second] = await lines(state);
    assert.equal("member" in first!, false);
    assert.equal(second!.member, "m9");
  });

  it("never writes a secret: by the detail's name or by its look", async () => {
    const state = await freshState("m1");
    const pem =
      "-----BEGIN PRIVATE KEY-----\nMIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDBx\n-----END PRIVATE KEY-----\n";
    const joinToken = Buffer.from(
      JSON.stringify({ name: "m4", secret: "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdo" }),
    ).toString("base64");
    const keystone = "mo1.eyJraWQiOiJrMSJ9.c2lnbmF0dXJl";
    recordSecurityEvent(state, {
      event: "user.create",
      outcome: "failure",
      password: "hunter2",
      token: "abc",
      joinToken: "x",
      clientSecret: "s",
      privateKey: "k",
      user: "alice",
      reason: `bad input ${pem} with ${joinToken} and ${keystone}`,
      project: "0a1b2c3d-0000-4000-8000-123456789abc",
      name: "rack-01.compute-node-0001.example.org",
    });
    const [line] = await lines(state);
    for (const field of ["password", "token", "joinToken", "clientSecret", "privateKey"]) {
      assert.equal(line![field], REDACTED, field);
    }
    const text = await readFile(securityLogPath(state), "utf8");
    for (const secret of ["hunter2", "MIG2AgEA", joinToken, keystone, "c2lnbmF0dXJl"]) {
      assert.ok(!text.includes(secret), `${secret} is in the log`);
    }
    assert.equal(line!.user, "alice");
    assert.equal(line!.project, "0a1b2c3d-0000-4000-8000-123456789abc");
    assert.equal(line!.name, "rack-01.compute-node-0001.example.org");
    assert.match(String(line!.reason), /^bad input \[redacted\]/);
  });

  it("names secret fields and settings, and leaves names about them alone", () => {
    for (const f of ["password", "newPassword", "token", "X-Auth-Token", "tokenId", "apiKey"]) {
      assert.equal(isSecretField(f), true, f);
    }
    for (const f of ["key", "tokenName", "user", "remote", "reason", "name", "value"]) {
      assert.equal(isSecretField(f), false, f);
    }
    assert.equal(settingForLog("openstack-api.static-token", "0123456789abcdef0"), REDACTED);
    assert.equal(settingForLog("openstack-api.ovirt-client-secret", "s"), REDACTED);
    assert.equal(settingForLog("openstack-api.token-expiration", "3600"), "3600");
    assert.equal(settingForLog("security-log", "off"), "off");
    assert.equal(
      redactText("a 64-hex 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
      "a 64-hex [redacted]",
    );
  });

  it("cuts a very long value", async () => {
    const state = await freshState("m1");
    recordSecurityEvent(state, {
      event: "openstack.login",
      outcome: "failure",
      user: "u ".repeat(2000),
    });
    const [line] = await lines(state);
    assert.ok(String(line!.user).length <= 513);
  });

  it("writes nothing while off; the setting's switch is recorded, the first reading is not", async () => {
    const state = await freshState("m1");
    followSecurityLogSetting(state, "off"); // a daemon starting with the log off: silent
    recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "a" });
    assert.deepEqual(await lines(state), []);
    followSecurityLogSetting(state, undefined); // deleted: on again
    recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "b" });
    followSecurityLogSetting(state, "off");
    recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "c" });
    followSecurityLogSetting(state, "off");
    assert.deepEqual(
      (await lines(state)).map((l) => [l.event, l.key]),
      [
        ["security-log.on", undefined],
        ["config.set", "b"],
        ["security-log.off", undefined],
      ],
    );
    setSecurityLogEnabled(state, true);
  });

  it("rotates a full log to security.log.1, keeping one old file", async () => {
    const state = await freshState("m1");
    recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "old" });
    await securityLogFlushed(state);
    const path = securityLogPath(state);
    await truncate(path, ROTATE_BYTES); // as if full
    recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "new" });
    const now = await lines(state);
    assert.deepEqual(
      now.map((l) => l.key),
      ["new"],
    );
    const old = await readFile(`${path}.1`, "utf8");
    assert.ok(old.startsWith('{"time"') && old.includes('"old"'));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  it("never throws, and tells once, when the log cannot be written", async () => {
    const state = await freshState("m1");
    await writeFile(state.logDir, "a file where the log dir should be");
    const said: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string) => {
      said.push(String(chunk));
      return true;
    };
    try {
      recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "a" });
      recordSecurityEvent(state, { event: "config.set", outcome: "success", key: "b" });
      await securityLogFlushed(state);
    } finally {
      process.stderr.write = write;
    }
    assert.equal(said.length, 1);
    assert.match(said[0]!, /security log .*security\.log cannot be written .*dropped/);
  });

  it("never throws on an event it cannot turn into a line", () => {
    const state = new StateDir(join(dir, "odd"));
    const cyclic = { event: "x", outcome: "success" } as unknown as Parameters<
      typeof recordSecurityEvent
    >[1];
    Object.defineProperty(cyclic, "boom", {
      enumerable: true,
      get() {
        throw new Error("boom");
      },
    });
    assert.doesNotThrow(() => recordSecurityEvent(state, cyclic));
  });
});

describe("audited", () => {
  it("records success with the result's details, and failure with reason and code", async () => {
    const state = await freshState("m1");
    const answer = await audited(
      state,
      "token.issue",
      { name: "m4" },
      async () => ({ e: "2026" }),
      (r) => ({
        expiresAt: r.e,
      }),
    );
    assert.deepEqual(answer, { e: "2026" });
    await assert.rejects(
      audited(state, "token.use", { name: "m5", remote: "::1" }, async () => {
        throw new MicroOvnError("TOKEN_UNKNOWN", "this token is not known to the cluster");
      }),
      /not known/,
    );
    const [ok, refused] = await lines(state);
    assert.deepEqual(
      { event: ok!.event, outcome: ok!.outcome, name: ok!.name, expiresAt: ok!.expiresAt },
      { event: "token.issue", outcome: "success", name: "m4", expiresAt: "2026" },
    );
    assert.deepEqual(
      { ...refused, time: undefined },
      {
        time: undefined,
        event: "token.use",
        outcome: "failure",
        member: "m1",
        name: "m5",
        remote: "::1",
        reason: "this token is not known to the cluster",
        code: "TOKEN_UNKNOWN",
      },
    );
  });
});

describe("security events", () => {
  it("are each documented in docs/observability.md with their details", async () => {
    const doc = await readFile(new URL("../../docs/observability.md", import.meta.url), "utf8");
    const section = doc.slice(doc.indexOf("## Security log"), doc.indexOf("## Machine-readable"));
    for (const [event, details] of Object.entries(SECURITY_EVENTS)) {
      const row = section.split("\n").find((l) => l.startsWith(`| \`${event}\``));
      assert.ok(row, `${event} is not in the Security log section's table`);
      for (const d of details) assert.ok(row.includes(`\`${d}\``), `${event}: ${d} not documented`);
    }
  });

  it("the OpenStack API: a token asked for is a login, with the user and never the password", () => {
    const body = {
      auth: {
        identity: { methods: ["password"], password: { user: { name: "alice", password: "pw1" } } },
      },
    };
    const request = {
      method: "POST",
      url: "/v3/auth/tokens?nocatalog",
      ip: "::ffff:198.18.0.9",
      body,
    };
    assert.deepEqual(authOutcome(request, 401), {
      event: "openstack.login",
      outcome: "failure",
      user: "alice",
      method: "password",
      remote: "198.18.0.9",
      status: 401,
    });
    assert.equal(authOutcome(request, 201)?.outcome, "success");
    assert.ok(!JSON.stringify(authOutcome(request, 201)).includes("pw1"));
    const v2 = { auth: { passwordCredentials: { username: "bob", password: "pw2" } } };
    assert.deepEqual(
      authOutcome({ method: "POST", url: "/v2.0/tokens/", ip: "::1", body: v2 }, 200),
      {
        event: "openstack.login",
        outcome: "success",
        user: "bob",
        method: "password",
        remote: "::1",
        status: 200,
      },
    );
  });

  it("the OpenStack API: 401 and 403 elsewhere are refusals; other answers are nothing", () => {
    const get = { method: "GET", url: "/v2.0/networks?name=x", ip: "198.18.0.9" };
    assert.deepEqual(authOutcome(get, 403), {
      event: "openstack.refused",
      outcome: "failure",
      remote: "198.18.0.9",
      method: "GET",
      path: "/v2.0/networks",
      status: 403,
    });
    assert.equal(authOutcome(get, 401)?.event, "openstack.refused");
    assert.equal(authOutcome(get, 200), undefined);
    // The caller gone before its address was read: the refusal is still recorded.
    assert.deepEqual(authOutcome({ ...get, ip: undefined }, 401)?.remote, undefined);
    assert.equal(authOutcome({ ...get, ip: undefined }, 401)?.event, "openstack.refused");
    assert.equal(authOutcome(get, 404), undefined);
  });

  it("security-log takes on or off and refuses anything else, naming both", () => {
    assert.equal(configKey(SECURITY_LOG).check("off"), "off");
    assert.equal(configKey(SECURITY_LOG).check("on"), "on");
    assert.throws(
      () => configKey(SECURITY_LOG).check("no"),
      /security-log cannot be "no": choose one of on, off/,
    );
  });
});

describe("refusal throttle", () => {
  it("lets the first through, counts the repeats within the interval, reports them on the next", () => {
    const throttle = new RefusalThrottle(1000);
    assert.equal(throttle.pass("a", 0), 0);
    assert.equal(throttle.pass("a", 10), undefined);
    assert.equal(throttle.pass("a", 999), undefined);
    assert.equal(throttle.pass("b", 500), 0, "another caller or reason is apart");
    assert.equal(throttle.pass("a", 1000), 2);
    assert.equal(throttle.pass("a", 1500), undefined);
    assert.equal(throttle.pass("a", 2000), 1);
  });
});

describe("the OpenStack API's recorder", () => {
  it("writes to the state dir its settings file is in, following security-log line by line", async () => {
    const state = await freshState("m1");
    let setting: string | undefined | Error;
    const backend = {
      config: (key: string) => {
        assert.equal(key, SECURITY_LOG);
        if (setting instanceof Error) throw setting;
        return setting;
      },
    } as unknown as Backend;
    const record = openstackSecurityLog(state.openstackApiSettingsPath, backend);
    const login = (user: string) => record({ event: "openstack.login", outcome: "failure", user });
    login("while-unset");
    setting = "off";
    login("while-off");
    setting = new Error("the replica is reconnecting");
    login("while-unknown"); // the last value (off) holds
    setting = "on";
    login("while-on");
    assert.deepEqual(
      (await lines(state)).map((l) => [l.user, l.member]),
      [
        ["while-unset", "m1"],
        ["while-on", "m1"],
      ],
    );
  });
});
