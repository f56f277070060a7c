/**
 * The OVN schema directory with the real ovsdb-tool: the versions a member
 * expects come from the files there, and a directory without usable schemas
 * is refused with an error naming MICROOVN_OVN_SCHEMA_DIR, before a
 * database file is made. And a program whose binary a package upgrade
 * replaced is told apart (its member does not count as ready yet).
 */
import assert from "node:assert/strict";
import { chmod, copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MicroOvnError } from "../../src/errors.js";
import { StateDir } from "../../src/member/state-dir.js";
import { Central } from "../../src/ovn/central.js";
import {
  OVN_SCHEMA_DIR_VARIABLE,
  expectedSchemaVersion,
  expectedSchemaVersions,
} from "../../src/ovn/schemas.js";
import { PkiStore } from "../../src/pki/store.js";
import { run, spawnDetached } from "../../src/process/run.js";
import { replacedPrograms } from "../../src/upgrade/replaced-programs.js";
import { stopPid, trackPid } from "../helpers/processes.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

let dir: string;

before(async () => {
  dir = await makeTempDir("schemadir");
});

after(() => removeDir(dir));

function refusedNaming(variableValue: string | undefined, file: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof MicroOvnError);
    assert.equal(e.code, "OVN_SCHEMA_UNUSABLE");
    assert.match(e.message, file);
    assert.match(e.message, new RegExp(OVN_SCHEMA_DIR_VARIABLE));
    if (variableValue !== undefined) assert.ok(e.message.includes(variableValue), e.message);
    return true;
  };
}

describe("the OVN schema directory", () => {
  it("gives the versions ovsdb-tool reads from Debian's files by default", async () => {
    const versions = await expectedSchemaVersions({});
    for (const [db, file] of [
      ["nb", "/usr/share/ovn/ovn-nb.ovsschema"],
      ["sb", "/usr/share/ovn/ovn-sb.ovsschema"],
    ] as const) {
      const r = await run("ovsdb-tool", ["schema-version", file]);
      assert.equal(versions[db], r.stdout.trim());
    }
  });

  it("reads another directory's files when MICROOVN_OVN_SCHEMA_DIR names it", async () => {
    const own = join(dir, "own");
    await mkdir(own);
    const schema = JSON.parse(await readFile("/usr/share/ovn/ovn-nb.ovsschema", "utf8")) as {
      version: string;
      cksum?: string;
    };
    schema.version = "1.2.3";
    delete schema.cksum;
    await writeFile(join(own, "ovn-nb.ovsschema"), JSON.stringify(schema));
    assert.equal(await expectedSchemaVersion("nb", { [OVN_SCHEMA_DIR_VARIABLE]: own }), "1.2.3");
    // A package upgrade replaces the file: the new version is read, not an old answer.
    schema.version = "1.2.4";
    await writeFile(join(own, "ovn-nb.ovsschema"), JSON.stringify(schema));
    assert.equal(await expectedSchemaVersion("nb", { [OVN_SCHEMA_DIR_VARIABLE]: own }), "1.2.4");
  });

  it("refuses a directory without the schema, naming the variable", async () => {
    const empty = join(dir, "empty");
    await mkdir(empty);
    await assert.rejects(
      expectedSchemaVersion("sb", { [OVN_SCHEMA_DIR_VARIABLE]: empty }),
      refusedNaming(empty, /ovn-sb\.ovsschema does not exist/),
    );
  });

  it("refuses a file that is not a schema", async () => {
    const junk = join(dir, "junk");
    await mkdir(junk);
    await writeFile(join(junk, "ovn-nb.ovsschema"), "not json");
    await assert.rejects(
      expectedSchemaVersion("nb", { [OVN_SCHEMA_DIR_VARIABLE]: junk }),
      refusedNaming(junk, /is not an OVSDB schema/),
    );
  });

  it("keeps a central from creating NB from a bad directory, and makes no file", async () => {
    const state = new StateDir(join(dir, "member"));
    const central = new Central(state, new PkiStore(state.pkiDir), "127.0.0.1");
    const missing = join(dir, "missing");
    const saved = process.env[OVN_SCHEMA_DIR_VARIABLE];
    process.env[OVN_SCHEMA_DIR_VARIABLE] = missing;
    try {
      await assert.rejects(central.createDb("nb"), refusedNaming(missing, /does not exist/));
    } finally {
      if (saved === undefined) delete process.env[OVN_SCHEMA_DIR_VARIABLE];
      else process.env[OVN_SCHEMA_DIR_VARIABLE] = saved;
    }
    const made = await readdir(state.centralDbDir).catch(() => []);
    assert.deepEqual(made, [], "no database file");
  });
});

describe("a program whose binary was replaced while it runs", () => {
  it("is found, by its name, once its executable is gone from disk", async () => {
    const binary = join(dir, "ovs-vswitchd");
    await copyFile("/bin/sleep", binary);
    await chmod(binary, 0o755);
    const child = await spawnDetached(binary, ["60"], { logFile: join(dir, "sleep.log") });
    trackPid(child.pid);
    try {
      const processes = [
        { name: "ovs-vswitchd", pid: child.pid },
        { name: "ovn-controller", pid: process.pid },
      ];
      assert.deepEqual(await replacedPrograms(processes), []);
      await rm(binary);
      assert.deepEqual(await replacedPrograms(processes), ["ovs-vswitchd"]);
    } finally {
      await stopPid(child.pid);
    }
  });
});
