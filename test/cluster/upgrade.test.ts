/**
 * A rolling OVN upgrade in the lab, with real OVN processes. The "older"
 * OVN is the installed one with schemas made older by the test (a table
 * the newest version added is dropped, the version lowered), given to
 * every member through MICROOVN_OVN_SCHEMA_DIR. Three central members and
 * one chassis-only member start on it; then they move one at a time to
 * the real schemas (their daemon restarted with the variable unset). NB and
 * SB stay on the old schema until the last member has moved, and while a
 * member cannot be asked; then one member converts them online, every row
 * is kept, northd still fills SB, and the VMs keep pinging.
 *
 * Only microovnd is restarted: the schema directory drives what a member
 * reports and what it creates, while the running OVN programs carry their
 * schemas compiled in (restarting them onto new binaries is a step of its
 * own, and costs the data plane nothing here).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { OVN_SCHEMA_DIR_VARIABLE } from "../../src/ovn/schemas.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { isAlive } from "../helpers/processes.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

/** The table dropped from both schemas to make them "older": added in OVN 22.12/23.03. */
const DROPPED_TABLE = "Chassis_Template_Var";
const FILES = { nb: "ovn-nb.ovsschema", sb: "ovn-sb.ovsschema" } as const;
type Db = keyof typeof FILES;

let lab: Lab | undefined;
let oldDir: string | undefined;
const real: Record<Db, string> = { nb: "", sb: "" };
const old: Record<Db, string> = { nb: "", sb: "" };
const vms: LabVm[] = [];
/** The fourth member runs no central (the first three do). */
const CHASSIS_ONLY = "m4";
const SWITCHES = Array.from({ length: 20 }, (_, i) => `up-sw${i}`);

/** One version lower: the patch number, else the minor, else the major. */
function lower(version: string): string {
  const [major, minor, patch] = version.split(".").map(Number) as [number, number, number];
  if (patch > 0) return `${major}.${minor}.${patch - 1}`;
  if (minor > 0) return `${major}.${minor - 1}.0`;
  return `${major - 1}.0.0`;
}

async function writeOlderSchemas(dir: string): Promise<void> {
  for (const db of ["nb", "sb"] as const) {
    const schema = JSON.parse(await readFile(join("/usr/share/ovn", FILES[db]), "utf8")) as {
      version: string;
      cksum?: string;
      tables: Record<string, unknown>;
    };
    assert.ok(schema.tables[DROPPED_TABLE], `${FILES[db]} has ${DROPPED_TABLE}`);
    real[db] = schema.version;
    old[db] = lower(schema.version);
    delete schema.tables[DROPPED_TABLE];
    delete schema.cksum;
    schema.version = old[db];
    await writeFile(join(dir, FILES[db]), JSON.stringify(schema));
  }
}

interface StatusJson {
  databases: { title: string; runningSchema?: string }[];
}

async function active(node: string): Promise<Record<Db, string | undefined>> {
  const report = JSON.parse(await lab!.ok(node, ["status", "--json"])) as StatusJson;
  const of = (title: string) => report.databases.find((d) => d.title === title)?.runningSchema;
  return { nb: of("OVN Northbound"), sb: of("OVN Southbound") };
}

async function daemonLog(node: string): Promise<string> {
  return readFile(join(lab!.node(node).stateDir, "logs", "microovnd.log"), "utf8").catch(() => "");
}

/** Stops a member's microovnd (its OVN programs keep running, as on any daemon restart). */
async function stopDaemon(node: string): Promise<void> {
  const pid = (await lab!.pids(node)).microovnd;
  assert.ok(pid !== undefined, `${node} has a microovnd`);
  process.kill(pid, "SIGTERM");
  await waitFor(`${node}'s microovnd (${pid}) to exit`, () => !isAlive(pid), {
    timeoutMs: 20_000,
    intervalMs: 100,
  });
}

/** Moves a member to the installed OVN's schemas: its daemon starts again without the variable. */
async function moveToRealSchemas(node: string): Promise<void> {
  const before = (await daemonLog(node)).length;
  await lab!.restartDaemon(node, { [OVN_SCHEMA_DIR_VARIABLE]: undefined });
  // The new daemon's coordinator (a central) has looked at NB: it says what it decided.
  if (node !== CHASSIS_ONLY) {
    await waitFor(
      `${node}'s coordinator to check NB`,
      async () =>
        /NB (stays on|runs) schema|converted NB/.test((await daemonLog(node)).slice(before)),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }
}

/** Pings from `a` to `b` in rounds of 25 (5 s) until stopped; counts sent and answered. */
function keepPinging(a: LabVm, b: LabVm) {
  let stopped = false;
  const totals = { sent: 0, received: 0 };
  const loop = (async () => {
    while (!stopped) {
      const r = await runIn(a.namespace, "ping", ["-c", "25", "-i", "0.2", "-W", "1", b.ip], {
        allowFailure: true,
        timeoutMs: 30_000,
      });
      totals.sent += Number(/(\d+) packets transmitted/.exec(r.stdout)?.[1] ?? 0);
      totals.received += Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return totals;
    },
  };
}

let pinger: ReturnType<typeof keepPinging> | undefined;

before(async () => {
  oldDir = await makeTempDir("oldschema");
  await writeOlderSchemas(oldDir);
  lab = await startLab(0);
  for (let i = 0; i < 4; i++) {
    const node = await lab.addNode();
    await lab.setEnv(node.name, { [OVN_SCHEMA_DIR_VARIABLE]: oldDir });
    await lab.join(node);
  }
  vms.push(await lab.addVm("m2"), await lab.addVm("m4"));
});

after(async () => {
  await pinger?.stop();
  await stopLab(lab);
  if (oldDir) await removeDir(oldDir);
});

describe("a rolling OVN upgrade", { concurrency: false }, () => {
  it("starts every member on the older schemas, with m4 chassis-only", async () => {
    const services = JSON.parse(await lab!.ok("m1", ["status", "--json"])) as {
      members: { name: string; services: string[] }[];
    };
    assert.deepEqual(
      services.members.find((m) => m.name === CHASSIS_ONLY)?.services.includes("central"),
      false,
    );
    assert.deepEqual(await active("m1"), old);
    const text = await lab!.ok(CHASSIS_ONLY, ["status"]);
    assert.match(text, new RegExp(`OVN Northbound: OK \\(${old.nb}\\)`));
    assert.match(text, new RegExp(`OVN Southbound: OK \\(${old.sb}\\)`));

    const args = SWITCHES.flatMap((s) => ["--", "ls-add", s, "--", "lsp-add", s, `${s}-p`]);
    await lab!.ok("m1", ["ovn-nbctl", "--timeout=20", ...args.slice(1)]);
    const [a, b] = vms as [LabVm, LabVm];
    await waitFor(
      "vm on m2 reaches vm on m4",
      async () =>
        (await runIn(a.namespace, "ping", ["-c", "1", "-W", "1", b.ip], { allowFailure: true }))
          .exitCode === 0,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    pinger = keepPinging(a, b);
  });

  it("keeps NB and SB on the old schema while members move one at a time", async () => {
    for (const node of ["m1", "m2", "m3"]) {
      await moveToRealSchemas(node);
      assert.deepEqual(await active(node), old, `after ${node} moved`);
      const text = await lab!.ok(node, ["status"]);
      for (const [db, title] of [
        ["nb", "Northbound"],
        ["sb", "Southbound"],
      ] as const) {
        assert.match(text, new RegExp(`OVN ${title}: Upgrade or attention required!`));
        assert.match(text, new RegExp(`Currently active schema: ${old[db]}`));
        assert.match(text, new RegExp(`\\t${node}: ${real[db]}\\n`), text);
        assert.match(text, new RegExp(`\\tm4: ${old[db]}\\n`), text);
      }
    }
  });

  it("holds the conversion while a member cannot be asked, and names it", async () => {
    await stopDaemon("m2");
    await moveToRealSchemas(CHASSIS_ONLY);
    const logBefore = (await daemonLog("m1")).length;
    await waitFor(
      "m1's coordinator to hold NB back for m2",
      async () =>
        /NB stays on schema .*m2 cannot be asked/.test((await daemonLog("m1")).slice(logBefore)),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.deepEqual(await active("m1"), old);
    const text = await lab!.ok("m1", ["status"]);
    assert.match(text, /OVN Northbound: Upgrade or attention required!/);
    assert.match(text, /\tm2: Error\. Failed to contact member\n/);
    assert.match(text, /Held back: .*m2 cannot be asked/);
  });

  it("converts NB and SB once every member expects the new schema", async () => {
    const started = Date.now();
    await lab!.ok("m2", ["waitready", "--timeout", "60"]);
    await waitFor(
      "NB and SB converted",
      async () => {
        const now = await active("m3");
        return now.nb === real.nb && now.sb === real.sb;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    console.log(`converted ${(Date.now() - started) / 1000} s after m2's daemon was started`);
    const text = await lab!.ok(CHASSIS_ONLY, ["status"]);
    assert.match(text, new RegExp(`OVN Northbound: OK \\(${real.nb}\\)`), text);
    assert.match(text, new RegExp(`OVN Southbound: OK \\(${real.sb}\\)`), text);

    // Exactly one member converted each database.
    const converters: Record<Db, string[]> = { nb: [], sb: [] };
    for (const node of ["m1", "m2", "m3"]) {
      const log = await daemonLog(node);
      for (const db of ["nb", "sb"] as const) {
        if (log.includes(`converted ${db.toUpperCase()} to schema ${real[db]}`)) {
          converters[db].push(node);
        }
      }
    }
    assert.equal(converters.nb.length, 1, `NB converted by ${converters.nb.join(", ")}`);
    assert.equal(converters.sb.length, 1, `SB converted by ${converters.sb.join(", ")}`);

    // Every row is there, the new table too, and northd still fills SB.
    const names = await lab!.ok("m3", [
      "ovn-nbctl",
      "--bare",
      "--columns=name",
      "list",
      "Logical_Switch",
    ]);
    for (const s of SWITCHES) assert.ok(names.split("\n").includes(s), `${s} kept`);
    await lab!.ok("m2", ["ovn-nbctl", "--timeout=20", "list", DROPPED_TABLE]);
    await lab!.ok("m2", ["ovn-sbctl", "--timeout=20", "list", DROPPED_TABLE]);
    await lab!.ok("m1", ["ovn-nbctl", "--timeout=30", "--wait=sb", "ls-add", "up-after"]);
    const bindings = await lab!.ok("m1", [
      "ovn-sbctl",
      "--bare",
      "--columns=_uuid",
      "find",
      "Datapath_Binding",
      "external_ids:name=up-after",
    ]);
    assert.notEqual(bindings.trim(), "", "northd made up-after's datapath in SB");

    const totals = await pinger!.stop();
    pinger = undefined;
    const lost = totals.sent - totals.received;
    console.log(`pings during the upgrade: ${totals.sent} sent, ${lost} lost`);
    assert.ok(totals.sent > 50, `pinged throughout (${totals.sent} sent)`);
    assert.ok(lost <= 3, `the VMs kept pinging: ${lost} of ${totals.sent} lost`);
  });
});
