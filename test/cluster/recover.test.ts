/**
 * Losing the majority: three voters and two spares, two voters SIGKILLed
 * for good, and `cluster recover` on the third. Refused while a majority
 * answers and without confirmation; then NB keeps every row and takes
 * writes, a spare stays a member (certificates from the new CA, its
 * ovn-controller on the new SB, its VM pinging the survivor's), a spare
 * that answers but cannot follow the new cluster is removed too, the lost
 * members are fenced out (new Raft cluster IDs, their certificates refused
 * on the OVSDB ports and the member API), two fresh members join, Raft has
 * three servers again, and VMs ping again. A lost member started again
 * with its old files cannot disturb the new cluster and says it was removed.
 */
import assert from "node:assert/strict";
import { copyFile, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LAB_SWITCH, type Lab, type LabVm } from "../../src/lab/lab.js";
import { inNamespace, runIn } from "../../src/lab/netns.js";
import { run } from "../../src/process/run.js";
import {
  LAB_DATABASES as ALL,
  callMemberApi,
  killNode,
  logicalSwitches,
  raftStatus,
  startLab,
  stopLab,
} from "../helpers/lab.js";
import { CLI } from "../helpers/member.js";
import { makeOpensslCa } from "../helpers/openssl-ca.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;
const vms: LabVm[] = [];
const created = ["ls-a", "ls-b", "ls-c"];
/** Switches are listed sorted: those made later are named to sort last (ls-x, ls-y). */
/** m3's cluster IDs before recovery. */
const oldIds: Record<string, string> = {};
/** Where recovery kept the old files (the old CA among them). */
let backup = "";

/** NB's switches but the lab's own (the VMs'). */
async function switches(node: string): Promise<string[]> {
  return (await logicalSwitches(lab!, node)).filter((name) => name !== LAB_SWITCH);
}

async function listMembers(node: string): Promise<{ name: string; status: string }[]> {
  return JSON.parse(await lab!.ok(node, ["cluster", "list", "-f", "json"])) as {
    name: string;
    status: string;
  }[];
}

async function memberNames(node: string): Promise<string[]> {
  return (await listMembers(node)).map((m) => m.name).sort();
}

function pings(from: LabVm, to: LabVm) {
  return async () => {
    const r = await runIn(from.namespace, "ping", ["-c", "1", "-W", "1", to.ip], {
      allowFailure: true,
      timeoutMs: 5_000,
    });
    return r.exitCode === 0;
  };
}

/** `a` and `b` ping each other (the first may wait for the flows to be there). */
async function pingEachOther(a: LabVm, b: LabVm): Promise<void> {
  const where = (vm: LabVm) => `${vm.name} on ${vm.node}`;
  await waitFor(`${where(a)} to ping ${where(b)}`, pings(a, b), {
    timeoutMs: 30_000,
    intervalMs: 200,
  });
  await waitFor(`${where(b)} to ping ${where(a)}`, pings(b, a), {
    timeoutMs: 10_000,
    intervalMs: 200,
  });
}

before(async () => {
  // m1 to m3 are voters and centrals; m4 and m5 are spares (hypervisors: switch and chassis).
  lab = await startLab(5);
  vms.push(await lab.addVm("m3"), await lab.addVm("m4"));
  for (const ls of created) await lab.ok("m3", ["ovn-nbctl", "--timeout=10", "ls-add", ls]);
});

after(() => stopLab(lab));

describe("losing two of three members for good", () => {
  it("refuses recovery while the majority answers, and changes nothing", async () => {
    await waitFor("vm1 on m3 to ping vm2 on m4", pings(vms[0]!, vms[1]!), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    for (const db of ALL) oldIds[db] = (await raftStatus(lab!, "m3", db)).clusterId;
    const r = await lab!.cli("m3", ["cluster", "recover", "--yes"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(
      r.stderr,
      /still has a leader .*cluster remove NAME --force.*Nothing was changed/s,
    );
    for (const db of ALL) {
      const view = await raftStatus(lab!, "m3", db);
      assert.equal(view.servers, 3, db);
      assert.equal(view.clusterId, oldIds[db], db);
    }
    assert.deepEqual(await memberNames("m2"), ["m1", "m2", "m3", "m4", "m5"]);
  });

  it("refuses without confirmation when stdin is not a terminal", async () => {
    await killNode(lab!, "m1");
    await killNode(lab!, "m2");
    // The survivor's servers notice that no majority answers.
    for (const db of ALL) {
      await waitFor(
        `m3's ${db} to lose its leader`,
        async () => (await raftStatus(lab!, "m3", db)).leader === "unknown",
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }
    // m5 answers on the member API (its TLS is loaded already) but can no
    // longer reach a state database: its CA file now trusts another CA.
    const foreign = await makeOpensslCa(lab!.root, "foreign", "ecdsa");
    await copyFile(foreign.certPath, join(lab!.node("m5").stateDir, "data/pki/cacert.pem"));
    // What operations.md tells operators to look for.
    assert.match(
      await lab!.ok("m3", ["status"]),
      /OVN Northbound: .*\[raft: candidate, 3 servers\]/,
    );
    const r = await lab!.cli("m3", ["cluster", "recover"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /asks for confirmation on a terminal; run it on one, or add --yes/);
    // On a terminal (script(1) gives it one) it asks, and anything but "yes" stops it.
    const m3 = lab!.node("m3");
    const command = [process.execPath, CLI, "--state-dir", m3.stateDir, "cluster", "recover"];
    const inM3 = inNamespace(m3.namespace, "script", ["-qec", command.join(" "), "/dev/null"]);
    const tty = await run(inM3.program, inM3.args, {
      input: "no\n",
      allowFailure: true,
      timeoutMs: 30_000,
    });
    assert.notEqual(tty.exitCode, 0);
    // m4 and m5 answer and hold no database copy: kept; m1 and m2 are down: lost.
    assert.match(
      tty.stdout,
      /\nKept: m4, m5 \(.*\nRemoved for good: m1, m2 \(.*This cannot be undone\. Type yes to go on:/s,
    );
    assert.match(tty.stdout, /recovery not confirmed \("no"\); nothing was changed/);
    for (const db of ALL) assert.equal((await raftStatus(lab!, "m3", db)).clusterId, oldIds[db]);
  });

  it("recovers on m3: new one-server clusters with every NB row, writable", async () => {
    const r = await lab!.cli("m3", ["cluster", "recover", "--yes"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /m3 is the only database member of a new cluster/);
    assert.match(r.stdout, /\nKept: m4 \(certificates from the new CA/);
    assert.match(r.stdout, /Removed for good: m1, m2, m5 \(chassis deleted: m1, m2, m5\)/);
    assert.match(r.stdout, /\nm5 answered before but did not find the new cluster in time/);
    // The old files are kept: the old cluster's databases, CA and CA key.
    backup = /files, certificates and keys are in (\S+)\.$/m.exec(r.stdout)?.[1] ?? "";
    for (const [db, file] of [
      ["nb", "central/db/ovnnb_db.db"],
      ["sb", "central/db/ovnsb_db.db"],
      ["state", "state/db/microovn.db"],
    ] as const) {
      const cid = await run("ovsdb-tool", ["db-cid", join(backup, "data", file)]);
      assert.ok(cid.stdout.startsWith(oldIds[db]!), `${file} in the backup is the old cluster's`);
    }
    await stat(join(backup, "data/pki/cacert-privkey.pem"));
    // Finished: nothing is left for a later `recover` to finish.
    await assert.rejects(stat(join(lab!.node("m3").stateDir, "data/recovery.json")));
    for (const db of ALL) {
      const view = await raftStatus(lab!, "m3", db);
      assert.equal(view.status, "cluster member", db);
      assert.equal(view.role, "leader", db);
      assert.equal(view.servers, 1, db);
      assert.notEqual(view.clusterId, oldIds[db], `${db} has a new cluster ID`);
    }
    assert.deepEqual(await switches("m3"), created);
    await lab!.ok("m3", ["ovn-nbctl", "--timeout=10", "ls-add", "ls-x"]);
    assert.deepEqual(await switches("m3"), [...created, "ls-x"]);
    assert.deepEqual(await memberNames("m3"), ["m3", "m4"]);
    const chassis = await lab!.ok("m3", [
      "ovn-sbctl",
      "--bare",
      "--columns=name",
      "list",
      "Chassis",
    ]);
    assert.deepEqual(
      chassis
        .split("\n")
        .filter((l) => l !== "")
        .sort(),
      ["m3", "m4"],
    );
  });

  it("keeps the spare m4: a member on the new CA, its chassis on the new SB", async () => {
    for (const node of ["m3", "m4"]) {
      await waitFor(
        `cluster list on ${node} to show m3 and m4 ONLINE`,
        async () => {
          const listed = await listMembers(node);
          return listed.map((m) => `${m.name} ${m.status}`).join(",") === "m3 ONLINE,m4 ONLINE";
        },
        { timeoutMs: 20_000, intervalMs: 500 },
      );
    }
    const newCa = join(lab!.node("m3").stateDir, "data/pki/cacert.pem");
    const oldCa = join(backup, "data/pki/cacert.pem");
    const m4Pki = join(lab!.node("m4").stateDir, "data/pki");
    assert.equal(await readFile(join(m4Pki, "cacert.pem"), "utf8"), await readFile(newCa, "utf8"));
    for (const service of ["microovn", "ovn-controller", "client"]) {
      const cert = join(m4Pki, `${service}-cert.pem`);
      const verified = await run("openssl", ["verify", "-CAfile", newCa, cert], {
        allowFailure: true,
      });
      assert.equal(verified.exitCode, 0, `${service}: ${verified.stderr}`);
      const old = await run("openssl", ["verify", "-CAfile", oldCa, cert], { allowFailure: true });
      assert.notEqual(old.exitCode, 0, `${service} still chains to the old CA`);
    }
    // Every chassis, m4's included, has caught up with NB through the new SB.
    await lab!.ok("m3", ["ovn-nbctl", "--timeout=30", "--wait=hv", "sync"]);
    assert.match(
      await lab!.ok("m4", ["ovn-appctl", "-t", "ovn-controller", "connection-status"]),
      /^connected/,
    );
    // m4 follows the new layout: the survivor's SB only.
    const remote = await lab!.ok("m4", [
      "ovs-vsctl",
      "get",
      "Open_vSwitch",
      ".",
      "external_ids:ovn-remote",
    ]);
    assert.equal(remote.trim(), `"ssl:${lab!.node("m3").address}:6642"`);
    await pingEachOther(vms[0]!, vms[1]!);
    assert.doesNotMatch(await lab!.ok("m4", ["status"]), /removed|No leader/);
    // How the chassis learnt of the new SB is no setting: not listed, not settable.
    assert.doesNotMatch(await lab!.ok("m4", ["config", "list"]), /recovered/);
    const set = await lab!.cli("m3", ["config", "set", "cluster.recovered-sb", "x"]);
    assert.notEqual(set.exitCode, 0);
    assert.match(set.stderr, /"cluster.recovered-sb" is not a setting; known: ovn.central-ips/);
  });

  it("fences the lost members out: their certificates are refused on the member API and SB", async () => {
    const m1 = lab!.node("m1");
    const m3 = lab!.node("m3");
    const pki = join(m1.stateDir, "data/pki");
    const refused = await callMemberApi(lab!, m1, m3, "GET", "/1.0/cluster/members", {
      key: join(pki, "microovn-privkey.pem"),
      cert: join(pki, "microovn-cert.pem"),
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.body?.error?.code, "MEMBER_CERTIFICATE_REFUSED");
    // The kept member dropped the old CA too.
    const atM4 = await callMemberApi(lab!, m1, lab!.node("m4"), "GET", "/1.0/cluster/members", {
      key: join(pki, "microovn-privkey.pem"),
      cert: join(pki, "microovn-cert.pem"),
    });
    assert.equal(atM4.body?.error?.code, "MEMBER_CERTIFICATE_REFUSED");
    // From m1's namespace, with m1's old files and, for comparison, m3's new ones.
    const listChassis = (dir: string) =>
      runIn(
        m1.namespace,
        "ovn-sbctl",
        [
          `--db=ssl:${m3.address}:6642`,
          `--private-key=${join(dir, "client-privkey.pem")}`,
          `--certificate=${join(dir, "client-cert.pem")}`,
          `--ca-cert=${join(dir, "cacert.pem")}`,
          "--timeout=5",
          "--bare",
          "--columns=name",
          "list",
          "Chassis",
        ],
        { allowFailure: true, timeoutMs: 15_000 },
      );
    const old = await listChassis(pki);
    assert.notEqual(old.exitCode, 0, "m1's old client certificate opened m3's SB");
    assert.match(old.stderr, /certificate verify failed/);
    const current = await listChassis(join(m3.stateDir, "data/pki"));
    assert.equal(current.exitCode, 0, current.stderr);
    assert.deepEqual(
      current.stdout
        .split("\n")
        .filter((l) => l !== "")
        .sort(),
      ["m3", "m4"],
    );
    assert.doesNotMatch(await lab!.ok("m3", ["status"]), /removed/);
  });

  it("lets two fresh members join: three Raft servers again, every row still there", async () => {
    await lab!.grow("m3");
    await lab!.grow("m3");
    assert.deepEqual(await memberNames("m4"), ["m3", "m4", "m6", "m7"]);
    for (const db of ALL) {
      const view = await raftStatus(lab!, "m7", db);
      assert.equal(view.status, "cluster member", db);
      assert.equal(view.servers, 3, db);
      assert.notEqual(view.clusterId, oldIds[db], db);
    }
    assert.deepEqual(await switches("m7"), [...created, "ls-x"]);
  });

  it("refuses recovery on a member that holds no copies of the databases", async () => {
    const r = await lab!.cli("m4", ["cluster", "recover", "--yes"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(
      r.stderr,
      /m4 does not hold copies .*run `microovn cluster recover` on a surviving/,
    );
    assert.deepEqual(await memberNames("m4"), ["m3", "m4", "m6", "m7"]);
  });

  it("lets VMs ping again: on the kept member and on a new member", async () => {
    vms.push(await lab!.addVm("m6"));
    await pingEachOther(vms[2]!, vms[1]!);
    await pingEachOther(vms[2]!, vms[0]!);
  });

  it("keeps a lost member that starts again out, and it says it was removed", async () => {
    // waitready starts m1's daemon, which brings back its old servers; they
    // never find a majority again, so it gives up, as it should.
    const waited = await lab!.cli("m1", ["waitready", "--timeout", "3"]);
    assert.notEqual(waited.exitCode, 0, "the lost member's databases never take writes");
    await waitFor(
      "m1's status to say it was removed",
      async () => {
        const r = await lab!.cli("m1", ["status"]);
        return /This member was removed from the cluster: m3 .*another CA/.test(r.stdout);
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const old = await raftStatus(lab!, "m1", "nb");
    assert.equal(old.clusterId, oldIds.nb);
    assert.equal(old.leader, "unknown");
    for (const db of ALL) {
      const view = await raftStatus(lab!, "m3", db);
      assert.equal(view.servers, 3, db);
      assert.equal(view.status, "cluster member", db);
    }
    assert.deepEqual(await memberNames("m3"), ["m3", "m4", "m6", "m7"]);
    await lab!.ok("m4", ["ovn-nbctl", "--timeout=10", "ls-add", "ls-y"]);
    assert.deepEqual(await switches("m3"), [...created, "ls-x", "ls-y"]);
  });
});
