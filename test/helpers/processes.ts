/**
 * Bookkeeping of the programs tests and benchmarks start: every pid is
 * recorded, and whatever still runs when this process exits (normally or on
 * SIGINT, SIGTERM or SIGHUP) is killed by pid, so a failed run leaves
 * nothing behind. Programs are never stopped by name.
 */
import { readFileSync } from "node:fs";

/** Pids of processes we started that have not been seen to exit. */
const livePids = new Set<number>();
let cleanupInstalled = false;

function killAllSync(): void {
  for (const pid of livePids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
  }
  livePids.clear();
}

/**
 * Kills our processes when this process exits. For signals the handler runs
 * once; if nobody else listens for the signal it is raised again so the
 * process still dies of it as it would have without us.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", killAllSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      killAllSync();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

/**
 * Whether the process still exists. A zombie counts as gone: it has already
 * closed its sockets and files, and only waits for its parent to reap it
 * (which, for a server orphaned by an earlier test process, may be slow).
 */
export function isAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return false;
  }
  // The state follows the command name, which is in parentheses and may contain anything.
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** Sends a signal, ignoring a process that no longer exists. */
export function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/** Records a pid of ours, to be killed if we exit before it does. */
export function trackPid(pid: number): void {
  installCleanup();
  livePids.add(pid);
}

/** Forgets a pid once its process is gone. */
export function untrackPid(pid: number): void {
  livePids.delete(pid);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  signalPid(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) signalPid(pid, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  untrackPid(pid);
}
