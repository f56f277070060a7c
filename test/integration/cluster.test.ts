/**
 * The client against real Raft clusters of ovsdb-server on loopback: leader
 * finding, following the leader after SIGKILL, no transaction applied twice,
 * and the replica resuming with monitor_cond_since after a server restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { OvsdbError } from "../../src/ovsdb/errors.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import { Replica, type RowChange } from "../../src/ovsdb/replica/replica.js";
import { run } from "../../src/process/run.js";
import { SCHEMAS, startRaftCluster, type RaftClusterHandle } from "../helpers/ovsdb-server.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

type NB = OvnNorthboundDatabase;

let dir: string;
let pki: TestPki;
const clusters: RaftClusterHandle[] = [];
const clients: OvsdbClient<NB>[] = [];

before(async () => {
  dir = await makeTempDir("cluster");
  pki = await makeTestPki(dir);
});

after(async () => {
  for (const c of clients) c.close();
  for (const c of clusters) await c.stop();
  await removeDir(dir);
});

async function cluster(name: string, size: number, withTls: boolean): Promise<RaftClusterHandle> {
  const c = await startRaftCluster({
    dir: `${dir}/${name}`,
    schemaFile: SCHEMAS.northbound,
    size,
    ...(withTls ? { pki } : {}),
  });
  clusters.push(c);
  return c;
}

async function leaderOf(c: RaftClusterHandle): Promise<number> {
  const found = await waitFor("a raft leader", async () => {
    const i = await c.leaderIndex();
    return i >= 0 ? { i } : undefined;
  });
  return found.i;
}

function remoteOf(c: RaftClusterHandle, i: number): string {
  const m = c.members[i]!;
  return (m.sslRemote ?? m.tcpRemote)!;
}

/** Writes a switch, retrying while the cluster elects a leader; returns attempts made. */
async function writeWithRetry(
  client: OvsdbClient<NB>,
  name: string,
  deadlineMs: number,
): Promise<number> {
  const start = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const txn = client.transaction();
      // Idempotent by construction: insert only if absent, so a retry never adds a second row.
      txn.wait("Logical_Switch", {
        where: [["name", "==", name]],
        columns: ["name"],
        until: "==",
        rows: [],
        timeoutMs: 0,
      });
      txn.insert("Logical_Switch", { name });
      await txn.commit();
      return attempt;
    } catch (e) {
      const code = (e as OvsdbError).code;
      const retryable = [
        "OVSDB_NOT_CONNECTED",
        "OVSDB_OUTCOME_UNKNOWN",
        "OVSDB_DISCONNECTED",
      ].includes(code);
      const alreadyThere =
        code === "OVSDB_TRANSACTION_FAILED" &&
        (await client.select("Logical_Switch", [["name", "==", name]])).length === 1;
      if (alreadyThere) return attempt;
      if (!retryable || Date.now() - start > deadlineMs) throw e;
    }
  }
}

describe("OVSDB client on Raft clusters", () => {
  it("talks only to the leader, follows it after SIGKILL, and never applies a write twice", async () => {
    const c = await cluster("c3", 3, true);
    const client = await OvsdbClient.connect<NB>({
      remotes: c.clientRemotes,
      database: "OVN_Northbound",
      tls: { privateKey: pki.client.key, certificate: pki.client.cert, caCert: pki.caCert },
    });
    clients.push(client);
    const leader = await leaderOf(c);
    assert.equal(client.currentRemote, remoteOf(c, leader), "connected to the leader");

    const replica = await Replica.start(client, { Logical_Switch: { columns: ["name"] } });
    const syncs: { resumed: boolean; method: string }[] = [];
    replica.on("synced", (s) => syncs.push(s));
    const before = client.transaction();
    before.insert("Logical_Switch", { name: "before-kill" });
    await before.commit();
    assert.notEqual(replica.lastTransactionId, "00000000-0000-0000-0000-000000000000");

    // A write in flight while the leader dies: it may commit or not, but must not be lost silently.
    const inFlight = client.transaction();
    inFlight.insert("Logical_Switch", { name: "in-flight" });
    const inFlightResult = inFlight.commit().then(
      () => "committed",
      (e: OvsdbError) => e.code,
    );
    await c.members[leader]!.kill();
    const outcome = await inFlightResult;
    assert.ok(["committed", "OVSDB_OUTCOME_UNKNOWN"].includes(outcome), outcome);

    await writeWithRetry(client, "after-kill", 15_000);
    const newLeader = await leaderOf(c);
    assert.notEqual(newLeader, leader);
    assert.equal(client.currentRemote, remoteOf(c, newLeader), "moved to the new leader");

    const inFlightRows = await client.select("Logical_Switch", [["name", "==", "in-flight"]]);
    assert.ok(inFlightRows.length <= 1, "never applied twice");
    if (outcome === "committed") assert.equal(inFlightRows.length, 1, "a committed write is there");

    await waitFor(
      "the replica sees the write made after the failover",
      () => replica.table("Logical_Switch").filter((r) => r.name === "after-kill").length === 1,
    );
    assert.ok(
      syncs.some((s) => s.method === "monitor_cond_since" && s.resumed),
      `resumed: ${JSON.stringify(syncs)}`,
    );
    const names = [...replica.table("Logical_Switch").values()].map((r) => r.name).sort();
    const server = (await client.select("Logical_Switch", [], ["name"])).map((r) => r.name).sort();
    assert.deepEqual(names, server, "replica equals the cluster after the failover");

    // The killed member comes back and rejoins without help.
    await c.members[leader]!.start();
    await waitFor("the old leader serves again", async () => {
      const probe = await OvsdbClient.connect<NB>({
        remotes: remoteOf(c, leader),
        database: "OVN_Northbound",
        leaderOnly: false,
        tls: { privateKey: pki.client.key, certificate: pki.client.cert, caCert: pki.caCert },
        waitForConnectionMs: 2000,
      });
      try {
        return (await probe.select("Logical_Switch", [["name", "==", "after-kill"]])).length === 1;
      } finally {
        probe.close();
      }
    });
    replica.close();
  });

  it("moves to the new leader when leadership moves on a live server (_Server watch)", async () => {
    const c = await cluster("lt", 3, false);
    const client = await OvsdbClient.connect<NB>({
      remotes: c.clientRemotes,
      database: "OVN_Northbound",
    });
    clients.push(client);
    const leader = await leaderOf(c);
    assert.equal(client.currentRemote, remoteOf(c, leader));
    const drops: (OvsdbError | undefined)[] = [];
    client.on("disconnected", (e) => drops.push(e));
    await run("ovs-appctl", [
      "-t",
      c.members[leader]!.ctlPath,
      "cluster/failure-test",
      "transfer-leadership",
    ]);
    await waitFor("the client to follow the leader", async () => {
      const now = await c.leaderIndex();
      return now >= 0 && now !== leader && client.currentRemote === remoteOf(c, now);
    });
    assert.match(
      drops[0]?.message ?? "",
      /dropped the connection to tcp:127\.0\.0\.1:\d+: it is not the leader of OVN_Northbound/,
    );
    assert.equal(drops[0]?.code, "OVSDB_DISCONNECTED");
    await writeWithRetry(client, "after-transfer", 5_000);
  });

  it("holds a transaction made while no server is up, and sends it once one is", async () => {
    const c = await cluster("wt", 1, false);
    const client = await OvsdbClient.connect<NB>({
      remotes: c.clientRemotes,
      database: "OVN_Northbound",
      backoff: { initialMs: 20, maxMs: 100 },
      waitForConnectionMs: 10_000,
    });
    clients.push(client);
    await c.members[0]!.kill();
    await waitFor("the client notices", () => !client.isConnected);
    const txn = client.transaction();
    txn.insert("Logical_Switch", { name: "held" });
    const pending = txn.commit();
    await c.members[0]!.start();
    await pending;
    assert.equal((await client.select("Logical_Switch", [["name", "==", "held"]])).length, 1);

    const impatient = await OvsdbClient.connect<NB>({
      remotes: c.clientRemotes,
      database: "OVN_Northbound",
      waitForConnectionMs: 300,
    });
    clients.push(impatient);
    await c.members[0]!.kill();
    await waitFor("the client notices", () => !impatient.isConnected);
    const late = impatient.transaction();
    late.insert("Logical_Switch", { name: "never-sent" });
    await assert.rejects(late.commit(), (e: OvsdbError) => {
      assert.equal(e.code, "OVSDB_NOT_CONNECTED");
      assert.equal(e.method, "transact");
      assert.match(
        e.message,
        /cannot send transact: no usable server among tcp:127\.0\.0\.1:\d+ within 300 ms/,
      );
      return true;
    });
    await c.members[0]!.start();
    assert.equal((await client.select("Logical_Switch", [["name", "==", "never-sent"]])).length, 0);
  });

  it("resumes a replica with the changes made while its server was down", async () => {
    const c = await cluster("rs", 3, false);
    const leader = await leaderOf(c);
    const follower = (leader + 1) % 3;
    // The replica reads from one follower; writes go through the leader.
    const reader = await OvsdbClient.connect<NB>({
      remotes: remoteOf(c, follower),
      database: "OVN_Northbound",
      leaderOnly: false,
      backoff: { initialMs: 20, maxMs: 200 },
    });
    const writer = await OvsdbClient.connect<NB>({
      remotes: c.clientRemotes,
      database: "OVN_Northbound",
    });
    clients.push(reader, writer);
    const t = writer.transaction();
    t.insert("Address_Set", { name: "kept", addresses: ["10.0.0.1"] });
    t.insert("Address_Set", { name: "changed", addresses: ["10.0.0.2"] });
    t.insert("Address_Set", { name: "deleted", addresses: ["10.0.0.3"] });
    await t.commit();
    const replica = await Replica.start(reader, { Address_Set: true });
    await waitFor("the replica has the rows", () => replica.table("Address_Set").size === 3);
    const syncs: { resumed: boolean }[] = [];
    const changes: RowChange[] = [];
    replica.on("synced", (s) => syncs.push(s));
    replica.on("change", (batch) => changes.push(...batch));

    await c.members[follower]!.kill();
    const t2 = writer.transaction();
    t2.update("Address_Set", [["name", "==", "changed"]], { addresses: ["192.0.2.2"] });
    t2.delete("Address_Set", [["name", "==", "deleted"]]);
    t2.insert("Address_Set", { name: "added", addresses: ["192.0.2.4"] });
    await t2.commit();
    await c.members[follower]!.start();
    await waitFor(
      "the replica catches up",
      () =>
        replica.table("Address_Set").lookup({ name: "added" }) !== undefined &&
        !replica.table("Address_Set").lookup({ name: "deleted" }),
    );
    assert.equal(syncs[0]?.resumed, true, "resumed from the last transaction seen");
    assert.deepEqual(replica.table("Address_Set").lookup({ name: "changed" })?.addresses, [
      "192.0.2.2",
    ]);
    assert.deepEqual(changes.map((ch) => `${ch.kind} ${ch.row.name as string}`).sort(), [
      "delete deleted",
      "insert added",
      "update changed",
    ]);
    replica.close();
  });

  it("resumes a replica with monitor_cond_since after the server restarts", async () => {
    const c = await cluster("c1", 1, false);
    const client = await OvsdbClient.connect<NB>({
      remotes: c.clientRemotes,
      database: "OVN_Northbound",
      backoff: { initialMs: 20, maxMs: 200 },
    });
    clients.push(client);
    const t = client.transaction();
    for (let i = 0; i < 50; i++)
      t.insert("Address_Set", { name: `as${i}`, addresses: [`10.0.0.${i}`] });
    await t.commit();
    const replica = await Replica.start(client, { Address_Set: true });
    assert.equal(replica.table("Address_Set").size, 50);
    const syncs: { resumed: boolean }[] = [];
    const changes: RowChange[] = [];
    replica.on("synced", (s) => syncs.push(s));
    replica.on("change", (batch) => changes.push(...batch));

    await c.members[0]!.kill();
    await waitFor("the client notices", () => !client.isConnected);
    await c.members[0]!.start();
    await waitFor("the replica resyncs", () => syncs.length > 0);
    assert.deepEqual(syncs, [
      { method: "monitor_cond_since", resumed: true, lastTransactionId: replica.lastTransactionId },
    ]);
    assert.equal(changes.length, 0, "a resumed monitor resends nothing that did not change");
    assert.equal(replica.table("Address_Set").size, 50);

    const t2 = client.transaction();
    t2.update("Address_Set", [["name", "==", "as7"]], { addresses: ["192.0.2.7"] });
    await t2.commit();
    assert.deepEqual(replica.table("Address_Set").lookup({ name: "as7" })?.addresses, [
      "192.0.2.7",
    ]);
    replica.close();
  });

  it("fails clearly when no member is reachable", async () => {
    const c = await cluster("c0", 1, false);
    const remotes = c.clientRemotes;
    await c.stop();
    await assert.rejects(
      OvsdbClient.connect({ remotes, database: "OVN_Northbound", waitForConnectionMs: 500 }),
      (e: OvsdbError) => e.code === "OVSDB_NOT_CONNECTED" && e.message.includes(remotes),
    );
  });
});
