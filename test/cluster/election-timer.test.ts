/**
 * `microovn config set ovn.election-timer` in a four-member lab (three
 * centrals, the spare m4): new clusters start with our default; a value
 * out of range is refused and changes nothing; a value set on the spare
 * reaches every NB, SB and state database server, raised in doublings by
 * the leaders' members and lowered in one step; `status` shows it; and the
 * databases m4 creates when it becomes a central later have it.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { DEFAULT_ELECTION_TIMER_MS } from "../../src/ovn/election-timer.js";
import { LAB_DATABASES, raftStatus, startLab, stopLab, type LabDatabase } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;

before(async () => {
  lab = await startLab(4);
});

after(() => stopLab(lab));

const CENTRALS = ["m1", "m2", "m3"];

/** "m1 nb 4000" for each central member's database server. */
async function timers(nodes = CENTRALS, dbs: readonly LabDatabase[] = LAB_DATABASES) {
  const out: string[] = [];
  for (const node of nodes) {
    for (const db of dbs) {
      out.push(`${node} ${db} ${(await raftStatus(lab!, node, db)).electionTimerMs}`);
    }
  }
  return out;
}

function all(ms: number, nodes = CENTRALS, dbs: readonly LabDatabase[] = LAB_DATABASES) {
  return nodes.flatMap((node) => dbs.map((db) => `${node} ${db} ${ms}`));
}

async function waitForTimers(ms: number): Promise<void> {
  let last: string[] = [];
  await waitFor(
    `every server at ${ms} ms`,
    async () => {
      last = await timers();
      return last.every((line) => line.endsWith(` ${ms}`));
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last seen: ${last.join(", ")}`);
  });
}

async function daemonLogs(): Promise<string> {
  const logs = await Promise.all(
    CENTRALS.map((n) =>
      readFile(join(lab!.node(n).stateDir, "logs", "microovnd.log"), "utf8").catch(() => ""),
    ),
  );
  return logs.join("\n");
}

describe("ovn.election-timer", () => {
  it("new clusters start with our default", async () => {
    assert.deepEqual(await timers(), all(DEFAULT_ELECTION_TIMER_MS));
  });

  it("refuses values out of range or not numbers, changing nothing", async () => {
    for (const bad of ["999", "60001", "2s", "-5"]) {
      const r = await lab!.cli("m4", ["config", "set", "ovn.election-timer", bad]);
      assert.notEqual(r.exitCode, 0, `${bad} was taken`);
      assert.match(
        r.stderr,
        /ovn\.election-timer cannot be .*whole milliseconds from 1000 to 60000/,
      );
    }
    const get = await lab!.cli("m1", ["config", "get", "ovn.election-timer"]);
    assert.notEqual(get.exitCode, 0);
    assert.match(get.stderr, /ovn\.election-timer is not set/);
    assert.deepEqual(await timers(), all(DEFAULT_ELECTION_TIMER_MS));
  });

  it("set on a member that leads nothing, reaches every server in doublings", async () => {
    const target = DEFAULT_ELECTION_TIMER_MS * 4;
    await lab!.ok("m4", ["config", "set", "ovn.election-timer", `${target}`]);
    await waitForTimers(target);
    // More than doubling at once is refused by ovsdb-server: two steps each.
    const logs = await daemonLogs();
    for (const name of ["OVN_Northbound", "OVN_Southbound", "MicroOVN"]) {
      const steps = `${name} ${DEFAULT_ELECTION_TIMER_MS} → ${DEFAULT_ELECTION_TIMER_MS * 2} → ${target} ms`;
      assert.ok(logs.includes(steps), `a leader's member logged "${steps}"`);
    }
    assert.equal(
      (await lab!.ok("m2", ["config", "get", "ovn.election-timer"])).trim(),
      `${target}`,
    );
  });

  it("is shown by status on members that run the databases", async () => {
    const target = DEFAULT_ELECTION_TIMER_MS * 4;
    const status = await lab!.ok("m2", ["status"]);
    assert.match(
      status,
      new RegExp(
        `^Election timer: OVN Northbound ${target} ms, OVN Southbound ${target} ms, ` +
          `MicroOVN cluster state ${target} ms$`,
        "m",
      ),
    );
    assert.doesNotMatch(await lab!.ok("m4", ["status"]), /Election timer/);
  });

  it("goes down in one step", async () => {
    await lab!.ok("m1", ["config", "set", "ovn.election-timer", "2000"]);
    await waitForTimers(2000);
    assert.ok(
      (await daemonLogs()).includes(`OVN_Northbound ${DEFAULT_ELECTION_TIMER_MS * 4} → 2000 ms`),
    );
  });

  it("holds for databases created later: m4's when it becomes a central", async () => {
    await lab!.ok("m1", ["enable", "central", "--node", "m4"]);
    for (const db of ["nb", "sb"] as const) {
      assert.equal((await raftStatus(lab!, "m4", db)).electionTimerMs, 2000, db);
    }
    assert.match(
      await lab!.ok("m4", ["status"]),
      /^Election timer: OVN Northbound 2000 ms, OVN Southbound 2000 ms/m,
    );
  });
});
