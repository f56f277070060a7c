import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TableCodec, compileDecoder, encodeValue } from "../../src/ovsdb/schema/codec.js";
import { getTable, parseSchema, type ColumnType } from "../../src/ovsdb/schema/schema.js";
import { compileDiff } from "../../src/ovsdb/replica/replica.js";
import { TEST_SCHEMA, U1, U2 } from "./fixtures.js";

const schema = parseSchema(TEST_SCHEMA);
const switches = new TableCodec(getTable(schema, "Switch"));
const ports = new TableCodec(getTable(schema, "Port"));
const type = (codec: TableCodec, column: string): ColumnType => codec.column(column).type;

describe("value encoding and decoding", () => {
  it("round-trips every column shape", () => {
    const cases: [TableCodec, string, unknown][] = [
      [switches, "name", "sw0"],
      [switches, "enabled", true],
      [switches, "weight", 1.5],
      [switches, "mtu", 1400],
      [switches, "mtu", undefined],
      [switches, "ports", [U1, U2]],
      [switches, "ports", []],
      [
        switches,
        "external_ids",
        new Map([
          ["a", "1"],
          ["b", "2"],
        ]),
      ],
      [ports, "tags", [1, 2, 3]],
      [ports, "peer", U1],
      [ports, "by_id", new Map([[7, U2]])],
    ];
    for (const [codec, column, value] of cases) {
      const t = type(codec, column);
      const wire = encodeValue(column, t, value);
      const json = JSON.parse(JSON.stringify(wire)) as typeof wire; // as it would cross the wire
      assert.deepEqual(compileDecoder(t)(json), value, `${column} ${JSON.stringify(wire)}`);
    }
  });

  it("encodes RFC 7047 notation", () => {
    assert.deepEqual(encodeValue("c", type(switches, "ports"), [U1]), ["set", [["uuid", U1]]]);
    assert.deepEqual(encodeValue("c", type(switches, "mtu"), undefined), ["set", []]);
    assert.equal(encodeValue("c", type(switches, "mtu"), 9000), 9000);
    assert.deepEqual(encodeValue("c", type(switches, "external_ids"), { k: "v" }), [
      "map",
      [["k", "v"]],
    ]);
    assert.deepEqual(encodeValue("c", type(ports, "peer"), "newport"), ["named-uuid", "newport"]);
    assert.deepEqual(
      encodeValue("c", type(ports, "tags"), 5),
      5,
      "a lone element stands for a set",
    );
  });

  it("decodes a single atom where a set is expected", () => {
    assert.deepEqual(compileDecoder(type(ports, "tags"))(4), [4]);
    assert.deepEqual(compileDecoder(type(switches, "ports"))(["uuid", U1]), [U1]);
    assert.equal(compileDecoder(type(ports, "peer"))(["set", []]), undefined);
  });

  it("refuses values of the wrong type, naming the column", () => {
    assert.throws(() => switches.encodeRow({ name: 5 }), /Switch\.name: expected a string, got 5/);
    assert.throws(() => switches.encodeRow({ mtu: 1.5 }), /Switch\.mtu: expected an integer/);
    assert.throws(
      () => switches.encodeRow({ ports: ["not a uuid!"] }),
      /expected a UUID or the name of a row/,
    );
    assert.throws(() => switches.encodeRow({ external_ids: "x" }), /expected a Map or an object/);
    assert.throws(() => switches.encodeRow({ nope: 1 }), /table Switch has no column "nope"/);
  });

  it("decodes whole rows and skips columns it does not know", () => {
    const row = switches.decodeRow({ name: "a", ports: ["set", [["uuid", U1]]], extra: 1 });
    assert.deepEqual(row, { name: "a", ports: [U1] });
  });
});

describe("update2 diffs", () => {
  it("replaces scalars", () => {
    assert.equal(compileDiff(type(switches, "name"))("old", "new"), "new");
  });

  it("toggles set elements (symmetric difference)", () => {
    const apply = compileDiff(type(ports, "tags"));
    assert.deepEqual((apply([1, 2, 3], ["set", [2, 4]]) as number[]).sort(), [1, 3, 4]);
    assert.deepEqual(apply([], 9), [9]);
  });

  it("follows a large set through many versions, leaving each old version as it was", () => {
    const apply = compileDiff(type(ports, "tags"));
    const first = Array.from({ length: 1000 }, (_, i) => i);
    let current: number[] = first;
    const expected = new Set(first);
    for (let step = 0; step < 300; step++) {
      // Add one new element and take out one that is there, as creates and deletes do.
      const added = 1000 + step;
      const removed = step * 3;
      const before = [...current];
      const next = apply(current, ["set", [added, removed]]) as number[];
      assert.deepEqual(current, before, "the old version is not changed");
      expected.add(added);
      expected.delete(removed);
      current = next;
    }
    assert.deepEqual(
      [...current].sort((a, b) => a - b),
      [...expected].sort((a, b) => a - b),
    );
    // A diff applied to an old version again still answers from that version.
    assert.deepEqual((apply(first, 5) as number[]).length, 999);
  });

  it("replaces optional values whole, as ovsdb-server sends them", () => {
    const apply = compileDiff(type(ports, "peer"));
    assert.equal(apply(undefined, ["uuid", U1]), U1);
    assert.equal(apply(U1, ["uuid", U2]), U2);
    assert.equal(apply(U1, ["set", []]), undefined);
  });

  it("adds, replaces and removes map pairs", () => {
    const apply = compileDiff(type(switches, "external_ids"));
    const before = new Map([
      ["keep", "1"],
      ["drop", "2"],
      ["change", "3"],
    ]);
    const after = apply(before, [
      "map",
      [
        ["drop", "2"],
        ["change", "33"],
        ["add", "4"],
      ],
    ]);
    assert.deepEqual(
      after,
      new Map([
        ["keep", "1"],
        ["change", "33"],
        ["add", "4"],
      ]),
    );
    assert.deepEqual(before.get("drop"), "2", "the old value is not changed in place");
  });
});
