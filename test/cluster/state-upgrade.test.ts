/**
 * Upgrading MicroOVN's own state database schema across a three-member lab.
 * A "newer MicroOVN" is a member whose daemon is restarted with
 * MICROOVN_STATE_SCHEMA pointing at a test-made schema: the real one plus a
 * table and a Member column, one minor version up. While some members still
 * ship the old schema the state database is not converted and `cluster
 * list` shows the upgraded ones UPGRADING and the others NEEDS UPGRADE;
 * once the last one ships it, one member converts the database online,
 * every row is kept, the new table takes writes and all show ONLINE.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { PROJECT_SCHEMAS } from "../../src/ovsdb/schema/installed.js";
import { UPGRADE_CHECK_INTERVAL_MS } from "../../src/upgrade/state-db-upgrade.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { isAlive } from "../helpers/processes.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const NODES = ["m1", "m2", "m3"] as const;
/** Tables whose rows the conversion must keep, with the columns compared. */
const KEPT: Record<string, string[]> = {
  Member: ["name", "address", "role", "fingerprint", "services", "chassis"],
  Config: ["key", "value"],
  Identity_Project: ["project_id", "name", "description", "enabled", "domain"],
};

let lab: Lab | undefined;
let dir: string | undefined;
let newerSchema: string;
/** A newer schema the rows do not fit: an index on Member.role, which the voters share. */
let unfitSchema: string;
let oldVersion: string;
let newVersion: string;
let rowsBefore: Record<string, unknown[]>;

interface Listed {
  name: string;
  status: string;
}

async function listed(node: string): Promise<Record<string, string>> {
  const rows = JSON.parse(await lab!.ok(node, ["cluster", "list", "-f", "json"])) as Listed[];
  return Object.fromEntries(rows.map((r) => [r.name, r.status]));
}

function escaped(version: string): string {
  return version.replaceAll(".", "\\.");
}

function stateSocket(node: string): string {
  return `unix:${join(lab!.node(node).stateDir, "run", "microovn_db.sock")}`;
}

/** The schema version member `node`'s state database server runs. */
async function activeVersion(node: string): Promise<string> {
  const r = await lab!.exec(node, "ovsdb-client", [
    "get-schema-version",
    stateSocket(node),
    "MicroOVN",
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout.trim();
}

/** One transaction on member `node`'s state database; the results. */
async function transact(node: string, ops: unknown[]): Promise<{ rows?: unknown[] }[]> {
  const r = await lab!.exec(node, "ovsdb-client", [
    "transact",
    stateSocket(node),
    JSON.stringify(["MicroOVN", ...ops]),
  ]);
  assert.equal(r.exitCode, 0, r.stderr);
  return JSON.parse(r.stdout) as { rows?: unknown[] }[];
}

/** The kept tables' rows (their uuids and compared columns), as `node` reads them. */
async function keptRows(node: string): Promise<Record<string, unknown[]>> {
  const tables = Object.keys(KEPT);
  const results = await transact(
    node,
    tables.map((table) => ({
      op: "select",
      table,
      where: [],
      columns: ["_uuid", ...KEPT[table]!],
    })),
  );
  return Object.fromEntries(
    tables.map((t, i) => [
      t,
      (results[i]?.rows ?? []).map((r) => JSON.stringify(r)).sort() as unknown[],
    ]),
  );
}

/** Each member's last heartbeat (ms since the epoch), by name. */
async function heartbeats(): Promise<Record<string, number>> {
  const [result] = await transact("m1", [
    { op: "select", table: "Member", where: [], columns: ["name", "heartbeat"] },
  ]);
  const rows = (result?.rows ?? []) as { name: string; heartbeat: number }[];
  return Object.fromEntries(rows.map((r) => [r.name, r.heartbeat]));
}

/**
 * Waits until every member's heartbeat moved on by two check intervals:
 * each daemon has looked at the versions (and could have converted) since.
 */
async function checksRan(): Promise<void> {
  const start = await heartbeats();
  await waitFor(
    "two more upgrade checks on every member",
    async () => {
      const now = await heartbeats();
      return NODES.every((n) => now[n]! >= start[n]! + 2 * UPGRADE_CHECK_INTERVAL_MS);
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
}

function daemonLog(node: string): Promise<string> {
  return readFile(join(lab!.node(node).stateDir, "logs", "microovnd.log"), "utf8");
}

/** Where each daemon log stood when the upgrade began (what came before is not counted). */
const logStart: Record<string, number> = {};

/** The members whose daemon log says they converted the state database since the upgrade began. */
async function conversionLogged(): Promise<string[]> {
  const found: string[] = [];
  for (const node of NODES) {
    const text = (await daemonLog(node)).slice(logStart[node] ?? 0);
    if (text.includes("converting the state database")) found.push(node);
  }
  return found;
}

async function upgrade(node: string): Promise<void> {
  await lab!.restartDaemon(node, { MICROOVN_STATE_SCHEMA: newerSchema });
}

before(async () => {
  dir = await makeTempDir("stateup");
  const schema = JSON.parse(await readFile(PROJECT_SCHEMAS.microovn.file, "utf8")) as {
    version: string;
    tables: Record<string, { columns: Record<string, unknown>; isRoot?: boolean }>;
  };
  oldVersion = schema.version;
  const [major, minor] = oldVersion.split(".").map(Number);
  newVersion = `${major}.${minor! + 1}.0`;
  schema.version = newVersion;
  schema.tables.Member!.columns.upgrade_note = {
    type: { key: "string", min: 0, max: 1 },
  };
  schema.tables.Upgrade_Probe = { columns: { note: { type: "string" } }, isRoot: true };
  newerSchema = join(dir, "microovn-newer.ovsschema");
  await writeFile(newerSchema, JSON.stringify(schema, null, 2));
  const unfit = structuredClone(schema) as typeof schema & {
    tables: Record<string, { indexes?: string[][] }>;
  };
  unfit.tables.Member!.indexes = [...(unfit.tables.Member!.indexes ?? []), ["role"]];
  unfitSchema = join(dir, "microovn-unfit.ovsschema");
  await writeFile(unfitSchema, JSON.stringify(unfit, null, 2));

  lab = await startLab(NODES.length);
  await lab.ok("m1", ["config", "set", "openstack-api.token-expiration", "7200"]);
  await lab.ok("m2", ["project", "add", "upgrade-demo"]);
  rowsBefore = await keptRows("m1");
  assert.ok(
    rowsBefore.Config!.length > 0 && rowsBefore.Identity_Project!.length > 0,
    "rows were written",
  );
  assert.equal(rowsBefore.Member!.length, 3);
});

after(async () => {
  await stopLab(lab);
  if (dir) await removeDir(dir);
});

describe("state database upgrade", () => {
  it("starts with every member ONLINE on the installed schema", async () => {
    for (const node of NODES) assert.equal(await activeVersion(node), oldVersion);
    await waitFor("all ONLINE", async () =>
      Object.values(await listed("m1")).every((s) => s === "ONLINE"),
    );
  });

  it("refuses a daemon pointed at a file that is no state schema, and keeps the member", async () => {
    const pids = await lab!.pids("m3");
    await assert.rejects(
      lab!.restartDaemon("m3", { MICROOVN_STATE_SCHEMA: join(dir!, "missing.ovsschema") }),
      /missing\.ovsschema cannot be used .*point MICROOVN_STATE_SCHEMA at a schema file of database MicroOVN/s,
    );
    const { microovnd, ...ovn } = pids;
    assert.ok(microovnd !== undefined && Object.keys(ovn).length > 0);
    for (const [name, pid] of Object.entries(ovn)) {
      assert.ok(isAlive(pid), `${name} (pid ${pid}) kept running`);
    }
    await lab!.restartDaemon("m3", { MICROOVN_STATE_SCHEMA: undefined });
    await waitFor("all ONLINE again", async () =>
      Object.values(await listed("m1")).every((s) => s === "ONLINE"),
    );
  });

  it("a conversion the rows do not fit fails, changes nothing, and the members can go back", async () => {
    for (const node of NODES) {
      await lab!.restartDaemon(node, { MICROOVN_STATE_SCHEMA: unfitSchema });
    }
    const failed = await waitFor(
      "a failed conversion, to be tried again",
      async () => {
        for (const node of NODES) {
          const m =
            /converting the state database to \S+ failed \((.*)\); trying again in \d+ s/.exec(
              await daemonLog(node),
            );
          if (m) return m[1];
        }
        return undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.match(failed, /constraint|duplicate|index/i);
    for (const node of NODES) assert.equal(await activeVersion(node), oldVersion);
    assert.deepEqual(await keptRows("m1"), rowsBefore);
    // Stopping halfway: back to the installed schema, one member at a time.
    for (const node of NODES) await lab!.restartDaemon(node, { MICROOVN_STATE_SCHEMA: undefined });
    await waitFor("all ONLINE on the installed schema", async () =>
      Object.values(await listed("m2")).every((s) => s === "ONLINE"),
    );
    assert.equal(await activeVersion("m2"), oldVersion);
    for (const node of NODES) logStart[node] = (await daemonLog(node)).length;
  });

  it("after one member moves: it is UPGRADING, the others NEED UPGRADE, nothing converted", async () => {
    await upgrade("m1");
    const expected = { m1: "UPGRADING", m2: "NEEDS UPGRADE", m3: "NEEDS UPGRADE" };
    for (const node of NODES) {
      await waitFor(
        `${node} lists ${JSON.stringify(expected)}`,
        async () => JSON.stringify(await listed(node)) === JSON.stringify(expected),
        { timeoutMs: 30_000 },
      );
    }
    assert.match(await lab!.ok("m2", ["status"]), /- m1 \([^)]*\) UPGRADING/);
    const status = await lab!.ok("m1", ["status"]);
    assert.match(status, /MicroOVN cluster state: Upgrade or attention required!/);
    assert.match(status, new RegExp(`Currently running schema: ${escaped(oldVersion)}\\n`));
    assert.match(status, new RegExp(`Installed schema: ${escaped(newVersion)}\\n`));
    await checksRan();
    for (const node of NODES) assert.equal(await activeVersion(node), oldVersion);
    // The upgraded member writes through the running (old) schema: its row
    // and heartbeats still go in, so it does not turn OFFLINE.
    assert.deepEqual(await conversionLogged(), []);
  });

  it("after two: still held back by the third", async () => {
    await upgrade("m2");
    const expected = { m1: "UPGRADING", m2: "UPGRADING", m3: "NEEDS UPGRADE" };
    await waitFor(
      `m3 lists ${JSON.stringify(expected)}`,
      async () => JSON.stringify(await listed("m3")) === JSON.stringify(expected),
      { timeoutMs: 30_000 },
    );
    await checksRan();
    for (const node of NODES) assert.equal(await activeVersion(node), oldVersion);
    assert.deepEqual(await conversionLogged(), []);
  });

  it("after the last: converted once, rows kept, everyone ONLINE", async () => {
    await upgrade("m3");
    for (const node of NODES) {
      await waitFor(
        `${node} runs ${newVersion}`,
        async () => ((await activeVersion(node)) === newVersion ? true : undefined),
        { timeoutMs: 60_000 },
      );
    }
    for (const node of NODES) {
      await waitFor(
        `${node} lists every member ONLINE`,
        async () => Object.values(await listed(node)).every((s) => s === "ONLINE"),
        { timeoutMs: 30_000 },
      );
    }
    assert.deepEqual(await keptRows("m3"), rowsBefore);
    assert.match(
      await lab!.ok("m1", ["status"]),
      new RegExp(`MicroOVN cluster state: OK \\(${escaped(newVersion)}\\)`),
    );
    // Every daemon saw the conversion and follows the new schema.
    for (const node of NODES) {
      await waitFor(`${node} follows the new schema`, async () =>
        (await daemonLog(node)).includes(`the state database runs schema ${newVersion}`),
      );
    }
    assert.equal((await conversionLogged()).length, 1, "exactly one member converted");
    // The new table exists on every member and takes writes.
    await transact("m2", [{ op: "insert", table: "Upgrade_Probe", row: { note: "after" } }]);
    const [probe] = await transact("m3", [{ op: "select", table: "Upgrade_Probe", where: [] }]);
    assert.equal(probe?.rows?.length, 1);
    // Every member's heartbeats still reach the converted database.
    const last = await heartbeats();
    await waitFor("a heartbeat from every member after the conversion", async () => {
      const now = await heartbeats();
      return NODES.every((n) => now[n]! > last[n]!);
    });
  });
});
