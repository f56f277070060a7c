/**
 * Keeping the Raft election timer of NB, SB and the cluster state database
 * at `ovn.election-timer` (or our default): only a cluster's leader can
 * change it (src/ovn/election-timer.ts), so every central member's daemon
 * looks at its own servers and, for each one that leads, brings the timer
 * to the configured value. Whichever member leads when the setting changes
 * applies it; a leader elected later finds it done (the value is in the
 * Raft log) or, if the change was cut short, finishes it. This needs no
 * call between members and works for clusters created later (a recovery's
 * new cluster, a state database on a new voter) without anyone asking.
 */
import { ELECTION_TIMER, parseElectionTimer } from "../cluster/config-keys.js";
import {
  DEFAULT_ELECTION_TIMER_MS,
  changeElectionTimer,
  electionTimerHeld,
  type RaftServer,
} from "../ovn/election-timer.js";
import { readClusterStatus } from "../ovn/raft.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";

/** How often a member looks whether one of its servers leads with another timer. */
export const ELECTION_TIMER_CHECK_MS = 5_000;

/** The election timer the cluster's settings ask for. */
export function configuredElectionTimer(rt: MemberRuntime): number {
  const value = rt.layout.config?.[ELECTION_TIMER];
  if (value === undefined) return DEFAULT_ELECTION_TIMER_MS;
  try {
    return parseElectionTimer(value);
  } catch {
    return DEFAULT_ELECTION_TIMER_MS; // `config set` refuses such a value: never stored by us
  }
}

/** This member's clustered servers that run now. */
function localServers(rt: MemberRuntime): RaftServer[] {
  const servers: RaftServer[] = [];
  if (rt.config?.services.includes("central")) {
    const central = rt.central();
    for (const db of ["nb", "sb"] as const) {
      if (rt.supervisor.get(`ovsdb-server-${db}`)) {
        servers.push({
          controlSocket: central.controlSocket(db),
          database: central.databaseName(db),
        });
      }
    }
  }
  if (rt.isVoter() && rt.supervisor.get("ovsdb-server-state")) {
    servers.push({ controlSocket: rt.stateDb().controlSocket, database: STATE_DATABASE });
  }
  return servers;
}

/**
 * Brings every cluster whose leader is on this member to the configured
 * election timer; returns what it changed, e.g. "OVN_Northbound 1000 → 2000
 * → 4000 ms".
 */
export async function applyElectionTimer(rt: MemberRuntime): Promise<string[]> {
  if (!rt.config) return [];
  const target = configuredElectionTimer(rt);
  const done: string[] = [];
  for (const server of localServers(rt)) {
    if (electionTimerHeld(server.controlSocket)) continue; // raised around a conversion
    const status = await readClusterStatus(server.controlSocket, server.database);
    if (status?.role !== "leader" || status.electionTimerMs === target) continue;
    const steps = await changeElectionTimer(server, target);
    if (steps.length > 0) {
      done.push(`${server.database} ${[status.electionTimerMs, ...steps].join(" → ")} ms`);
    }
  }
  return done;
}

/** Runs `applyElectionTimer` now and then, and at once when asked (a setting changed). */
export class ElectionTimerKeeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly rt: MemberRuntime,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.check(), ELECTION_TIMER_CHECK_MS);
    this.check();
  }

  /** Looks now (or right after the check under way). */
  check(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = applyElectionTimer(this.rt)
      .then((done) => {
        if (done.length > 0) this.log(`election timer: ${done.join("; ")}`);
      })
      .catch((e: Error) => this.log(`could not change the election timer: ${e.message}`))
      .finally(() => {
        this.running = undefined;
        if (this.again && this.timer) {
          this.again = false;
          this.check();
        }
      });
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.again = false;
  }
}
