/**
 * Growing from 1 to 5 members (the 4th and 5th chassis-only spares), then
 * shrinking: one member leaves gracefully, one dead member is forced out.
 */
import assert from "node:assert/strict";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import {
  DATABASES,
  callMemberApi,
  killNode,
  raftStatus,
  startLab,
  stopLab,
  type LabDatabase,
} from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;

interface Listed {
  name: string;
  role: string;
  status: string;
}

async function list(node: string): Promise<Listed[]> {
  return JSON.parse(await lab!.ok(node, ["cluster", "list", "-f", "json"])) as Listed[];
}

async function chassisNames(node: string): Promise<string[]> {
  const out = await lab!.ok(node, ["ovn-sbctl", "--bare", "--columns=name", "list", "Chassis"]);
  return out
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

before(async () => {
  lab = await startLab(1);
});

after(() => stopLab(lab));

describe("scaling a cluster from 1 to 5 members and back to 3", () => {
  it("places the first three as central voters and the 4th and 5th as chassis-only spares", async () => {
    for (let i = 0; i < 4; i++) await lab!.grow();
    const members = await list("m5");
    assert.deepEqual(
      members.map((m) => [m.name, m.role, m.status]),
      [
        ["m1", "voter", "ONLINE"],
        ["m2", "voter", "ONLINE"],
        ["m3", "voter", "ONLINE"],
        ["m4", "spare", "ONLINE"],
        ["m5", "spare", "ONLINE"],
      ],
    );
    const status = await lab!.ok("m4", ["status"]);
    assert.match(status, /- m4 \(198\.18\.0\.4\)\n {2}Services: chassis, switch\n/);
    assert.match(status, /- m1 \(198\.18\.0\.1\)\n {2}Services: central, chassis, switch\n/);
    const pids = await lab!.pids("m4");
    assert.equal(pids.ovnnb_db, undefined, "no NB server on a spare");
    assert.equal(pids.microovn_db, undefined, "no state database server on a spare");
    assert.ok(pids["ovn-controller"] !== undefined);
    await assert.rejects(stat(join(lab!.node("m4").stateDir, "data/pki/cacert-privkey.pem")));
    assert.ok((await stat(join(lab!.node("m3").stateDir, "data/pki/cacert-privkey.pem"))).isFile());
    assert.deepEqual(await chassisNames("m1"), ["m1", "m2", "m3", "m4", "m5"]);
    for (const db of Object.keys(DATABASES) as LabDatabase[]) {
      assert.equal((await raftStatus(lab!, "m1", db)).servers, 3, `${db} has 3 servers`);
    }
    // The spares' chassis reach SB on all three centrals.
    const remote = await lab!.ok("m5", [
      "ovs-vsctl",
      "get",
      "Open_vSwitch",
      ".",
      "external_ids:ovn-remote",
    ]);
    assert.equal((JSON.parse(remote) as string).split(",").length, 3);
  });

  it("removes a member gracefully: it leaves every Raft cluster and SB, and keeps a backup", async () => {
    const m2 = lab!.node("m2");
    const r = await lab!.cli("m1", ["cluster", "remove", "m2"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Removed m2; its data, logs and keys are in .*backup_\d+ on m2/);
    assert.match(r.stderr, /Warning: only 2 members run central/);
    const backups = (await readdir(m2.stateDir)).filter((f) => f.startsWith("backup_"));
    assert.equal(backups.length, 1);
    const backup = join(m2.stateDir, backups[0]!);
    for (const f of [
      "data/member.json",
      "data/pki/microovn-privkey.pem",
      "data/central/db/ovnnb_db.db",
      "logs",
    ]) {
      assert.ok(await stat(join(backup, f)), `${f} in the backup`);
    }
    await assert.rejects(stat(join(m2.stateDir, "data")), "nothing left outside the backup");
    // The daemon runs on: its pidfile and its log stay where `shutdown` and the lab look.
    assert.ok((await stat(join(m2.stateDir, "run/microovnd.pid"))).isFile());
    assert.ok((await stat(join(m2.stateDir, "logs/microovnd.log"))).isFile());
    await assert.rejects(stat(join(backup, "logs/microovnd.log")));
    const after = await lab!.ok("m2", ["status"]);
    assert.ok(
      after.includes(`This machine was removed from its cluster (its old data is in ${backup}).`),
      after,
    );
    assert.match(after, /`microovn cluster join TOKEN` makes it a member/);
    assert.ok(await stat(join(backup, "logs/ovn-controller.log")));
    for (const db of Object.keys(DATABASES) as LabDatabase[]) {
      const v = await raftStatus(lab!, "m1", db);
      assert.equal(v.servers, 2, `${db}: 2 servers`);
      assert.ok(!v.addresses.some((a) => a.includes(m2.address)), `m2 gone from ${db}`);
    }
    assert.deepEqual(await chassisNames("m3"), ["m1", "m3", "m4", "m5"]);
    assert.deepEqual(
      (await list("m1")).map((m) => m.name),
      ["m1", "m3", "m4", "m5"],
    );
    // Its old certificate no longer opens the member API.
    const refused = await callMemberApi(lab!, m2, lab!.node("m1"), "GET", "/1.0/cluster/members", {
      key: join(backup, "data/pki/microovn-privkey.pem"),
      cert: join(backup, "data/pki/microovn-cert.pem"),
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body?.error?.code, "NOT_A_MEMBER");
  });

  it("forces a dead member out from a spare: kicked from every Raft cluster, its chassis gone", async () => {
    const m3 = lab!.node("m3");
    await killNode(lab!, "m3");
    const refused = await lab!.cli("m4", ["cluster", "remove", "m3"]);
    assert.notEqual(refused.exitCode, 0);
    assert.match(
      refused.stderr,
      /m3 does not answer .*use --force|if it is gone for good, remove it with --force/,
    );
    const r = await lab!.cli("m4", ["cluster", "remove", "m3", "--force"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Removed m3 \(kicked from OVN_Northbound, OVN_Southbound, MicroOVN\)/);
    for (const db of Object.keys(DATABASES) as LabDatabase[]) {
      const v = await raftStatus(lab!, "m1", db);
      assert.equal(v.servers, 1, `${db}: 1 server`);
      assert.ok(!v.addresses.some((a) => a.includes(m3.address)), `m3 gone from ${db}`);
    }
    assert.deepEqual(await chassisNames("m1"), ["m1", "m4", "m5"]);
  });

  it("leaves the rest healthy", async () => {
    await waitFor(
      "m1, m4, m5 ONLINE",
      async () => {
        const members = await list("m5");
        return (
          members.map((m) => `${m.name}:${m.status}`).join(" ") === "m1:ONLINE m4:ONLINE m5:ONLINE"
        );
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    await lab!.ok("m4", ["ovn-nbctl", "ls-add", "after-scaling"]);
    await lab!.ok("m5", ["ovn-nbctl", "--timeout=20", "--wait=hv", "sync"]);
    const remote = await lab!.ok("m5", [
      "ovs-vsctl",
      "get",
      "Open_vSwitch",
      ".",
      "external_ids:ovn-remote",
    ]);
    assert.equal(JSON.parse(remote) as string, "ssl:198.18.0.1:6642");
  });
});
