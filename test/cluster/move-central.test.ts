/**
 * Moving central in a 4-member cluster: enable it on the spare m4 (which
 * holds no CA key: a voter signs its NB/SB certificates), then disable it
 * on m1. NB keeps every row, Raft stays healthy, warnings come where due,
 * and the last central is guarded.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { logicalSwitches, raftStatus, startLab, stopLab } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;

before(async () => {
  lab = await startLab(4);
});

after(() => stopLab(lab));

function switches(node: string): Promise<string[]> {
  return logicalSwitches(lab!, node);
}

async function ovnRemote(node: string): Promise<string> {
  return lab!.ok(node, ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-remote"]);
}

/** Each member's services, from `microovn status` ("- m1 (addr)\n  Services: a, b"). */
async function services(node: string): Promise<Record<string, string[]>> {
  const status = await lab!.ok(node, ["status"]);
  return Object.fromEntries(
    [...status.matchAll(/^- (\S+) \([^)]*\)\n {2}Services: (.*)$/gm)].map((m) => [
      m[1]!,
      m[2]!.split(", "),
    ]),
  );
}

describe("moving central from m1 to m4", () => {
  const created = ["ls-a", "ls-b", "ls-c"];

  it("enables central on the spare m4 from m1, with a warning about an even number", async () => {
    for (const ls of created) await lab!.ok("m2", ["ovn-nbctl", "--timeout=10", "ls-add", ls]);
    const r = await lab!.cli("m1", ["enable", "central", "--node", "m4"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Service central enabled on m4/);
    assert.match(r.stderr, /Warning: 4 members run central, an even number/);
    assert.deepEqual((await services("m3")).m4, ["central", "chassis", "switch"]);
    // m4's servers are full Raft members and hold the NB data.
    for (const db of ["nb", "sb"] as const) {
      const view = await raftStatus(lab!, "m4", db);
      assert.equal(view.status, "cluster member");
      assert.equal(view.servers, 4);
    }
    assert.deepEqual(await switches("m4"), created);
    // Signed by a voter: the spare still holds no CA key.
    await assert.rejects(stat(join(lab!.node("m4").stateDir, "data/pki/cacert-privkey.pem")));
    assert.ok((await stat(join(lab!.node("m4").stateDir, "data/pki/ovnnb-cert.pem"))).isFile());
    // Every chassis now reaches SB on m4 too.
    await waitFor(
      "m2's ovn-remote to name m4",
      async () => (await ovnRemote("m2")).includes("198.18.0.4:6642"),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
  });

  it("disables central on m1 from m4: m1 leaves NB and SB, nothing is lost", async () => {
    const r = await lab!.cli("m4", ["disable", "central", "--node", "m1"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Service central disabled on m1/);
    assert.equal(r.stderr, "", "three centrals: no warning");
    assert.deepEqual((await services("m2")).m1, ["chassis", "switch"]);
    for (const db of ["nb", "sb"] as const) {
      const view = await raftStatus(lab!, "m4", db);
      assert.equal(view.servers, 3, `${db}: 3 servers`);
      assert.ok(!view.addresses.some((a) => a.startsWith("ssl:198.18.0.1:")), `${db}: m1 gone`);
      assert.ok(view.leader !== undefined && view.leader !== "", `${db} has a leader`);
    }
    const pids = await lab!.pids("m1");
    assert.equal(pids.ovnnb_db, undefined, "no NB server on m1");
    assert.equal(pids["ovn-northd"], undefined, "no northd on m1");
    assert.ok(pids.microovn_db !== undefined, "m1 stays a voter of the state database");
    assert.deepEqual(await switches("m3"), created);
    // m1's chassis now follows the three centrals left, and the NB is writable.
    await waitFor(
      "m1's ovn-remote to drop m1",
      async () => !(await ovnRemote("m1")).includes("198.18.0.1:6642"),
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    await lab!.ok("m1", ["ovn-nbctl", "--timeout=10", "ls-add", "ls-d"]);
    await lab!.ok("m1", ["ovn-nbctl", "--timeout=20", "--wait=hv", "sync"]);
  });

  it("warns as centrals become fewer and guards the last one", async () => {
    let r = await lab!.cli("m1", ["disable", "central", "--node", "m2"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /only 2 members run central/);
    assert.match(r.stderr, /an even number/);
    r = await lab!.cli("m1", ["disable", "central", "--node", "m3"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /only 1 member runs central/);
    r = await lab!.cli("m1", ["disable", "central", "--node", "m4"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /m4 is the last member running central/);
    assert.match(r.stderr, /--allow-disable-last-central/);
    assert.deepEqual((await services("m1")).m4, ["central", "chassis", "switch"]);
    assert.deepEqual(await switches("m4"), [...created, "ls-d"]);
  });

  it("enables central again on m2, which joins afresh and gets every row", async () => {
    const r = await lab!.cli("m2", ["enable", "central"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /only 2 members run central/);
    assert.deepEqual(await switches("m2"), [...created, "ls-d"]);
    assert.equal((await raftStatus(lab!, "m2", "nb")).servers, 2);
  });

  it("refuses an unknown member and an unknown service, changing nothing", async () => {
    let r = await lab!.cli("m1", ["enable", "central", "--node", "nope"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /"nope" is not a member/);
    r = await lab!.cli("m1", ["enable", "gateway", "--node", "m3"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /"gateway" is not a service/);
    assert.deepEqual((await services("m1")).m3, ["chassis", "switch"]);
  });
});
