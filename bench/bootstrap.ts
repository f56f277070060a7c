/**
 * Bootstrap benchmark (`npm run bench:bootstrap [-- --runs N] [--no-build]`):
 * how long `microovn cluster bootstrap` takes until the new member is really
 * usable, against a hand-written floor, plus microovnd's idle memory.
 *
 * The finish line (bench/lib/ready-check.sh, the same for everyone): NB and
 * SB accept writes over TLS, the chassis is registered in SB, and
 * `ovn-nbctl --wait=hv sync` passes.
 *
 * - floor: bench/floor-bootstrap.sh, openssl and OVN's own tools, timed from
 *   start to exit (certificate generation included);
 * - warm: microovnd already running, timed from `microovn cluster bootstrap`
 *   (a fresh node process, as a user runs it) to the finish line;
 * - cold: no daemon yet; the CLI starts it;
 * - idle RSS: microovnd's VmRSS 3 s after a warm bootstrap, and 3 s after it was
 *   restarted over the running member.
 *
 * Each run gets a fresh network namespace (loopback only) and a fresh state
 * dir; runs are interleaved (floor, warm, cold, floor, …) so that drift on
 * the machine hits every variant alike. Progress goes to stdout; the last
 * line is one JSON object with every figure.
 */
import { mkdir, readFile } from "node:fs/promises";
import os from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { ControlClient } from "../src/cli/control-client.js";
import { StateDir } from "../src/member/state-dir.js";
import { inNamespace } from "../src/lab/netns.js";
import { run, spawnDetached } from "../src/process/run.js";
import { Sandbox, closeAllSandboxes } from "./lib/sandbox.js";
import { isRunning } from "../src/supervisor/supervisor.js";
import { log, median, sig } from "./lib/stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const DAEMON = join(ROOT, "dist", "daemon", "main.js");
const FLOOR = join(ROOT, "bench", "floor-bootstrap.sh");
const READY_CHECK = join(ROOT, "bench", "lib", "ready-check.sh");

const MEMBER = "bench";
const ADDRESS = "127.0.0.1";
const IDLE_WAIT_MS = 3000;
const RUN_TIMEOUT_MS = 60_000;

const TARGETS = { warm_s: 1, cold_s: 2, idle_rss_mb: 80 };

type Variant = "floor" | "warm" | "cold";

interface RunResult {
  /** Start to finish line, seconds. */
  total_s: number;
  /** Seconds from the start to each mark (stage done). */
  phases: Record<string, number>;
  /** microovnd's VmRSS after idling (warm runs only). */
  idle_rss_mb?: number;
  /** The same after the daemon was restarted over the running member. */
  restarted_idle_rss_mb?: number;
  /** How long microovnd took to answer when started before the bootstrap (warm runs only). */
  daemon_start_s?: number;
  /** `microovn --help` in the namespace: node start-up and loading the CLI (warm runs only). */
  cli_alone_s?: number;
}

/* ---- arguments ---------------------------------------------------------------------- */

function parseArgs(argv: readonly string[]): { runs: number; build: boolean } {
  let runs = 5;
  let build = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let value: string | undefined;
    if (a === "--runs") value = argv[++i];
    else if (a.startsWith("--runs=")) value = a.slice("--runs=".length);
    else if (a === "--no-build") {
      build = false;
      continue;
    } else throw new Error(`unknown argument ${a}; usage: bootstrap.ts [--runs N] [--no-build]`);
    runs = Number(value);
    if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer`);
  }
  return { runs, build };
}

/* ---- helpers ------------------------------------------------------------------------ */

/** Wall-clock milliseconds since the epoch, sub-millisecond (comparable with bash's $EPOCHREALTIME). */
function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** `mark NAME EPOCH_SECONDS` lines → seconds since `startMs`. */
function parseMarks(stdout: string, startMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stdout.split("\n")) {
    const m = /^mark (\S+) (\d+\.\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = (Number(m[2]) * 1000 - startMs) / 1000;
  }
  return out;
}

/** Runs `program args` inside the sandbox's namespace, throwing with its output on failure. */
async function inSandbox(sb: Sandbox, program: string, args: readonly string[]) {
  const cmd = inNamespace(sb.namespace, program, args);
  const r = await run(cmd.program, cmd.args, { timeoutMs: RUN_TIMEOUT_MS, allowFailure: true });
  if (r.exitCode !== 0) {
    throw new Error(
      `${[program, ...args].join(" ")} exited ${r.exitCode ?? r.signal}:\n${r.stderr}${r.stdout}`,
    );
  }
  return r;
}

function microovn(sb: Sandbox, args: readonly string[]) {
  return inSandbox(sb, process.execPath, [CLI, "--state-dir", sb.dir, ...args]);
}

/** The finish line, run inside the namespace with MicroOVN's client certificate. */
function readyCheckOurs(sb: Sandbox) {
  const pki = sb.path("data", "pki");
  return inSandbox(sb, "bash", [
    READY_CHECK,
    join(pki, "client-privkey.pem"),
    join(pki, "client-cert.pem"),
    join(pki, "cacert.pem"),
    MEMBER,
  ]);
}

/**
 * When microovnd started each OVN program, from its log lines
 * `<ISO time> <program> started (pid N)` (millisecond resolution), as
 * `started:<program>` seconds since `startMs`. Lines it does not recognise
 * are skipped.
 */
async function daemonMarks(sb: Sandbox, startMs: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const text = await readFile(new StateDir(sb.dir).log("microovnd"), "utf8").catch(() => "");
  for (const line of text.split("\n")) {
    const m = /^(\d{4}-\d\d-\d\dT\S+Z) (\S+) started \(pid \d+\)/.exec(line);
    const at = m ? Date.parse(m[1]!) : NaN;
    if (m && Number.isFinite(at) && at >= startMs - 1) {
      out[`started:${m[2]!}`] ??= (at - startMs) / 1000;
    }
  }
  return out;
}

async function vmRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** Starts microovnd inside the namespace (as the CLI would) and waits until it answers. */
async function startDaemon(sb: Sandbox): Promise<number> {
  const state = new StateDir(sb.dir);
  await mkdir(state.logDir, { recursive: true });
  const started = epochMs();
  const cmd = inNamespace(sb.namespace, process.execPath, [DAEMON, "--state-dir", sb.dir]);
  const child = await spawnDetached(cmd.program, cmd.args, { logFile: state.log("microovnd") });
  child.unref();
  let exited = false;
  void child.exited.then(() => (exited = true));
  const client = new ControlClient(state);
  const deadline = Date.now() + 15_000;
  while (!(await client.isUp())) {
    if (exited) throw new Error(`microovnd exited at start; see ${state.log("microovnd")}`);
    if (Date.now() > deadline) throw new Error(`microovnd did not answer within 15 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return (epochMs() - started) / 1000;
}

/* ---- the variants ------------------------------------------------------------------- */

async function runFloor(): Promise<RunResult> {
  const sb = await Sandbox.create("f");
  try {
    const start = epochMs();
    const r = await inSandbox(sb, "bash", [FLOOR, sb.dir]);
    const total_s = (epochMs() - start) / 1000;
    return { total_s, phases: parseMarks(r.stdout, start) };
  } finally {
    await sb.close();
  }
}

async function runOurs(variant: "warm" | "cold"): Promise<RunResult> {
  const sb = await Sandbox.create(variant === "warm" ? "w" : "c");
  try {
    const daemon_start_s = variant === "warm" ? await startDaemon(sb) : undefined;
    const start = epochMs();
    await microovn(sb, ["cluster", "bootstrap", "--name", MEMBER, "--address", ADDRESS]);
    const bootstrap_command = (epochMs() - start) / 1000;
    const r = await readyCheckOurs(sb);
    const total_s = (epochMs() - start) / 1000;
    const phases: Record<string, number> = {
      ...(await daemonMarks(sb, start)),
      bootstrap_command,
      ...parseMarks(r.stdout, start),
    };
    const result: RunResult = { total_s, phases };
    if (daemon_start_s !== undefined) result.daemon_start_s = daemon_start_s;
    if (variant === "warm") {
      // What one CLI call costs on its own: node start-up plus loading the CLI.
      const cliStart = epochMs();
      await microovn(sb, ["--help"]);
      result.cli_alone_s = (epochMs() - cliStart) / 1000;
      await new Promise((r) => setTimeout(r, IDLE_WAIT_MS));
      const pid = (await sb.pidfilePids()).get("microovnd");
      if (pid === undefined) throw new Error(`no ${sb.path("run", "microovnd.pid")}`);
      result.idle_rss_mb = await vmRssMb(pid);
      // A daemon that starts over a running member (reboot, upgrade) never loads the X.509 library.
      process.kill(pid, "SIGTERM");
      while (isRunning(pid)) await new Promise((r) => setTimeout(r, 5));
      await microovn(sb, ["waitready", "--timeout", "30"]);
      await new Promise((r) => setTimeout(r, IDLE_WAIT_MS));
      const again = (await sb.pidfilePids()).get("microovnd");
      if (again === undefined) throw new Error(`no ${sb.path("run", "microovnd.pid")}`);
      result.restarted_idle_rss_mb = await vmRssMb(again);
    }
    return result;
  } finally {
    await sb.close(CLI);
  }
}

/* ---- reporting ---------------------------------------------------------------------- */

function describeRun(variant: Variant, i: number, r: RunResult): string {
  const phases = Object.entries(r.phases)
    .sort((a, b) => a[1] - b[1])
    .map(([name, s]) => `${name} ${s.toFixed(3)}`)
    .join(", ");
  const extra = [
    r.daemon_start_s === undefined
      ? ""
      : `; daemon started before in ${r.daemon_start_s.toFixed(3)}`,
    r.cli_alone_s === undefined ? "" : `; \`microovn --help\` ${r.cli_alone_s.toFixed(3)}`,
    r.idle_rss_mb === undefined ? "" : `; idle RSS ${r.idle_rss_mb.toFixed(1)} MB`,
  ].join("");
  return `${variant.padEnd(5)} run ${i + 1}: ${r.total_s.toFixed(3)} s  (${phases})${extra}`;
}

/** Median of every phase over the runs (phases missing from a run are skipped). */
function medianPhases(results: readonly RunResult[]): Record<string, number> {
  const names = new Set(results.flatMap((r) => Object.keys(r.phases)));
  const out: Record<string, number> = {};
  for (const name of names) {
    const values = results.map((r) => r.phases[name]).filter((v) => v !== undefined);
    out[name] = sig(median(values), 3);
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => a[1] - b[1]));
}

async function versions(): Promise<string> {
  const first = async (program: string, args: string[]) =>
    (await run(program, args, { allowFailure: true })).stdout.split("\n")[0] ?? "";
  return [
    await first("ovn-nbctl", ["--version"]),
    await first("ovs-vswitchd", ["--version"]),
    await first("openssl", ["version"]),
  ].join("; ");
}

/* ---- main --------------------------------------------------------------------------- */

async function main(): Promise<void> {
  const { runs, build } = parseArgs(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error("the bootstrap benchmark needs root (ip netns)");
  if (build) {
    log("building dist/ (tsc -p tsconfig.build.json) …");
    await run(join(ROOT, "node_modules", ".bin", "tsc"), ["-p", "tsconfig.build.json"], {
      cwd: ROOT,
      timeoutMs: 300_000,
    });
  }
  log(
    `machine: ${os.availableParallelism()} CPUs, Node ${process.version}, ${await versions()}; ` +
      `load average ${os.loadavg()[0]!.toFixed(2)}`,
  );
  log(`${runs} runs of each variant, interleaved; times in seconds from the start\n`);

  const results: Record<Variant, RunResult[]> = { floor: [], warm: [], cold: [] };
  for (let i = 0; i < runs; i++) {
    for (const variant of ["floor", "warm", "cold"] as const) {
      const r = variant === "floor" ? await runFloor() : await runOurs(variant);
      results[variant].push(r);
      log(describeRun(variant, i, r));
    }
  }

  const med = (v: Variant) => median(results[v].map((r) => r.total_s));
  const min = (v: Variant) => Math.min(...results[v].map((r) => r.total_s));
  const floor_s = med("floor");
  const warm_s = med("warm");
  const cold_s = med("cold");
  const idle_rss_mb = median(results.warm.map((r) => r.idle_rss_mb ?? NaN));
  const restarted_idle_rss_mb = median(results.warm.map((r) => r.restarted_idle_rss_mb ?? NaN));
  const targets = {
    warm_under_1s: warm_s < TARGETS.warm_s,
    cold_under_2s: cold_s < TARGETS.cold_s,
    idle_rss_under_80mb: idle_rss_mb < TARGETS.idle_rss_mb,
  };
  const phases = {
    floor: medianPhases(results.floor),
    warm: medianPhases(results.warm),
    cold: medianPhases(results.cold),
  };

  log("");
  for (const v of ["floor", "warm", "cold"] as const) {
    const ratio = v === "floor" ? "" : `, ${(med(v) / floor_s).toFixed(2)}× the floor`;
    log(`${v.padEnd(5)}: median ${med(v).toFixed(3)} s, min ${min(v).toFixed(3)} s${ratio}`);
    log(
      `       stages (median): ${Object.entries(phases[v])
        .map(([k, s]) => `${k} ${s}`)
        .join(", ")}`,
    );
  }
  const daemon_start_s = median(results.warm.map((r) => r.daemon_start_s ?? NaN));
  log(`microovnd start-up alone (warm runs, before timing): median ${daemon_start_s.toFixed(3)} s`);
  const cli_alone_s = median(results.warm.map((r) => r.cli_alone_s ?? NaN));
  log(
    `one CLI call alone (\`microovn --help\` in the namespace): median ${cli_alone_s.toFixed(3)} s`,
  );
  log(
    `microovnd idle RSS: median ${idle_rss_mb.toFixed(1)} MB after the bootstrap, ` +
      `${restarted_idle_rss_mb.toFixed(1)} MB once restarted over the running member`,
  );
  log(
    `targets: warm < ${TARGETS.warm_s} s ${targets.warm_under_1s ? "met" : "NOT met"}; ` +
      `cold < ${TARGETS.cold_s} s ${targets.cold_under_2s ? "met" : "NOT met"}; ` +
      `idle RSS < ${TARGETS.idle_rss_mb} MB ${targets.idle_rss_under_80mb ? "met" : "NOT met"}`,
  );

  log(
    JSON.stringify({
      bench: "bootstrap",
      runs,
      floor_s: sig(floor_s, 3),
      warm_s: sig(warm_s, 3),
      cold_s: sig(cold_s, 3),
      warm_ratio_to_floor: sig(warm_s / floor_s, 3),
      cold_ratio_to_floor: sig(cold_s / floor_s, 3),
      idle_rss_mb: sig(idle_rss_mb, 3),
      restarted_idle_rss_mb: sig(restarted_idle_rss_mb, 3),
      targets,
      min_s: { floor: sig(min("floor"), 3), warm: sig(min("warm"), 3), cold: sig(min("cold"), 3) },
      phases_s: phases,
      daemon_start_s: sig(daemon_start_s, 3),
      cli_alone_s: sig(cli_alone_s, 3),
    }),
  );
}

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping what this benchmark started …\n`);
    void closeAllSandboxes(CLI).finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (e) {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
} finally {
  await closeAllSandboxes(CLI);
}
