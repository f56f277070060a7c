/**
 * Metrics benchmark (`npm run bench:metrics [-- --ports N] [--no-build]`):
 * what one /metrics scrape costs on a member whose NB holds 10,000 logical
 * switch ports (100 switches of 100, bound to nothing), and what serving
 * metrics costs the daemon while Prometheus scrapes it.
 *
 * - cold: the first scrape after microovnd started, which waits for the
 *   first refresh (every program asked once); 5 daemon restarts;
 * - cached: 200 scrapes back to back, served from the last refresh
 *   (a refresh at most every 5 s in the background meanwhile);
 *   microovnd's CPU time over them, per scrape;
 * - not scraped, for 60 s: microovnd's CPU share (its heartbeats and
 *   watches, no metrics work: nothing refreshes while nobody scrapes);
 * - scraped every 15 s (Prometheus' default interval) for 60 s: microovnd's
 *   CPU share, its refreshes (one ahead of each scrape) included, and its RSS.
 *
 * One member in its own namespace (loopback only) and temp dir, removed at
 * the end. Progress goes to stdout; the last line is one JSON object.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { createNamespace, deleteNamespace, runIn } from "../src/lab/netns.js";
import { StateDir } from "../src/member/state-dir.js";
import { OvsdbClient } from "../src/ovsdb/index.js";
import { run } from "../src/process/run.js";
import { isRunning, readPidFiles } from "../src/supervisor/supervisor.js";
import { log, median, percentile, sig } from "./lib/stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const LOOP = join(ROOT, "bench", "lib", "scrape-loop.mjs");
const URL_ = "http://127.0.0.1:9310/metrics";
const TARGETS = { cached_p50_ms: 50, idle_cpu_percent: 1, rss_mb: 100 };

const argv = process.argv.slice(2);
const PORTS = argv.includes("--ports") ? Number(argv[argv.indexOf("--ports") + 1]) : 10_000;
const PER_SWITCH = 100;
/** Clock ticks per second in /proc/PID/stat (USER_HZ, 100 on Linux). */
const TICKS = 100;

async function cli(ns: string, dir: string, args: string[]): Promise<string> {
  return (
    await runIn(ns, process.execPath, [CLI, "--state-dir", dir, ...args], { timeoutMs: 120_000 })
  ).stdout;
}

/** microovnd's CPU time so far (user + system), in ms. */
async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

async function scrapes(
  ns: string,
  n: number,
  pauseMs: number,
): Promise<{ times: number[]; bytes: number }> {
  const r = await runIn(ns, process.execPath, [LOOP, URL_, String(n), String(pauseMs)], {
    timeoutMs: 600_000,
  });
  return JSON.parse(r.stdout) as { times: number[]; bytes: number };
}

async function addPorts(state: StateDir, ports: number): Promise<void> {
  const client = await OvsdbClient.connect({
    remotes: `unix:${state.socket("ovnnb_db.sock")}`,
    leaderOnly: false,
  });
  try {
    const ops: unknown[] = [];
    for (let s = 0; s < ports / PER_SWITCH; s++) {
      const names: unknown[] = [];
      for (let p = s * PER_SWITCH; p < (s + 1) * PER_SWITCH; p++) {
        const mac = `0a:00:00:${((p >> 16) & 255).toString(16).padStart(2, "0")}:${((p >> 8) & 255).toString(16).padStart(2, "0")}:${(p & 255).toString(16).padStart(2, "0")}`;
        ops.push({
          op: "insert",
          table: "Logical_Switch_Port",
          row: {
            name: `p${p}`,
            addresses: `${mac} 10.${p >> 16}.${(p >> 8) & 255}.${p & 255 || 1}`,
          },
          "uuid-name": `p${p}`,
        });
        names.push(["named-uuid", `p${p}`]);
      }
      ops.push({
        op: "insert",
        table: "Logical_Switch",
        row: { name: `sw${s}`, ports: ["set", names] },
      });
    }
    await client.transact("OVN_Northbound", ops as never, { timeoutMs: 120_000 });
  } finally {
    client.close();
  }
}

async function daemonPid(state: StateDir): Promise<number> {
  const pid =
    (await readPidFiles(state.runDir)).microovnd ??
    Number((await readFile(state.daemonPidFile, "utf8")).trim());
  if (!isRunning(pid)) throw new Error("microovnd is not running");
  return pid;
}

async function main(): Promise<void> {
  if (!argv.includes("--no-build")) await run("npm", ["run", "--silent", "build"], { cwd: ROOT });
  const ns = `bmet${process.pid % 100000}`;
  const dir = await mkdtemp("/tmp/bmet-");
  const state = new StateDir(dir);
  await createNamespace(ns);
  try {
    await cli(ns, dir, ["cluster", "bootstrap", "--name", "bench", "--address", "127.0.0.1"]);
    log(`adding ${PORTS} logical switch ports`);
    await addPorts(state, PORTS);
    await cli(ns, dir, ["ovn-nbctl", "--timeout=300", "--wait=hv", "sync"]);
    log("northd and ovn-controller are done with them");
    const idlePid = await daemonPid(state);
    const idleStart = await cpuMs(idlePid);
    const idleStarted = Date.now();
    await delay(60_000);
    const idleCpuPercent =
      (((await cpuMs(idlePid)) - idleStart) / (Date.now() - idleStarted)) * 100;
    log(`not scraped: ${sig(idleCpuPercent, 3)} % CPU`);

    const cold: number[] = [];
    for (let i = 0; i < 5; i++) {
      const pid = await daemonPid(state);
      process.kill(pid, "SIGTERM");
      while (isRunning(pid)) await delay(50);
      await cli(ns, dir, ["waitready", "--timeout", "60"]);
      const first = await scrapes(ns, 1, 0);
      cold.push(first.times[0]!);
      log(`cold scrape ${i + 1}: ${sig(first.times[0]!)} ms (${first.bytes} bytes)`);
    }

    const pid = await daemonPid(state);
    await scrapes(ns, 1, 0);
    const cpuBefore = await cpuMs(pid);
    const cached = await scrapes(ns, 200, 0);
    const cachedCpuMs = (await cpuMs(pid)) - cpuBefore;
    log(`cached: p50 ${sig(median(cached.times))} ms, p95 ${sig(percentile(cached.times, 95))} ms`);

    // Scraped as Prometheus would, every 15 s, for a minute.
    const windowStart = await cpuMs(pid);
    const started = Date.now();
    await scrapes(ns, 4, 15_000);
    const windowCpu = (await cpuMs(pid)) - windowStart;
    const scrapedCpuPercent = (windowCpu / (Date.now() - started)) * 100;
    const result = {
      ports: PORTS,
      bytes: cached.bytes,
      cold_p50_ms: sig(median(cold)),
      cold_max_ms: sig(Math.max(...cold)),
      cached_p50_ms: sig(median(cached.times)),
      cached_p95_ms: sig(percentile(cached.times, 95)),
      cached_cpu_ms_per_scrape: sig(cachedCpuMs / cached.times.length),
      not_scraped_cpu_percent: sig(idleCpuPercent, 3),
      scraped_every_15s_cpu_percent: sig(scrapedCpuPercent, 3),
      rss_mb: sig(await rssMb(pid), 3),
      targets: TARGETS,
    };
    log(JSON.stringify(result));
  } finally {
    await cli(ns, dir, ["shutdown"]).catch(() => undefined);
    for (const p of Object.values(await readPidFiles(state.runDir))) {
      if (isRunning(p)) process.kill(p, "SIGKILL");
    }
    await deleteNamespace(ns);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
