/**
 * Keeps a member's OVN and OVS processes running. Each runs in the
 * foreground as our child, writes its own pidfile and logs to its own file,
 * holding no pipe to us. When the daemon restarts it adopts the processes
 * that still run (pidfile, then /proc to make sure the pid is that program
 * with that pidfile) instead of starting new ones, so the data plane is not
 * interrupted; adopted processes are no longer our children and are watched
 * through /proc. A process that dies is started again after a delay that
 * doubles while it keeps dying quickly.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { mkdir, readFile, readdir, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { MicroOvnError } from "../errors.js";
import { spawnDetached } from "../process/run.js";

export interface ProcessSpec {
  /** Unique name within the member, e.g. "ovsdb-server-nb". */
  name: string;
  program: string;
  args: readonly string[];
  /** The pidfile the program writes (it must be passed in `args`, e.g. --pidfile=…). */
  pidFile: string;
  /** Standard output and error go here. */
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
}

export type ProcessPhase = "running" | "waiting-to-restart" | "stopped";

export interface ProcessStatus {
  name: string;
  phase: ProcessPhase;
  pid: number | undefined;
  /** Restarts since this daemon started managing it. */
  restarts: number;
  /** Whether the running process was found running rather than started by us. */
  adopted: boolean;
  lastExit?: { code: number | null; signal: string | null; at: Date };
  nextStartAt?: Date;
}

export interface SupervisorOptions {
  /** First restart delay. Default 100 ms. */
  initialBackoffMs?: number;
  /** Ceiling of the doubling delay. Default 30 s. */
  maxBackoffMs?: number;
  /** A run this long resets the delay. Default 10 s. */
  stableAfterMs?: number;
  /** How often adopted processes are checked in /proc. Default 200 ms. */
  pollMs?: number;
}

export interface StopOptions {
  /** How long to wait before the next, harder step. Default 5 s. */
  graceMs?: number;
  /** Asks the process to exit its own way before any signal. */
  ask?: (pid: number) => Promise<void>;
}

export interface SupervisorEvents {
  started: [status: ProcessStatus];
  exited: [status: ProcessStatus];
}

/** A process's state from /proc, or undefined when it is gone (zombies count as gone). */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X" ? undefined : state;
  } catch {
    return undefined;
  }
}

export function isRunning(pid: number): boolean {
  return procState(pid) !== undefined;
}

/** Waits until `pid` is gone or `timeoutMs` passed; true when it is gone. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** Whether `pid` runs `program` with `pidFile` among its arguments. */
function isOurProcess(pid: number, spec: ProcessSpec): boolean {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return false;
  }
  return (
    basename(argv[0] ?? "") === basename(spec.program) &&
    argv.some((a) => a.includes(spec.pidFile)) &&
    isRunning(pid)
  );
}

/** Whether `pid` runs with exactly `spec`'s arguments. */
function runsWithArgs(pid: number, spec: ProcessSpec): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(1, -1);
    return argv.length === spec.args.length && argv.every((a, i) => a === spec.args[i]);
  } catch {
    return false;
  }
}

/** Pids by pidfile name (e.g. "ovn-northd", "microovnd") of the pidfiles in `dir`. */
export async function readPidFiles(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (!file.endsWith(".pid")) continue;
    const pid = await readPid(join(dir, file));
    if (pid !== undefined) out[file.slice(0, -4)] = pid;
  }
  return out;
}

async function readPid(pidFile: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

interface Managed {
  spec: ProcessSpec;
  status: ProcessStatus;
  /** Consecutive quick deaths, for the backoff. */
  failures: number;
  startedAt: number;
  stopping: boolean;
  timer?: NodeJS.Timeout;
  poll?: NodeJS.Timeout;
  /** Settles when the current process is gone. */
  gone?: Promise<void>;
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly managed = new Map<string, Managed>();
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly stableAfterMs: number;
  private readonly pollMs: number;

  constructor(options: SupervisorOptions = {}) {
    super();
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.stableAfterMs = options.stableAfterMs ?? 10_000;
    this.pollMs = options.pollMs ?? 200;
  }

  /**
   * Runs `spec`: adopts the process its pidfile names if that is still our
   * program, otherwise starts it. Resolves once it runs.
   */
  async start(spec: ProcessSpec): Promise<ProcessStatus> {
    if (this.managed.has(spec.name)) {
      throw new MicroOvnError("PROCESS_ALREADY_MANAGED", `${spec.name} is already supervised`);
    }
    const entry: Managed = {
      spec,
      status: { name: spec.name, phase: "stopped", pid: undefined, restarts: 0, adopted: false },
      failures: 0,
      startedAt: Date.now(),
      stopping: false,
    };
    this.managed.set(spec.name, entry);
    const pid = await readPid(spec.pidFile);
    if (pid !== undefined && isOurProcess(pid, spec)) {
      this.watchAdopted(entry, pid);
    } else {
      // A stale pidfile would make the program refuse to start, or mislead us later.
      await rm(spec.pidFile, { force: true });
      try {
        await this.spawn(entry);
      } catch (e) {
        this.managed.delete(spec.name);
        throw e;
      }
    }
    return { ...entry.status };
  }

  /** Like start(), but a process already supervised under this name is left as it is. */
  async ensure(spec: ProcessSpec): Promise<ProcessStatus> {
    return this.get(spec.name) ?? this.start(spec);
  }

  /**
   * Like ensure(), but a process that runs with other arguments than
   * `spec`'s is stopped and started again with them. Returns whether it was
   * (re)started.
   */
  async replace(spec: ProcessSpec, options: StopOptions = {}): Promise<boolean> {
    const entry = this.managed.get(spec.name);
    const pid = entry?.status.pid;
    if (entry && pid !== undefined && runsWithArgs(pid, spec)) return false;
    if (entry) await this.stop(spec.name, options);
    await this.start(spec);
    return true;
  }

  /**
   * Stops one process and forgets it: `ask` first when given (a program's own
   * way to exit, e.g. `ovs-appctl exit --cleanup`), then SIGTERM, and SIGKILL
   * once `graceMs` has passed.
   */
  async stop(name: string, options: StopOptions = {}): Promise<void> {
    const entry = this.managed.get(name);
    if (!entry) return;
    const graceMs = options.graceMs ?? 5000;
    entry.stopping = true;
    clearTimeout(entry.timer);
    const pid = entry.status.pid;
    if (pid !== undefined && entry.status.phase === "running") {
      if (options.ask) {
        await options.ask(pid).catch(() => undefined);
        await Promise.race([entry.gone, new Promise((r) => setTimeout(r, graceMs))]);
      }
      // Signal only a process that is still ours: its pid may be reused once it is gone.
      if (entry.status.phase === "running" && entry.status.pid === pid) {
        signal(pid, "SIGTERM");
        const killer = setTimeout(() => signal(pid, "SIGKILL"), graceMs);
        await entry.gone;
        clearTimeout(killer);
      }
    }
    clearInterval(entry.poll);
    this.managed.delete(name);
  }

  /**
   * Stops the process named `spec.name` as stop() does and starts `spec`'s
   * program in its place (after a package upgrade: the new binary). Unlike a
   * crash this is no failure: the restart count and the backoff stay as they
   * were. `between` runs once the old process is gone, before the new one
   * starts. Resolves with the new process's status.
   */
  async restart(
    spec: ProcessSpec,
    options: StopOptions & { between?: () => Promise<void> } = {},
  ): Promise<ProcessStatus> {
    const entry = this.managed.get(spec.name);
    if (!entry) {
      throw new MicroOvnError("PROCESS_NOT_MANAGED", `${spec.name} is not supervised here`);
    }
    const { restarts } = entry.status;
    await this.stop(spec.name, options);
    await options.between?.();
    let status: ProcessStatus;
    try {
      status = await this.start(spec);
    } catch (e) {
      // The new binary could not even start (e.g. half installed): keep it
      // supervised and try again, as after a crash.
      const retry: Managed = {
        spec,
        status: { name: spec.name, phase: "stopped", pid: undefined, restarts, adopted: false },
        failures: 0,
        startedAt: Date.now(),
        stopping: false,
      };
      this.managed.set(spec.name, retry);
      this.scheduleRestart(retry);
      throw e;
    }
    const renewed = this.managed.get(spec.name);
    if (renewed) renewed.status.restarts = restarts;
    return { ...status, restarts };
  }

  /** Stops everything, in the reverse order of starting. */
  async stopAll(graceMs = 5000): Promise<void> {
    for (const name of [...this.managed.keys()].reverse()) await this.stop(name, { graceMs });
  }

  /**
   * Lets go of every process without stopping it (the daemon is exiting and
   * its successor will adopt them).
   */
  release(): void {
    for (const entry of this.managed.values()) {
      entry.stopping = true;
      clearTimeout(entry.timer);
      clearInterval(entry.poll);
    }
    this.managed.clear();
  }

  /** Sends `sig` to the running process named `name`; false when none runs. */
  signal(name: string, sig: NodeJS.Signals): boolean {
    const status = this.managed.get(name)?.status;
    if (status?.phase !== "running" || status.pid === undefined) return false;
    signal(status.pid, sig);
    return true;
  }

  status(): ProcessStatus[] {
    return [...this.managed.values()].map((e) => ({ ...e.status }));
  }

  get(name: string): ProcessStatus | undefined {
    const entry = this.managed.get(name);
    return entry ? { ...entry.status } : undefined;
  }

  private async spawn(entry: Managed): Promise<void> {
    const { spec } = entry;
    for (const dir of new Set([dirname(spec.logFile), dirname(spec.pidFile)])) {
      await mkdir(dir, { recursive: true });
    }
    const child = await spawnDetached(spec.program, spec.args, {
      logFile: spec.logFile,
      ...(spec.env ? { env: spec.env } : {}),
      ...(spec.cwd ? { cwd: spec.cwd } : {}),
    });
    // Our children must not keep a daemon that wants to exit alive.
    child.unref();
    entry.startedAt = Date.now();
    entry.status = { ...entry.status, phase: "running", pid: child.pid, adopted: false };
    delete entry.status.nextStartAt;
    entry.gone = child.exited.then(({ exitCode, signal: sig }) =>
      this.onExit(entry, child.pid, exitCode, sig),
    );
    this.emit("started", { ...entry.status });
  }

  private watchAdopted(entry: Managed, pid: number): void {
    entry.startedAt = Date.now();
    entry.status = { ...entry.status, phase: "running", pid, adopted: true };
    entry.gone = new Promise((resolve) => {
      entry.poll = setInterval(() => {
        if (isRunning(pid)) return;
        clearInterval(entry.poll);
        // Not our child: its exit status is not ours to know.
        this.onExit(entry, pid, null, null);
        resolve();
      }, this.pollMs);
      entry.poll.unref();
    });
    this.emit("started", { ...entry.status });
  }

  private onExit(entry: Managed, pid: number, code: number | null, sig: string | null): void {
    if (entry.status.pid !== pid) return;
    entry.status = {
      ...entry.status,
      phase: "stopped",
      pid: undefined,
      lastExit: { code, signal: sig, at: new Date() },
    };
    this.scheduleRestart(entry);
    // Listeners see the exit together with what happens next (nextStartAt).
    this.emit("exited", { ...entry.status });
  }

  private scheduleRestart(entry: Managed): void {
    if (entry.stopping || this.managed.get(entry.spec.name) !== entry) return;
    const ranFor = Date.now() - entry.startedAt;
    entry.failures = ranFor >= this.stableAfterMs ? 0 : entry.failures + 1;
    const delay = Math.min(
      this.maxBackoffMs,
      this.initialBackoffMs * 2 ** Math.max(0, entry.failures - 1),
    );
    entry.status = {
      ...entry.status,
      phase: "waiting-to-restart",
      nextStartAt: new Date(Date.now() + delay),
    };
    entry.timer = setTimeout(() => {
      if (entry.stopping) return;
      entry.status.restarts++;
      entry.startedAt = Date.now();
      rm(entry.spec.pidFile, { force: true })
        .then(() => this.spawn(entry))
        // Could not even start it (e.g. the program went away): try again later.
        .catch(() => this.scheduleRestart(entry));
    }, delay);
    entry.timer.unref();
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}
