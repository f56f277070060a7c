/**
 * Election timer benchmark (`npm run bench:election-timer [-- --window S]
 * [--timers 16000,5000,2000,1000] [--load-timer MS] [--no-build]`), in the lab: three
 * members, an NB of 100,000 rows (1,000 switches × 99 ports, one raw
 * transaction), and for each election timer (set with `microovn config set
 * ovn.election-timer`, waited for on every server):
 *
 * - steady: a write load (one small transaction after the other, an
 *   Address_Set's addresses, through our client to the leader) for the
 *   window; NB term changes (elections) counted from `cluster/status` of
 *   all three servers every 250 ms, and the slowest write;
 * - failover: SIGKILL of the NB leader's ovsdb-server, then the time until
 *   a write succeeds through the other two (the member's supervisor starts
 *   the killed server again; the conversion waits for it);
 * - conversion: `ovsdb-client convert` of the NB on its leader to the same
 *   schema with the version bumped (a temp file), under the same load;
 *   term changes from its start until 5 s after it ended, and its time
 *   (given up after 120 s; a failure is printed with ovsdb-client's words).
 *
 * NB term changes are also counted while the 100,000 rows are loaded, with
 * the election timer `--load-timer MS` (default: ours).
 *
 * ovn-northd is paused (SIGSTOP, by pid) on every member for the whole run:
 * with 100,000 ports it would recompute SB for each write and keep both
 * cores of this shared machine busy; the Raft servers are what is measured.
 * The load (`uptime`) is printed before and after each round. Progress goes
 * to stdout; the last line is one JSON object with every figure.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Lab, type LabNode } from "../src/lab/lab.js";
import { DEFAULT_ELECTION_TIMER_MS } from "../src/ovn/election-timer.js";
import { parseClusterStatus } from "../src/ovn/raft.js";
import { OvsdbClient } from "../src/ovsdb/client/client.js";
import type { OvnNorthboundDatabase } from "../src/ovsdb/models/ovn-northbound.js";
import { run } from "../src/process/run.js";
import { isRunning } from "../src/supervisor/supervisor.js";
import { connectUnix, sendOne, switchOps } from "./lib/raw.js";
import { log, sig } from "./lib/stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const NB = "OVN_Northbound";
const SWITCHES = 1000;
const PORTS_PER_SWITCH = 99;
const CONVERT_LIMIT_S = 120;

interface Round {
  election_timer_ms: number;
  steady_window_s: number;
  steady_term_changes: number;
  steady_writes: number;
  steady_slowest_write_s: number;
  convert_s: number | null;
  convert_term_changes: number;
  convert_slowest_write_s: number;
  failover_write_s: number;
  load_before: string;
  load_after: string;
}

const ctl = (n: LabNode) => join(n.stateDir, "run", "ovnnb_db.ctl");
const sock = (n: LabNode) => join(n.stateDir, "run", "ovnnb_db.sock");

async function status(n: LabNode) {
  const r = await run("ovs-appctl", ["-T", "2", "-t", ctl(n), "cluster/status", NB], {
    allowFailure: true,
    timeoutMs: 3_000,
  });
  return r.exitCode === 0 ? parseClusterStatus(r.stdout) : undefined;
}

async function loadAverage(): Promise<string> {
  return (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" ");
}

/** Counts NB term changes seen on any server while it runs; stop() returns the count. */
function watchTerms(nodes: readonly LabNode[]): { stop: () => Promise<number> } {
  let highest = 0;
  let changes = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const s of await Promise.all(nodes.map(status))) {
        if (!s || !Number.isFinite(s.term)) continue;
        if (highest > 0 && s.term > highest) changes += s.term - highest;
        highest = Math.max(highest, s.term);
      }
      await delay(250);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return changes;
    },
  };
}

/** One small write after another until stopped; counts them and keeps the slowest. */
function writeLoad(client: OvsdbClient<OvnNorthboundDatabase>): {
  stop: () => Promise<{ writes: number; slowest_s: number }>;
} {
  let stopped = false;
  let writes = 0;
  let slowest = 0;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const started = Date.now();
      for (;;) {
        try {
          const txn = client.transaction();
          txn.update("Address_Set", [["name", "==", "bench_load"]], {
            addresses: [`192.0.2.${i % 250}`],
          });
          await txn.commit();
          break;
        } catch {
          if (stopped) return;
          await delay(20);
        }
      }
      writes++;
      slowest = Math.max(slowest, (Date.now() - started) / 1000);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { writes, slowest_s: slowest };
    },
  };
}

async function leader(nodes: readonly LabNode[]): Promise<LabNode> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    for (const n of nodes) if ((await status(n))?.role === "leader") return n;
    if (Date.now() > deadline) throw new Error("NB has had no leader for 60 s");
    await delay(100);
  }
}

/** Waits until all servers are cluster members that know a leader and show `ms`. */
async function settled(nodes: readonly LabNode[], ms: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const all = await Promise.all(nodes.map(status));
    if (
      all.every(
        (s) => s?.status === "cluster member" && s.leader !== "unknown" && s.electionTimerMs === ms,
      )
    ) {
      return;
    }
    if (Date.now() > deadline) {
      throw new Error(`NB servers did not settle at ${ms} ms: ${JSON.stringify(all)}`);
    }
    await delay(200);
  }
}

async function bulkLoad(node: LabNode): Promise<void> {
  const ops: string[] = [];
  for (let s = 0; s < SWITCHES; s++) {
    ops.push(switchOps(s, s * PORTS_PER_SWITCH, PORTS_PER_SWITCH));
  }
  ops.push(`{"op":"insert","table":"Address_Set","row":{"name":"bench_load"}}`);
  const socket = await connectUnix(sock(node));
  try {
    const started = Date.now();
    await sendOne(socket, `{"id":1,"method":"transact","params":["${NB}",${ops.join(",")}]}`);
    log(
      `  bulk load: ${SWITCHES * (PORTS_PER_SWITCH + 1)} rows in ${(Date.now() - started) / 1000} s`,
    );
  } finally {
    socket.destroy();
  }
}

async function round(
  lab: Lab,
  client: OvsdbClient<OvnNorthboundDatabase>,
  timerMs: number,
  windowS: number,
  schemaDir: string,
  bump: number,
): Promise<Round> {
  const nodes = lab.nodes;
  await lab.ok("m1", ["config", "set", "ovn.election-timer", `${timerMs}`]);
  await settled(nodes, timerMs);
  const load_before = await loadAverage();
  log(`election timer ${timerMs} ms (load ${load_before})`);

  let terms = watchTerms(nodes);
  let load = writeLoad(client);
  await delay(windowS * 1000);
  const steady = await load.stop();
  const steadyTerms = await terms.stop();
  log(
    `  steady ${windowS} s: ${steadyTerms} term changes, ${steady.writes} writes, ` +
      `slowest ${steady.slowest_s} s`,
  );

  await settled(nodes, timerMs);
  const victim = await leader(nodes);
  const pid = (await lab.pids(victim.name)).ovnnb_db;
  if (pid === undefined || !isRunning(pid)) throw new Error(`no NB server pid on ${victim.name}`);
  process.kill(pid, "SIGKILL");
  const killedAt = Date.now();
  for (;;) {
    try {
      const txn = client.transaction();
      txn.update("Address_Set", [["name", "==", "bench_load"]], { addresses: ["198.51.100.1"] });
      await txn.commit();
      break;
    } catch {
      await delay(20);
    }
  }
  const failover_write_s = (Date.now() - killedAt) / 1000;
  log(`  SIGKILL of the leader on ${victim.name}: writable again after ${failover_write_s} s`);
  await settled(nodes, timerMs); // its supervisor starts it again
  const schema = JSON.parse(await readFile("/usr/share/ovn/ovn-nb.ovsschema", "utf8")) as {
    version: string;
  };
  const [major, minor, patch] = schema.version.split(".").map(Number);
  schema.version = `${major}.${minor}.${patch! + bump}`;
  const schemaFile = join(schemaDir, `nb-${bump}.ovsschema`);
  await writeFile(schemaFile, JSON.stringify(schema));
  const lead = await leader(nodes);
  terms = watchTerms(nodes);
  load = writeLoad(client);
  const started = Date.now();
  const converted = await run(
    "ovsdb-client",
    [`--timeout=${CONVERT_LIMIT_S}`, "convert", `unix:${sock(lead)}`, schemaFile],
    { allowFailure: true, timeoutMs: (CONVERT_LIMIT_S + 10) * 1000 },
  );
  const elapsed = (Date.now() - started) / 1000;
  // null: it did not succeed (ovsdb-client's complaint is printed).
  const convert_s = converted.exitCode === 0 ? elapsed : null;
  if (convert_s === null) {
    log(
      `  ovsdb-client convert failed after ${elapsed} s: ${converted.stderr.trim().split("\n").pop()}`,
    );
  }
  await delay(5_000);
  const converting = await load.stop();
  const convertTerms = await terms.stop();
  log(
    `  convert to ${schema.version} on ${lead.name}: ${convert_s === null ? "failed" : `${convert_s} s`}, ${convertTerms} term changes, ` +
      `slowest write ${converting.slowest_s} s`,
  );

  await settled(nodes, timerMs);
  const load_after = await loadAverage();
  return {
    election_timer_ms: timerMs,
    steady_window_s: windowS,
    steady_term_changes: steadyTerms,
    steady_writes: steady.writes,
    steady_slowest_write_s: sig(steady.slowest_s, 3),
    convert_s: convert_s === null ? null : sig(convert_s, 3),
    convert_term_changes: convertTerms,
    convert_slowest_write_s: sig(converting.slowest_s, 3),
    failover_write_s: sig(failover_write_s, 3),
    load_before,
    load_after,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1]! : fallback;
  };
  const windowS = Number(option("--window", "120"));
  const timers = option("--timers", "16000,5000,2000,1000").split(",").map(Number);
  if (!args.includes("--no-build")) await run("npm", ["run", "--silent", "build"], { cwd: ROOT });
  const root = `/tmp/mbench-et-${process.pid}`;
  const schemaDir = await mkdtemp(join(tmpdir(), "et-schema-"));
  const lab = await Lab.create({ root, prefix: "bet", cli: [process.execPath, CLI] });
  const paused = new Set<number>();
  // The daemons start ovn-northd again when a leader moves: pause new ones too.
  let pausing = true;
  const pauser = (async () => {
    while (pausing) {
      for (const n of lab.nodes) {
        const pid = (await lab.pids(n.name))["ovn-northd"];
        if (pid !== undefined && !paused.has(pid) && isRunning(pid)) {
          try {
            process.kill(pid, "SIGSTOP");
            paused.add(pid);
          } catch {
            /* gone meanwhile */
          }
        }
      }
      await delay(200);
    }
  })();
  let client: OvsdbClient<OvnNorthboundDatabase> | undefined;
  try {
    for (let i = 0; i < 3; i++) await lab.grow();
    await delay(1_000); // the pauser has seen every northd
    const loadTimer = Number(option("--load-timer", `${DEFAULT_ELECTION_TIMER_MS}`));
    await lab.ok("m1", ["config", "set", "ovn.election-timer", `${loadTimer}`]);
    await settled(lab.nodes, loadTimer);
    const loading = watchTerms(lab.nodes);
    await bulkLoad(await leader(lab.nodes));
    await delay(5_000);
    const bulkTerms = await loading.stop();
    log(
      `  election timer ${loadTimer} ms: ${bulkTerms} term changes during the load (and 5 s after)`,
    );
    client = await OvsdbClient.connect<OvnNorthboundDatabase>({
      remotes: lab.nodes.map((n) => `unix:${sock(n)}`),
      database: NB,
      leaderOnly: true,
      backoff: { initialMs: 20, maxMs: 200 },
      waitForConnectionMs: 60_000,
      requestTimeoutMs: 2_000,
    });
    const rounds: Round[] = [];
    for (const [i, ms] of timers.entries()) {
      rounds.push(await round(lab, client, ms, windowS, schemaDir, i + 1));
    }
    log(
      JSON.stringify({
        rows: SWITCHES * (PORTS_PER_SWITCH + 1),
        bulk_load_timer_ms: loadTimer,
        bulk_load_term_changes: bulkTerms,
        rounds,
      }),
    );
  } finally {
    client?.close();
    pausing = false;
    await pauser;
    for (const pid of paused) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {
        /* gone */
      }
    }
    await lab.down();
    await rm(schemaDir, { recursive: true, force: true });
  }
}

await main();
