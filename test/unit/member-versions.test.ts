import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  VERSION_KEYS,
  compareVersions,
  stateSchemaTarget,
  upgradeStatuses,
  type VersionedMember,
} from "../../src/cluster/member-versions.js";
import { describeMembers, OFFLINE_AFTER_MS, type MemberRow } from "../../src/cluster/members.js";
import { readShippedStateSchema, stateSchemaFile } from "../../src/cluster/state-schema.js";
import { PROJECT_SCHEMAS } from "../../src/ovsdb/schema/installed.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

function member(name: string, schema?: string, api = "1.0.0"): VersionedMember {
  const versions = new Map<string, string>([[VERSION_KEYS.memberApi, api]]);
  if (schema !== undefined) versions.set(VERSION_KEYS.stateSchema, schema);
  return { name, versions };
}

function statuses(members: VersionedMember[], active?: string): Record<string, string> {
  return Object.fromEntries(upgradeStatuses(members, active));
}

describe("compareVersions", () => {
  it("compares part by part as numbers", () => {
    assert.equal(compareVersions("1.10.0", "1.9.2"), 1);
    assert.equal(compareVersions("1.2", "1.2.0"), 0);
    assert.equal(compareVersions("1.2.0", "1.2.1"), -1);
  });

  it("counts a missing version as older than any", () => {
    assert.equal(compareVersions(undefined, "0.0.1"), -1);
    assert.equal(compareVersions("0.0.1", undefined), 1);
    assert.equal(compareVersions(undefined, undefined), 0);
  });
});

describe("upgrade statuses", () => {
  it("are ONLINE when all agree with the active schema", () => {
    const all = [member("a", "1.2.0"), member("b", "1.2.0"), member("c", "1.2.0")];
    assert.deepEqual(statuses(all, "1.2.0"), { a: "ONLINE", b: "ONLINE", c: "ONLINE" });
  });

  it("mark the member ahead UPGRADING and those behind NEEDS UPGRADE", () => {
    const all = [member("a", "1.3.0"), member("b", "1.2.0"), member("c", "1.2.0")];
    assert.deepEqual(statuses(all, "1.2.0"), {
      a: "UPGRADING",
      b: "NEEDS UPGRADE",
      c: "NEEDS UPGRADE",
    });
  });

  it("keep everyone UPGRADING until the database runs the newer schema", () => {
    const all = [member("a", "1.3.0"), member("b", "1.3.0")];
    assert.deepEqual(statuses(all, "1.2.0"), { a: "UPGRADING", b: "UPGRADING" });
    assert.deepEqual(statuses(all, "1.3.0"), { a: "ONLINE", b: "ONLINE" });
  });

  it("follow the member API version as well", () => {
    const all = [member("a", "1.2.0", "1.1.0"), member("b", "1.2.0", "1.0.0")];
    assert.deepEqual(statuses(all, "1.2.0"), { a: "UPGRADING", b: "NEEDS UPGRADE" });
  });

  it("count a member that reports no schema as behind", () => {
    const all = [member("a", "1.2.0"), member("old")];
    assert.deepEqual(statuses(all, "1.2.0"), { a: "UPGRADING", old: "NEEDS UPGRADE" });
  });

  it("compare nobody with a member admitted a moment ago, whose row has no versions yet", () => {
    const all = [member("a", "1.2.0"), { name: "new", versions: new Map<string, string>() }];
    assert.deepEqual(statuses(all, "1.2.0"), { a: "ONLINE", new: "ONLINE" });
    assert.equal(stateSchemaTarget([member("a", "1.3.0"), all[1]!], "1.2.0"), undefined);
  });

  it("call a member behind in one version and ahead in the other NEEDS UPGRADE", () => {
    const all = [member("a", "1.3.0", "1.0.0"), member("b", "1.2.0", "1.1.0")];
    assert.deepEqual(statuses(all, "1.2.0"), { a: "NEEDS UPGRADE", b: "NEEDS UPGRADE" });
  });

  it("leave OFFLINE to win in cluster list", () => {
    const now = 1_000_000;
    const row = (name: string, schema: string, heartbeat: number) =>
      ({
        name,
        address: "10.0.0.1",
        role: "voter",
        fingerprint: "",
        heartbeat,
        services: [],
        chassis: new Map(),
        versions: new Map([[VERSION_KEYS.stateSchema, schema]]),
      }) as unknown as MemberRow;
    const views = describeMembers(
      [row("a", "1.3.0", now), row("b", "1.2.0", now - OFFLINE_AFTER_MS - 1)],
      now,
      "1.2.0",
    );
    assert.deepEqual(
      views.map((v) => [v.name, v.status]),
      [
        ["a", "UPGRADING"],
        ["b", "OFFLINE"],
      ],
    );
  });
});

describe("state schema conversion target", () => {
  it("is the newer version once every member reports it", () => {
    const all = [member("a", "1.3.0"), member("b", "1.3.0"), member("c", "1.3.0")];
    assert.equal(stateSchemaTarget(all, "1.2.0"), "1.3.0");
  });

  it("is held back by one member behind, or one that reports nothing", () => {
    assert.equal(
      stateSchemaTarget([member("a", "1.3.0"), member("b", "1.2.0")], "1.2.0"),
      undefined,
    );
    assert.equal(stateSchemaTarget([member("a", "1.3.0"), member("b")], "1.2.0"), undefined);
  });

  it("is nothing when the database already runs it, or a newer one", () => {
    const all = [member("a", "1.3.0"), member("b", "1.3.0")];
    assert.equal(stateSchemaTarget(all, "1.3.0"), undefined);
    assert.equal(stateSchemaTarget(all, "1.4.0"), undefined);
    assert.equal(stateSchemaTarget([], "1.2.0"), undefined);
  });
});

describe("the shipped state schema", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("schema");
  });
  after(async () => {
    await removeDir(dir);
  });

  it("is the installed one unless MICROOVN_STATE_SCHEMA names another", async () => {
    assert.equal(stateSchemaFile({}), PROJECT_SCHEMAS.microovn.file);
    assert.equal(stateSchemaFile({ MICROOVN_STATE_SCHEMA: "" }), PROJECT_SCHEMAS.microovn.file);
    const shipped = await readShippedStateSchema({});
    assert.match(shipped.version, /^\d+\.\d+\.\d+$/);
    const other = join(dir, "newer.ovsschema");
    await writeFile(other, JSON.stringify({ name: "MicroOVN", version: "9.0.0", tables: {} }));
    assert.deepEqual(await readShippedStateSchema({ MICROOVN_STATE_SCHEMA: other }), {
      file: other,
      version: "9.0.0",
    });
  });

  it("refuses a missing file, one that is no schema and another database's", async () => {
    const wrongDb = join(dir, "nb.ovsschema");
    await writeFile(
      wrongDb,
      JSON.stringify({ name: "OVN_Northbound", version: "7.0.0", tables: {} }),
    );
    const garbage = join(dir, "garbage.ovsschema");
    await writeFile(garbage, "{ not json");
    for (const [file, why] of [
      [join(dir, "missing.ovsschema"), /ENOENT/],
      [garbage, /JSON/],
      [wrongDb, /schema of database OVN_Northbound/],
    ] as const) {
      await assert.rejects(readShippedStateSchema({ MICROOVN_STATE_SCHEMA: file }), (e: Error) => {
        assert.equal((e as { code?: string }).code, "STATE_SCHEMA_UNUSABLE");
        assert.match(e.message, why);
        assert.match(
          e.message,
          /point MICROOVN_STATE_SCHEMA at a schema file of database MicroOVN/,
        );
        return true;
      });
    }
  });
});
