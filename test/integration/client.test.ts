/**
 * The client against a real standalone ovsdb-server serving OVN_Northbound:
 * every RFC 7047 method, typed transactions, the replica, and TLS.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { OvsdbError, TransactionError } from "../../src/ovsdb/errors.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import { Replica, type RowChange } from "../../src/ovsdb/replica/replica.js";
import { compileDecoder, type Row } from "../../src/ovsdb/schema/codec.js";
import type { WireValue } from "../../src/ovsdb/wire/notation.js";
import { run } from "../../src/process/run.js";
import { SCHEMAS, startStandalone, type OvsdbServerHandle } from "../helpers/ovsdb-server.js";
import { makeTestPki, type TestPki } from "../helpers/pki.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

type NB = OvnNorthboundDatabase;

let dir: string;
let pki: TestPki;
let server: OvsdbServerHandle;
const clients: OvsdbClient<NB>[] = [];

async function connect(extra: Partial<Parameters<typeof OvsdbClient.connect>[0]> = {}) {
  const client = await OvsdbClient.connect<NB>({
    remotes: server.unixRemote,
    database: "OVN_Northbound",
    ...extra,
  });
  clients.push(client);
  return client;
}

before(async () => {
  dir = await makeTempDir("client");
  pki = await makeTestPki(dir);
  server = await startStandalone({ dir: `${dir}/nb`, schemaFile: SCHEMAS.northbound, pki });
});

after(async () => {
  for (const c of clients) c.close();
  await server?.stop();
  await removeDir(dir);
});

/** Sets have no order: sort them so rows compare by content. */
function canonical(row: Row): Row {
  const out: Row = {};
  for (const [k, v] of Object.entries(row)) out[k] = Array.isArray(v) ? [...v].sort() : v;
  return out;
}

/** Reads a table with ovsdb-client dump and decodes it with our schema. */
async function dumpTable(client: OvsdbClient<NB>, table: string): Promise<Map<string, Row>> {
  const { stdout } = await run("ovsdb-client", [
    "-f",
    "json",
    "dump",
    server.unixRemote,
    "OVN_Northbound",
    table,
  ]);
  const parsed = JSON.parse(stdout) as { headings: string[]; data: WireValue[][] };
  const codec = client.codec(table);
  const rows = new Map<string, Row>();
  for (const cells of parsed.data) {
    const row: Row = {};
    parsed.headings.forEach((h, i) => {
      if (h !== "_version") row[h] = compileDecoder(codec.column(h).type)(cells[i]!);
    });
    rows.set(row._uuid as string, row);
  }
  return rows;
}

describe("OVSDB client on a standalone ovsdb-server", () => {
  it("lists databases, fetches schemas and echoes", async () => {
    const client = await connect();
    assert.deepEqual((await client.listDbs()).sort(), ["OVN_Northbound", "_Server"]);
    assert.equal(client.schema.name, "OVN_Northbound");
    assert.ok(client.schema.tables.has("Logical_Switch_Port"));
    const server = await client.getSchema("_Server");
    assert.deepEqual([...server.tables.keys()], ["Database"]);
    assert.deepEqual(await client.echo("a", 1), ["a", 1]);
    await client.setDbChangeAware(true);
  });

  it("inserts rows that reference each other in one transaction", async () => {
    const client = await connect();
    const txn = client.transaction();
    const ports = [1, 2, 3].map((i) =>
      txn.insert("Logical_Switch_Port", {
        name: `ins-p${i}`,
        addresses: [`00:00:00:00:00:0${i} 10.0.0.${i}`],
        external_ids: { owner: "test" },
      }),
    );
    const sw = txn.insert("Logical_Switch", { name: "ins-sw", ports });
    const result = await txn.commit();
    const [row] = await client.select(
      "Logical_Switch",
      [["_uuid", "==", result.uuid(sw)]],
      ["name", "ports"],
    );
    assert.equal(row?.name, "ins-sw");
    assert.deepEqual([...row.ports].sort(), ports.map((p) => result.uuid(p)).sort());
    const lsp = await client.select("Logical_Switch_Port", [["name", "==", "ins-p2"]]);
    assert.deepEqual(lsp[0]?.addresses, ["00:00:00:00:00:02 10.0.0.2"]);
    assert.deepEqual(lsp[0]?.external_ids, new Map([["owner", "test"]]));
    assert.equal(lsp[0]?.up, undefined);
  });

  it("updates, mutates, counts and deletes", async () => {
    const client = await connect();
    const t1 = client.transaction();
    t1.insert("Logical_Switch", { name: "mut-sw", other_config: { a: "1", b: "2" } });
    t1.durable();
    await t1.commit();
    const t2 = client.transaction();
    const upd = t2.update("Logical_Switch", [["name", "==", "mut-sw"]], {
      external_ids: { k: "v" },
    });
    const mut = t2.mutate(
      "Logical_Switch",
      [["name", "==", "mut-sw"]],
      [
        ["other_config", "delete", ["a"]],
        ["other_config", "insert", { c: "3" }],
      ],
    );
    const r2 = await t2.commit();
    assert.equal(r2.count(upd), 1);
    assert.equal(r2.count(mut), 1);
    const [row] = await client.select("Logical_Switch", [["name", "==", "mut-sw"]]);
    assert.deepEqual(
      row?.other_config,
      new Map([
        ["b", "2"],
        ["c", "3"],
      ]),
    );
    assert.deepEqual(row?.external_ids, new Map([["k", "v"]]));
    const t3 = client.transaction();
    const del = t3.delete("Logical_Switch", [["external_ids", "includes", { k: "v" }]]);
    assert.equal((await t3.commit()).count(del), 1);
    assert.deepEqual(await client.select("Logical_Switch", [["name", "==", "mut-sw"]]), []);
  });

  it("turns a failed operation into a TransactionError naming it, and commits nothing", async () => {
    const client = await connect();
    const txn = client.transaction();
    txn.insert("Logical_Switch", { name: "never" });
    txn.wait("Logical_Switch", {
      where: [["name", "==", "does-not-exist"]],
      columns: ["name"],
      until: "==",
      rows: [{ name: "x" }],
      timeoutMs: 0,
    });
    await assert.rejects(txn.commit(), (e: TransactionError) => {
      assert.equal(e.code, "OVSDB_TRANSACTION_FAILED");
      assert.equal(e.operationIndex, 1);
      assert.equal(e.operation, "wait");
      assert.equal(e.serverError, "timed out");
      assert.equal(e.remote, server.unixRemote);
      return true;
    });
    assert.deepEqual(await client.select("Logical_Switch", [["name", "==", "never"]]), []);
  });

  it("reports commit-time failures (an index violation) as the commit", async () => {
    const client = await connect();
    const txn = client.transaction();
    txn.insert("Address_Set", { name: "dup" });
    txn.insert("Address_Set", { name: "dup" });
    await assert.rejects(
      txn.commit(),
      (e: TransactionError) => e.operation === "commit" && e.serverError === "constraint violation",
    );
  });

  it("aborts on request and cancels a blocked wait", async () => {
    const client = await connect();
    const aborted = client.transaction();
    aborted.insert("Logical_Switch", { name: "aborted" });
    aborted.abort();
    await assert.rejects(aborted.commit(), (e: TransactionError) => e.serverError === "aborted");

    const controller = new AbortController();
    const blocked = client.transaction({ signal: controller.signal });
    blocked.insert("Logical_Switch", { name: "after-nobody" });
    blocked.wait("Logical_Switch", {
      where: [["name", "==", "nobody"]],
      columns: ["name"],
      until: "!=",
      rows: [],
      timeoutMs: 60_000,
    });
    const pending = blocked.commit();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, (e: OvsdbError) => e.code === "OVSDB_CANCELLED");
    // The server dropped the blocked transaction: it never commits, even once the wait would pass.
    const t = client.transaction();
    t.insert("Logical_Switch", { name: "nobody" });
    await t.commit();
    // Triggers run at every commit, so one more commit settles any that still waited.
    const t2 = client.transaction();
    t2.comment("one more commit");
    await t2.commit();
    assert.deepEqual(await client.select("Logical_Switch", [["name", "==", "after-nobody"]]), []);
  });

  it("refuses a bad value before anything is sent", async () => {
    const client = await connect();
    const txn = client.transaction();
    assert.throws(
      () =>
        txn.insert("Logical_Switch_Port", { name: "x", tag_request: "five" as unknown as number }),
      /Logical_Switch_Port\.tag_request: expected an integer/,
    );
    assert.throws(() => txn.insert("No_Such_Table" as "ACL", {}), /has no table "No_Such_Table"/);
  });

  it("speaks monitor, monitor_cond, monitor_cond_since, monitor_cond_change and monitor_cancel", async () => {
    const client = await connect();
    const seen: [string, unknown[]][] = [];
    client.on("notification", (m, p) => seen.push([m, p]));
    const t = client.transaction();
    t.insert("Address_Set", { name: "as-a", addresses: ["10.0.0.1"] });
    t.insert("Address_Set", { name: "as-b", addresses: ["10.0.0.2"] });
    await t.commit();

    const plain = (await client.monitor("OVN_Northbound", "m1", {
      Address_Set: { columns: ["name"] },
    })) as Record<string, Record<string, unknown>>;
    assert.equal(Object.keys(plain.Address_Set!).length, 2);

    const cond = (await client.monitorCond("OVN_Northbound", "m2", {
      Address_Set: [{ columns: ["name", "addresses"], where: [["name", "==", "as-a"]] }],
    })) as Record<string, Record<string, { initial: { name: string } }>>;
    assert.deepEqual(
      Object.values(cond.Address_Set!).map((r) => r.initial.name),
      ["as-a"],
    );

    const [found, lastId, since] = await client.monitorCondSince(
      "OVN_Northbound",
      "m3",
      { Address_Set: [{ columns: ["name", "addresses"] }] },
      "00000000-0000-0000-0000-000000000000",
    );
    assert.equal(typeof found, "boolean");
    assert.match(lastId, /^[0-9a-f-]{36}$/);
    assert.equal(Object.keys((since as Record<string, object>).Address_Set!).length, 2);

    // Narrow m2 to as-b: the server sends as-a's removal and as-b's arrival.
    await client.monitorCondChange("m2", "m2", {
      Address_Set: [{ where: [["name", "==", "as-b"]] }],
    });
    await waitFor("update2 after monitor_cond_change", () =>
      seen.some(
        ([m, p]) => m === "update2" && p[0] === "m2" && JSON.stringify(p[1]).includes("as-b"),
      ),
    );

    await client.monitorCancel("m1");
    seen.length = 0;
    const t2 = client.transaction();
    t2.update("Address_Set", [["name", "==", "as-b"]], { addresses: ["10.0.0.9"] });
    await t2.commit();
    await waitFor(
      "updates for the live monitors",
      () => seen.some(([, p]) => p[0] === "m3") && seen.some(([, p]) => p[0] === "m2"),
    );
    assert.ok(!seen.some(([, p]) => p[0] === "m1"), "no update for a cancelled monitor");
    assert.ok(
      seen.some(([m, p]) => m === "update3" && p[0] === "m3"),
      "monitor_cond_since sends update3",
    );
    await assert.rejects(
      client.monitorCancel("m1"),
      (e: OvsdbError) => e.code === "OVSDB_RPC_ERROR" && /unknown monitor/.test(e.message),
    );
  });

  it("grants, contends for and steals locks", async () => {
    const a = await connect();
    const b = await connect();
    const stolen: string[] = [];
    const locked: string[] = [];
    a.on("stolen", (l) => stolen.push(l));
    b.on("locked", (l) => locked.push(l));
    assert.equal(await a.lock("leader_lock"), true);
    assert.equal(await b.lock("leader_lock"), false);
    await a.unlock("leader_lock");
    await waitFor("b is granted the lock when a unlocks", () => locked.includes("leader_lock"));
    assert.equal(await a.steal("leader_lock"), true);
    await b.unlock("leader_lock");
    const c = await connect();
    assert.equal(await c.steal("leader_lock"), true);
    await waitFor("a hears its lock was stolen", () => stolen.includes("leader_lock"));
    const t = a.transaction();
    t.assert("leader_lock");
    await assert.rejects(t.commit(), (e: TransactionError) => e.serverError === "not owner");
  });

  it("keeps a replica equal to ovsdb-client dump through inserts, updates and deletes", async () => {
    const client = await connect();
    const writer = await connect();
    const replica = await Replica.start(client, {
      Logical_Switch: true,
      Logical_Switch_Port: true,
    });
    const batches: RowChange[][] = [];
    replica.on("change", (c) => batches.push(c));

    const t1 = client.transaction();
    const p = t1.insert("Logical_Switch_Port", {
      name: "rep-p1",
      addresses: ["unknown"],
      options: { a: "1" },
      tag_request: 5,
    });
    t1.insert("Logical_Switch", { name: "rep-sw", ports: [p] });
    await t1.commit();
    // On one connection the update arrives before the reply of the transaction that caused it.
    assert.ok(
      replica.table("Logical_Switch_Port").lookup({ name: "rep-p1" }),
      "replica has the port when commit resolves",
    );

    const t2 = writer.transaction();
    t2.mutate(
      "Logical_Switch_Port",
      [["name", "==", "rep-p1"]],
      [
        ["options", "insert", { b: "2" }],
        ["addresses", "insert", ["00:00:00:00:00:aa"]],
      ],
    );
    t2.update("Logical_Switch_Port", [["name", "==", "rep-p1"]], {
      tag_request: undefined,
      enabled: false,
    });
    await t2.commit();
    await waitFor(
      "the other client's update reaches the replica",
      () => replica.table("Logical_Switch_Port").lookup({ name: "rep-p1" })?.enabled === false,
    );
    const port = replica.table("Logical_Switch_Port").lookup({ name: "rep-p1" })!;
    assert.deepEqual(
      port.options,
      new Map([
        ["a", "1"],
        ["b", "2"],
      ]),
    );
    assert.deepEqual([...port.addresses].sort(), ["00:00:00:00:00:aa", "unknown"]);
    assert.deepEqual(
      (await writer.select("Logical_Switch_Port", [["name", "==", "rep-p1"]], ["tag_request"]))[0]
        ?.tag_request,
      undefined,
      "server",
    );
    assert.equal(port.tag_request, undefined);
    assert.equal(port.enabled, false);

    for (const table of ["Logical_Switch", "Logical_Switch_Port"] as const) {
      const dumped = await dumpTable(client, table);
      assert.equal(replica.table(table).size, dumped.size, table);
      for (const [uuid, row] of dumped) {
        const { _version: _v, ...mine } = replica.table(table).get(uuid) as unknown as Row;
        assert.deepEqual(canonical(mine), canonical(row), `${table} ${uuid}`);
      }
    }

    const t3 = writer.transaction();
    t3.delete("Logical_Switch", [["name", "==", "rep-sw"]]);
    await t3.commit();
    await waitFor(
      "delete reaches the replica",
      () => replica.table("Logical_Switch_Port").lookup({ name: "rep-p1" }) === undefined,
    );
    const kinds = batches.flat().map((c) => `${c.kind} ${c.table}`);
    assert.ok(
      kinds.includes("insert Logical_Switch") &&
        kinds.includes("update Logical_Switch_Port") &&
        kinds.includes("delete Logical_Switch_Port"),
      kinds.join(", "),
    );
    replica.close();
  });

  it("replicates only the chosen columns and rows, and follows changed conditions", async () => {
    const client = await connect();
    const t = client.transaction();
    for (const n of ["c-1", "c-2", "c-3"]) t.insert("Address_Set", { name: n, addresses: [n] });
    await t.commit();
    const replica = await Replica.start(client, {
      Address_Set: { columns: ["name"], where: [["name", "==", "c-1"]] },
    });
    const table = replica.table("Address_Set");
    assert.deepEqual(
      [...table.values()].map((r) => r.name),
      ["c-1"],
    );
    assert.deepEqual(Object.keys([...table.values()][0]!).sort(), ["_uuid", "name"]);
    await replica.setConditions("Address_Set", [["name", "!=", "c-1"]]);
    await waitFor(
      "condition change applied",
      () => table.size >= 2 && !table.lookup({ name: "c-1" }) && table.lookup({ name: "c-3" }),
    );
    replica.close();
  });

  it("connects over TLS with the client certificate", async () => {
    const client = await connect({
      remotes: server.sslRemote!,
      tls: { privateKey: pki.client.key, certificate: pki.client.cert, caCert: pki.caCert },
    });
    assert.equal(client.currentRemote, server.sslRemote);
    const txn = client.transaction();
    txn.insert("Address_Set", { name: "over_tls", addresses: ["10.9.9.9"] });
    await txn.commit();
    const [row] = await client.select("Address_Set", [["name", "==", "over_tls"]], ["addresses"]);
    assert.deepEqual(row?.addresses, ["10.9.9.9"]);
  });

  it("is refused with a certificate from another CA, and refuses a server from another CA", async () => {
    // The server answers a foreign client certificate with a TLS alert; we
    // refuse a server whose certificate does not chain to our CA.
    const attempts = [
      {
        tls: {
          privateKey: pki.rogueClient.key,
          certificate: pki.rogueClient.cert,
          caCert: pki.caCert,
        },
        why: /alert unknown ca|socket hang up|ECONNRESET/,
      },
      {
        tls: { privateKey: pki.client.key, certificate: pki.client.cert, caCert: pki.otherCaCert },
        why: /certificate/,
      },
    ];
    for (const { tls, why } of attempts) {
      await assert.rejects(
        OvsdbClient.connect({
          remotes: server.sslRemote!,
          database: "OVN_Northbound",
          tls,
          waitForConnectionMs: 1500,
        }),
        (e: OvsdbError) => {
          assert.equal(e.code, "OVSDB_NOT_CONNECTED");
          assert.ok(e.message.includes(server.sslRemote!), e.message);
          assert.match(e.message, why);
          return true;
        },
      );
    }
    await assert.rejects(
      OvsdbClient.connect({ remotes: server.sslRemote!, waitForConnectionMs: 500 }),
      /needs TLS files/,
    );
  });

  it("moves to another remote list: keeps a listed connection, leaves an unlisted one", async () => {
    const tls = { privateKey: pki.client.key, certificate: pki.client.cert, caCert: pki.caCert };
    const client = await connect({ remotes: server.unixRemote, tls });
    const replica = await Replica.start(client, { Address_Set: { columns: ["name"] } });
    try {
      // Still listed (with another server that does not exist): nothing moves.
      client.setRemotes([server.unixRemote, `unix:${dir}/gone.sock`]);
      assert.equal(client.currentRemote, server.unixRemote);
      // Not listed any more: the client reconnects through the new list,
      // and the replica follows it there.
      client.setRemotes([server.sslRemote!]);
      await waitFor("the client to connect through the new list", () =>
        client.currentRemote === server.sslRemote ? true : undefined,
      );
      const txn = client.transaction();
      txn.insert("Address_Set", { name: "after_move" });
      await txn.commit();
      await waitFor("the replica to see the row written after the move", () =>
        replica.table("Address_Set").lookup({ name: "after_move" }),
      );
      assert.throws(
        () => client.setRemotes([]),
        (e: OvsdbError) => e.code === "OVSDB_BAD_REMOTE",
      );
      assert.equal(client.currentRemote, server.sslRemote);
    } finally {
      replica.close();
    }
  });

  it("fails clearly when nothing listens", async () => {
    await assert.rejects(
      OvsdbClient.connect({ remotes: `unix:${dir}/nothing.sock`, waitForConnectionMs: 300 }),
      (e: OvsdbError) => e.code === "OVSDB_NOT_CONNECTED" && /nothing\.sock/.test(e.message),
    );
  });
});
