import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Transaction } from "../../src/ovsdb/client/transaction.js";
import { TransactionError } from "../../src/ovsdb/errors.js";
import type { Operation, OperationResult } from "../../src/ovsdb/wire/operations.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import { TEST_SCHEMA, U1, U2, type TestDatabase } from "./fixtures.js";

const schema = parseSchema(TEST_SCHEMA);

function capture(
  reply: (ops: Operation[]) => (OperationResult | null)[] = (ops) => ops.map(() => ({})),
) {
  const sent: Operation[][] = [];
  const txn = new Transaction<TestDatabase>(schema, async (ops) => {
    sent.push(ops);
    return reply(ops);
  });
  return { txn, sent };
}

describe("typed transactions", () => {
  it("builds every operation in RFC 7047 form", () => {
    const { txn } = capture();
    const port = txn.insert("Port", { name: "p1", tags: [1], kind: "vif" });
    assert.equal(port, "row1");
    txn.insert("Switch", { name: "sw", ports: [port], external_ids: { a: "b" } }, { uuid: U2 });
    txn.update("Switch", [["name", "==", "sw"]], { enabled: true });
    txn.mutate(
      "Switch",
      [["_uuid", "==", U1]],
      [
        ["ports", "insert", [U2]],
        ["external_ids", "delete", ["a"]],
        ["external_ids", "insert", new Map([["c", "d"]])],
      ],
    );
    txn.mutate("Port", [true], [["tags", "+=", 1]]);
    txn.delete("Port", [["tags", "includes", 7]]);
    txn.select("Switch", [["ports", "excludes", [U1]]], ["name"]);
    txn.wait("Switch", {
      where: [["name", "==", "sw"]],
      columns: ["enabled"],
      until: "!=",
      rows: [{ enabled: false }],
    });
    txn.wait("Switch", {
      where: [],
      columns: ["name"],
      until: "==",
      rows: [],
      timeoutMs: Infinity,
    });
    txn.comment("hello");
    txn.assert("lock1");
    txn.durable();
    txn.abort();
    assert.deepEqual(txn.toOperations(), [
      {
        op: "insert",
        table: "Port",
        row: { name: "p1", tags: ["set", [1]], kind: "vif" },
        "uuid-name": "row1",
      },
      {
        op: "insert",
        table: "Switch",
        row: {
          name: "sw",
          ports: ["set", [["named-uuid", "row1"]]],
          external_ids: ["map", [["a", "b"]]],
        },
        "uuid-name": "row2",
        uuid: U2,
      },
      { op: "update", table: "Switch", where: [["name", "==", "sw"]], row: { enabled: true } },
      {
        op: "mutate",
        table: "Switch",
        where: [["_uuid", "==", ["uuid", U1]]],
        mutations: [
          ["ports", "insert", ["set", [["uuid", U2]]]],
          ["external_ids", "delete", ["set", ["a"]]],
          ["external_ids", "insert", ["map", [["c", "d"]]]],
        ],
      },
      { op: "mutate", table: "Port", where: [true], mutations: [["tags", "+=", 1]] },
      { op: "delete", table: "Port", where: [["tags", "includes", 7]] },
      {
        op: "select",
        table: "Switch",
        where: [["ports", "excludes", ["set", [["uuid", U1]]]]],
        columns: ["name"],
      },
      {
        op: "wait",
        table: "Switch",
        where: [["name", "==", "sw"]],
        columns: ["enabled"],
        until: "!=",
        rows: [{ enabled: false }],
        timeout: 0,
      },
      { op: "wait", table: "Switch", where: [], columns: ["name"], until: "==", rows: [] },
      { op: "comment", comment: "hello" },
      { op: "assert", lock: "lock1" },
      { op: "commit", durable: true },
      { op: "abort" },
    ]);
  });

  it("maps inserted uuid-names to real UUIDs and decodes selected rows", async () => {
    const { txn } = capture((ops) =>
      ops.map((op) =>
        op.op === "insert"
          ? { uuid: ["uuid", U1] }
          : { rows: [{ _uuid: ["uuid", U2], name: "sw", ports: ["uuid", U1] }] },
      ),
    );
    const name = txn.insert("Switch", { name: "sw" });
    const sel = txn.select("Switch", []);
    const result = await txn.commit();
    assert.equal(result.uuid(name), U1);
    assert.deepEqual(result.rows(sel), [{ _uuid: U2, name: "sw", ports: [U1] }]);
    assert.throws(() => result.uuid("nope"), /no row was inserted as "nope"/);
  });

  it("refuses to commit twice or to grow after commit", async () => {
    const { txn, sent } = capture();
    txn.comment("x");
    await txn.commit();
    await assert.rejects(txn.commit(), /already committed/);
    assert.throws(() => txn.comment("y"), /already committed/);
    assert.equal(sent.length, 1);
  });

  it("rolls back to an earlier size, never handing a uuid-name out twice", async () => {
    const { txn, sent } = capture();
    const kept = txn.insert("Port", { name: "kept" });
    const size = txn.size;
    const dropped = txn.insert("Port", { name: "dropped" });
    txn.mutate("Switch", [["name", "==", "sw"]], [["ports", "insert", [dropped]]]);
    txn.rollbackTo(size);
    assert.equal(txn.size, 1);
    const again = txn.insert("Port", { name: "again" });
    assert.notEqual(again, dropped);
    for (const bad of [-1, 3, 0.5]) assert.throws(() => txn.rollbackTo(bad), RangeError);
    assert.equal(txn.size, 2, "a refused rollback changes nothing");
    await txn.commit();
    assert.deepEqual(
      sent[0]!.map((o) => [o.op, (o as { row?: { name?: string } }).row?.name]),
      [
        ["insert", "kept"],
        ["insert", "again"],
      ],
    );
    assert.equal(kept, "row1");
    assert.throws(() => txn.rollbackTo(0), /already committed/);
  });

  it("sends nothing for an empty transaction", async () => {
    const { txn, sent } = capture();
    await txn.commit();
    assert.equal(sent.length, 0);
  });

  it("encodes nothing and sends nothing when a value is wrong", () => {
    const { txn } = capture();
    assert.throws(
      () => txn.insert("Switch", { name: 3 as unknown as string }),
      /Switch\.name: expected a string/,
    );
    assert.equal(txn.size, 0);
  });

  it("exposes TransactionError fields", () => {
    const e = new TransactionError({
      operationIndex: 2,
      operation: "commit",
      serverError: "constraint violation",
      serverDetails: "dup",
      results: [],
    });
    assert.equal(e.code, "OVSDB_TRANSACTION_FAILED");
    assert.match(e.message, /failed at the commit: constraint violation: dup/);
  });
});
