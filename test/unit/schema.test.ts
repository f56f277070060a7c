import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { INSTALLED_SCHEMAS, MODEL_SOURCES } from "../../src/ovsdb/schema/installed.js";
import { columnShape, getTable, parseSchema } from "../../src/ovsdb/schema/schema.js";
import { columnTsType, generateModels, typeName } from "../../src/ovsdb/schema/generate.js";
import { TEST_SCHEMA } from "./fixtures.js";

describe("schema parsing", () => {
  const schema = parseSchema(TEST_SCHEMA);

  it("normalises every column type and adds _uuid and _version", () => {
    const sw = getTable(schema, "Switch");
    assert.deepEqual(
      [...sw.columns.keys()],
      ["_uuid", "_version", "name", "ports", "external_ids", "mtu", "enabled", "weight"],
    );
    assert.deepEqual(sw.columns.get("name")!.type, { key: { type: "string" }, min: 1, max: 1 });
    assert.deepEqual(sw.columns.get("ports")!.type, {
      key: { type: "uuid", refTable: "Port", refType: "strong" },
      min: 0,
      max: Infinity,
    });
    assert.deepEqual(sw.indexes, [["name"]]);
    assert.equal(sw.isRoot, true);
    const port = getTable(schema, "Port");
    assert.deepEqual(port.columns.get("kind")!.type.key.enum, ["vif", "router"]);
    assert.equal(port.columns.get("peer")!.type.key.refType, "weak");
  });

  it("classifies column shapes", () => {
    const shapes = Object.fromEntries(
      [...getTable(schema, "Port").columns.values()].map((c) => [c.name, columnShape(c.type)]),
    );
    assert.deepEqual(shapes, {
      _uuid: "scalar",
      _version: "scalar",
      name: "scalar",
      kind: "scalar",
      tags: "set",
      peer: "optional",
      by_id: "map",
    });
  });

  it("names unknown tables and bad schemas clearly", () => {
    assert.throws(() => getTable(schema, "Nope"), /database Test has no table "Nope"/);
    assert.throws(
      () =>
        parseSchema({
          name: "X",
          version: "1",
          tables: { T: { columns: { c: { type: "float" } } } },
        }),
      /T\.c: unknown atomic type "float"/,
    );
    assert.throws(
      () =>
        parseSchema({ name: "X", version: "1", tables: { T: { columns: {}, indexes: [["zz"]] } } }),
      /unknown column "zz"/,
    );
    assert.throws(() => parseSchema([]), /a schema is a JSON object/);
  });

  it("parses the installed OVN and OVS schemas", () => {
    for (const { file, database: name } of Object.values(INSTALLED_SCHEMAS)) {
      const parsed = parseSchema(JSON.parse(readFileSync(file, "utf8")));
      assert.equal(parsed.name, name);
      assert.ok(parsed.tables.size > 15);
    }
  });
});

describe("type generation", () => {
  const schema = parseSchema(TEST_SCHEMA);

  it("names types in PascalCase", () => {
    assert.equal(typeName("Logical_Switch_Port"), "LogicalSwitchPort");
    assert.equal(typeName("OVN_Northbound"), "OvnNorthbound");
    assert.equal(typeName("ACL"), "Acl");
    assert.equal(typeName("_Server"), "Server");
  });

  it("maps every column shape to a TypeScript type", () => {
    const port = getTable(schema, "Port");
    assert.equal(columnTsType(port.columns.get("kind")!.type), '"router" | "vif"');
    assert.equal(columnTsType(port.columns.get("tags")!.type), "number[]");
    assert.equal(columnTsType(port.columns.get("peer")!.type), "string | undefined");
    assert.equal(columnTsType(port.columns.get("by_id")!.type), "Map<number, string>");
  });

  it("generates interfaces per table and one per database", () => {
    const source = generateModels(schema, "test");
    assert.match(
      source,
      /export interface Switch \{\n {2}_uuid: string;\n {2}_version: string;\n {2}name: string;/,
    );
    assert.match(source, /\/\*\* references Port \*\/\n {2}ports: string\[\];/);
    assert.match(
      source,
      /export interface TestDatabase \{\n {2}Port: Port;\n {2}Switch: Switch;\n\}/,
    );
    assert.match(
      source,
      /export const TestSchema = \{ name: "Test", version: "1\.2\.3" \} as const;/,
    );
  });

  it("the checked-in models match the installed schemas", async () => {
    const { generateModels: gen } = await import("../../src/ovsdb/schema/generate.js");
    for (const { file, label, model: out } of MODEL_SOURCES) {
      const parsed = parseSchema(JSON.parse(readFileSync(file, "utf8")));
      const expected = gen(parsed, `${label} (version ${parsed.version})`);
      const actual = readFileSync(
        new URL(`../../src/ovsdb/models/${out}`, import.meta.url),
        "utf8",
      );
      assert.equal(actual, expected, `${out} is stale: run npm run generate:models`);
    }
  });
});
