/**
 * Minimal ovsdb-server starter for benchmarks: a fresh OVN_Northbound
 * database, standalone or as a single-member Raft cluster, served on a unix
 * socket inside a scratch directory. Every process started here is recorded
 * by pid and killed by pid when this process exits, however it exits.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { run, spawnDetached } from "../../src/process/run.js";
import { rawRequest } from "./raw.js";

export const NB_SCHEMA = "/usr/share/ovn/ovn-nb.ovsschema";
export const NB_DATABASE = "OVN_Northbound";

export type ServerMode = "clustered" | "standalone";

/* ---- process and directory bookkeeping ------------------------------------ */

const livePids = new Set<number>();
const scratchDirs = new Set<string>();
let cleanupInstalled = false;

function cleanupSync(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  livePids.clear();
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
  scratchDirs.clear();
}

function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", cleanupSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      cleanupSync();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
}

/** Records a pid of ours so that it is killed if we exit before stopping it. */
export function trackPid(pid: number): void {
  installCleanup();
  livePids.add(pid);
}

export function untrackPid(pid: number): void {
  livePids.delete(pid);
}

/** A short scratch directory under /tmp (unix socket paths are limited to ~100 bytes). */
export function makeScratchDir(prefix: string): string {
  installCleanup();
  const dir = mkdtempSync(join("/tmp", `${prefix}-`));
  scratchDirs.add(dir);
  return dir;
}

export function removeScratchDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  scratchDirs.delete(dir);
}

/** Removes every scratch directory and kills every process still tracked. */
export function cleanupAll(): void {
  cleanupSync();
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the pid is gone. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      /* already gone */
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(5);
  if (isAlive(pid)) {
    signal("SIGKILL");
    while (isAlive(pid)) await sleep(5);
  }
  untrackPid(pid);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/* ---- the server ----------------------------------------------------------------- */

export interface BenchServer {
  readonly mode: ServerMode;
  readonly dir: string;
  readonly socketPath: string;
  /** "unix:/tmp/…/db.sock" */
  readonly remote: string;
  readonly dbFile: string;
  readonly pid: number;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

function env(dir: string): Record<string, string> {
  return { OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir };
}

async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (e) {
      last = e;
    }
    await sleep(5);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

/**
 * Creates a fresh OVN_Northbound database and serves it. Resolves once the
 * unix socket accepts requests and, when clustered, the lone member leads.
 */
export async function startServer(mode: ServerMode): Promise<BenchServer> {
  const dir = makeScratchDir(mode === "clustered" ? "obc" : "obs");
  await mkdir(dir, { recursive: true });
  const dbFile = join(dir, "nb.db");
  const socketPath = join(dir, "db.sock");
  if (mode === "clustered") {
    const raftPort = await freePort();
    await run("ovsdb-tool", ["create-cluster", dbFile, NB_SCHEMA, `tcp:127.0.0.1:${raftPort}`], {
      env: env(dir),
    });
  } else {
    await run("ovsdb-tool", ["create", dbFile, NB_SCHEMA], { env: env(dir) });
  }
  const child = await spawnDetached(
    "ovsdb-server",
    [
      `--remote=punix:${socketPath}`,
      `--unixctl=${join(dir, "ovsdb-server.ctl")}`,
      `--pidfile=${join(dir, "ovsdb-server.pid")}`,
      "-vconsole:off",
      `--log-file=${join(dir, "ovsdb-server.log")}`,
      dbFile,
    ],
    { logFile: join(dir, "stdio.log"), env: env(dir), cwd: dir },
  );
  trackPid(child.pid);
  const server: BenchServer = {
    mode,
    dir,
    socketPath,
    remote: `unix:${socketPath}`,
    dbFile,
    pid: child.pid,
    stop: async () => {
      await stopPid(child.pid);
      removeScratchDir(dir);
    },
  };
  try {
    await waitUntil(`ovsdb-server on ${socketPath}`, async () => {
      if (!isAlive(child.pid)) throw new Error("ovsdb-server exited");
      const reply = (await rawRequest(socketPath, "transact", [
        "_Server",
        { op: "select", table: "Database", where: [["name", "==", NB_DATABASE]] },
      ])) as [{ rows: { model: string; leader: boolean; connected: boolean }[] }];
      const row = reply[0].rows[0];
      return row !== undefined && (row.model !== "clustered" || (row.leader && row.connected));
    });
  } catch (e) {
    let log = "";
    try {
      log = readFileSync(join(dir, "ovsdb-server.log"), "utf8").split("\n").slice(-10).join("\n");
    } catch {
      /* no log */
    }
    await server.stop();
    throw new Error(`${(e as Error).message}\n${log}`, { cause: e });
  }
  return server;
}
