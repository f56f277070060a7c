/**
 * The Raft election timer of a clustered ovsdb-server (NB, SB, the cluster
 * state database): how long a follower waits without hearing from the
 * leader before it calls an election. Short means a dead leader is replaced
 * soon; too short means a leader busy with a large transaction (a schema
 * conversion, a bulk load) misses its heartbeats and is voted out for
 * nothing. The figures behind our default are in docs/benchmarks.md.
 *
 * What ovsdb-server 3.1 does with `cluster/change-election-timer DB MS`
 * (measured): only the leader takes it ("election timer must be changed
 * through leader." on a follower, exit status 2); an increase may at most
 * double the current value ("election timer increase should not exceed the
 * current value x 2."), a decrease may go down any distance in one step;
 * the value must lie within 100–600000 ms; it answers "change of election
 * timer initiated." and the new value goes through the Raft log, so every
 * server, later leaders and servers that join later, have it.
 *
 * - `electionTimerSteps(current, target)`: the values to set one after the
 *   other (pure).
 * - `changeElectionTimer(server, ms)`: brings the cluster there, step by
 *   step, through `server`, which must be the leader.
 * - `withElectionTimer(server, raisedMs, fn)`: for a long job that keeps
 *   the leader busy (`ovsdb-client convert` of a large database): raises
 *   the timer (never lowers it) through `server`, runs `fn`, and puts the
 *   timer back to what it was, also when `fn` throws. `server` must be the
 *   leader: call it on the member whose server leads the database (it
 *   throws NOT_RAFT_LEADER, before running `fn`, anywhere else). While it
 *   runs, this process's reconciler (lifecycle/election-timer.ts) leaves
 *   the timer alone; if leadership moves during `fn`, the new leader's
 *   member puts the configured value back.
 */
import { setTimeout as delay } from "node:timers/promises";
import { MicroOvnError } from "../errors.js";
import { run } from "../process/run.js";
import { readClusterStatus } from "./raft.js";

/** A clustered database's server, reached through its control socket. */
export interface RaftServer {
  /** Absolute path of the server's control socket (`--unixctl`). */
  controlSocket: string;
  /** The database's name, e.g. "OVN_Northbound". */
  database: string;
}

/** `ovn.election-timer`'s range, in ms. */
export const MIN_ELECTION_TIMER_MS = 1000;
export const MAX_ELECTION_TIMER_MS = 60_000;

/**
 * The election timer of clusters we create, unless `ovn.election-timer`
 * says otherwise. OVN's own default is 1000 ms; the measurements in
 * docs/benchmarks.md ("Election timer") are why ours is longer.
 */
export const DEFAULT_ELECTION_TIMER_MS = 2000;

/**
 * What to raise the timer to around a schema conversion (withElectionTimer):
 * converting a 100,000-row NB kept its leader from answering for about 15 s
 * on a loaded 2-core machine, and every timer below that saw elections
 * during it, which made the conversion fail (docs/benchmarks.md).
 */
export const CONVERSION_ELECTION_TIMER_MS = 32_000;

/** How long one step may take to show in `cluster/status`. */
const STEP_TIMEOUT_MS = 10_000;

/**
 * The values to set, in order, to go from `currentMs` to `targetMs`:
 * doubling on the way up (the last step lands on the target), one step
 * down; none when they are equal.
 */
export function electionTimerSteps(currentMs: number, targetMs: number): number[] {
  if (!(currentMs > 0) || !(targetMs > 0)) {
    throw new RangeError(`election timers must be positive (${currentMs} → ${targetMs})`);
  }
  if (targetMs <= currentMs) return targetMs === currentMs ? [] : [targetMs];
  const steps: number[] = [];
  for (let value = currentMs; value < targetMs;) {
    value = Math.min(value * 2, targetMs);
    steps.push(value);
  }
  return steps;
}

async function currentTimer(server: RaftServer): Promise<{ leader: boolean; ms: number }> {
  const status = await readClusterStatus(server.controlSocket, server.database);
  if (!status || !(status.electionTimerMs !== undefined && status.electionTimerMs > 0)) {
    throw new MicroOvnError(
      "RAFT_STATUS_UNAVAILABLE",
      `the ${server.database} server at ${server.controlSocket} does not answer cluster/status; ` +
        "check that it runs (`microovn status`)",
    );
  }
  return { leader: status.role === "leader", ms: status.electionTimerMs };
}

function notLeader(server: RaftServer): MicroOvnError {
  return new MicroOvnError(
    "NOT_RAFT_LEADER",
    `the ${server.database} server at ${server.controlSocket} is not its cluster's leader, and ` +
      "only the leader changes the election timer; do it on the member whose server leads " +
      "(`microovn ovn-appctl -t ... cluster/status` shows Role: leader)",
  );
}

/** Sets one step and waits until this server's `cluster/status` shows it. */
async function setStep(server: RaftServer, ms: number): Promise<void> {
  const result = await run(
    "ovs-appctl",
    [
      "-T",
      "5",
      "-t",
      server.controlSocket,
      "cluster/change-election-timer",
      server.database,
      `${ms}`,
    ],
    { allowFailure: true, timeoutMs: 7_000 },
  );
  if (result.exitCode !== 0) {
    const said = (result.stderr.split("\n")[0] ?? "").trim() || result.stdout.trim();
    if (/through leader/.test(said)) throw notLeader(server);
    throw new MicroOvnError(
      "ELECTION_TIMER_REFUSED",
      `${server.database} refused election timer ${ms} ms: ${said}`,
    );
  }
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const now = await currentTimer(server).catch(() => undefined);
    if (now?.ms === ms) return;
    if (Date.now() > deadline) {
      throw new MicroOvnError(
        "ELECTION_TIMER_TIMEOUT",
        `${server.database}'s election timer did not become ${ms} ms within ` +
          `${STEP_TIMEOUT_MS / 1000} s (it is ${now?.ms ?? "unknown"}); a majority of its ` +
          "servers may be out of reach (`microovn status`)",
      );
    }
    await delay(50);
  }
}

/**
 * Brings the election timer of `server`'s cluster to `targetMs` in the
 * steps OVN accepts; `server` must be the leader. Returns the steps set
 * (empty when it already was there).
 */
export async function changeElectionTimer(server: RaftServer, targetMs: number): Promise<number[]> {
  const now = await currentTimer(server);
  if (!now.leader) throw notLeader(server);
  const steps = electionTimerSteps(now.ms, targetMs);
  for (const step of steps) await setStep(server, step);
  return steps;
}

/** Control sockets whose timer a `withElectionTimer` holds raised right now. */
const raised = new Set<string>();

/** Whether a `withElectionTimer` in this process holds the timer behind `controlSocket`. */
export function electionTimerHeld(controlSocket: string): boolean {
  return raised.has(controlSocket);
}

/**
 * Runs `fn` with the election timer of `server`'s cluster at least
 * `raisedMs`, then puts back the value it had. See the top of this file.
 */
export async function withElectionTimer<T>(
  server: RaftServer,
  raisedMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  if (raised.has(server.controlSocket)) return fn();
  const before = await currentTimer(server);
  if (!before.leader) throw notLeader(server);
  raised.add(server.controlSocket);
  try {
    if (raisedMs > before.ms) await changeElectionTimer(server, raisedMs);
    return await fn();
  } finally {
    try {
      await changeElectionTimer(server, before.ms);
    } catch {
      // Leadership moved during fn: the new leader's member puts the
      // configured value back (lifecycle/election-timer.ts).
    }
    raised.delete(server.controlSocket);
  }
}
