/**
 * The security log and the machine-readable output on one real member (its
 * own namespace, the built CLI): a service change, a setting, a user each
 * leave one line with the right fields and no secret; `security-log off`
 * stops the lines (the switch itself recorded) and `on` starts them again;
 * `certificates list -f json` matches the files; `status --json` names the
 * member.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { TestMember } from "../helpers/member.js";
import { securityLines, waitForSecurityLines } from "../helpers/security-log.js";

describe("the security log on a member", () => {
  let m: TestMember;

  before(async () => {
    m = await TestMember.create("seclog");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("has the bootstrap, 0600", async () => {
    const [line] = await waitForSecurityLines(m.dir, "member.bootstrap");
    assert.equal(line!.outcome, "success");
    assert.equal(line!.member, "node1");
    assert.equal(line!.address, "127.0.0.1");
    assert.equal((await stat(m.path("logs", "security.log"))).mode & 0o777, 0o600);
  });

  it("records a service disabled and enabled, one line each", async () => {
    await m.ok(["disable", "chassis"]);
    await m.ok(["enable", "chassis"]);
    const lines = await securityLines(m.dir);
    const changes = lines.filter((l) => String(l.event).startsWith("service."));
    assert.deepEqual(
      changes.map((l) => [l.event, l.outcome, l.service, l.member]),
      [
        ["service.disable", "success", "chassis", "node1"],
        ["service.enable", "success", "chassis", "node1"],
      ],
    );
  });

  it("records a setting with its value, a secret setting without, a refused one with the reason", async () => {
    const secret = "s3cr3t-static-token-for-the-log-test";
    await m.ok(["config", "set", "openstack-api.quota.network", "50"]);
    await m.ok(["config", "set", "openstack-api.static-token", secret]);
    const refused = await m.cli(["config", "set", "ovn.election-timer", "soon"]);
    assert.notEqual(refused.exitCode, 0);
    const lines = (await securityLines(m.dir)).filter((l) => l.event === "config.set");
    assert.deepEqual(
      lines.map((l) => [l.key, l.outcome, l.value]),
      [
        ["openstack-api.quota.network", "success", "50"],
        ["openstack-api.static-token", "success", "[redacted]"],
        ["ovn.election-timer", "failure", "soon"],
      ],
    );
    assert.equal(lines[2]!.code, "BAD_CONFIG_VALUE");
    assert.match(String(lines[2]!.reason), /give whole milliseconds/);
    for (const log of ["security.log", "microovnd.log"]) {
      const text = await readFile(m.path("logs", log), "utf8");
      assert.ok(!text.includes(secret), `the static token is in ${log}`);
    }
  });

  it("records a user created, never the password", async () => {
    const password = "correct horse battery staple 42";
    await m.ok(["project", "add", "demo"]);
    const r = await m.cli(
      ["user", "add", "alice", "--project", "demo", "--role", "member", "--password-stdin"],
      { input: `${password}\n` },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const [line] = await waitForSecurityLines(m.dir, "user.create", { user: "alice" });
    assert.deepEqual([line!.outcome, line!.project, line!.role], ["success", "demo", "member"]);
    const text = await readFile(m.path("logs", "security.log"), "utf8");
    assert.ok(!text.includes("horse battery"));
  });

  it("security-log off stops the lines on the member, recording the switch; on starts them again", async () => {
    await m.ok(["config", "set", "security-log", "off"]);
    await waitForSecurityLines(m.dir, "security-log.off");
    await m.ok(["config", "set", "openstack-api.quota.router", "7"]);
    await m.ok(["project", "add", "quiet"]);
    await m.ok(["config", "set", "security-log", "on"]);
    await waitForSecurityLines(m.dir, "security-log.on");
    await m.ok(["project", "add", "loud"]);
    await waitForSecurityLines(m.dir, "project.create", { project: "loud" });
    const lines = await securityLines(m.dir);
    assert.equal(
      lines.filter((l) => l.project === "quiet" || l.key === "openstack-api.quota.router").length,
      0,
      "a line was written while the log was off",
    );
    assert.equal(lines.filter((l) => l.event === "security-log.off").length, 1);
    assert.equal(lines.filter((l) => l.event === "security-log.on").length, 1);
  });

  it("certificates list -f json matches the files", async () => {
    const records = JSON.parse(await m.ok(["certificates", "list", "-f", "json"])) as {
      service: string;
      status: string;
      certificate: { path: string; present: boolean };
      key: { path: string; present: boolean } | null;
      expiry: string;
      expirySeconds: number;
      subject: string;
      issuer: string;
      sans: string[];
      fingerprint: string;
    }[];
    assert.ok(records.length >= 5, JSON.stringify(records));
    assert.equal(records[0]!.service, "ca");
    for (const r of records) {
      const cert = new X509Certificate(await readFile(r.certificate.path));
      assert.equal(r.status, "ok", r.service);
      assert.equal(r.expiry, new Date(cert.validTo).toISOString(), r.service);
      assert.equal(r.expirySeconds, Date.parse(cert.validTo) / 1000, r.service);
      assert.equal(r.fingerprint, cert.fingerprint256.replaceAll(":", "").toLowerCase());
      assert.equal(r.subject, cert.subject.split("\n").join(", "));
      assert.equal(r.issuer, cert.issuer.split("\n").join(", "));
      if (r.service !== "ca") {
        assert.equal(r.key?.present, true, r.service);
        await stat(r.key.path);
        assert.ok(r.sans.includes("IP:127.0.0.1"), `${r.service}: ${r.sans.join(" ")}`);
      }
    }
    const bad = await m.cli(["certificates", "list", "-f", "xml"]);
    assert.notEqual(bad.exitCode, 0);
    assert.match(
      bad.stderr,
      /"xml" is not an output format of certificates list; choose one of text, table, compact, json, yaml, csv/,
    );
  });

  it("status --json names the member, its version, and each database's Raft role", async () => {
    const report = JSON.parse(await m.ok(["status", "--json"])) as {
      member: string;
      version: string;
      members: { name: string; services: string[] }[];
      databases: { title: string; raft?: { role: string; leader: string } }[];
      processes: { name: string; phase: string }[];
    };
    assert.equal(report.member, "node1");
    assert.match(report.version, /^\d+\.\d+/);
    assert.deepEqual(
      report.members.map((x) => x.name),
      ["node1"],
    );
    assert.equal(report.databases.length, 3);
    for (const db of report.databases) assert.equal(db.raft?.role, "leader", db.title);
    assert.ok(report.processes.every((p) => p.phase === "running"));
  });
});
