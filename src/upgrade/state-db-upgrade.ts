/**
 * The held-back conversion of the cluster state database. A member with a
 * newer MicroOVN ships a newer state schema but keeps running the active
 * one (it reads and writes through the schema the server reports, never
 * its own); once every member's row reports the same newer version, one
 * voter converts the database online with `ovsdb-client convert`.
 *
 * Who converts: only the state database's Raft leader, read from its own
 * server's `cluster/status` right before. The check runs every few seconds
 * on every voter, and a voter that is not the leader does nothing. Two
 * voters can both think they lead only for the moment a term changes; should
 * both convert then, the second conversion is to the very schema the first
 * made, which keeps every row, so nothing is lost either way. A failed
 * conversion (the leader moved, the timeout passed) changes nothing and is
 * tried again with a doubling delay, by whichever voter leads then.
 */
import { stateSchemaTarget } from "../cluster/member-versions.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import { readShippedStateSchema } from "../cluster/state-schema.js";
import type { ClusterWatcher } from "../membership/watcher.js";
import { readClusterStatus } from "../ovn/raft.js";
import { run } from "../process/run.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";

/** How often members look at the versions (as often as heartbeats). */
export const UPGRADE_CHECK_INTERVAL_MS = 2_000;
/** How long one conversion may take before it is given up (and retried). */
export const STATE_CONVERT_TIMEOUT_S = 120;
const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 60_000;

export class StateDbUpgrade {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private failures = 0;
  private nextTryAt = 0;
  private lastProblem: string | undefined;

  constructor(
    private readonly rt: MemberRuntime,
    private readonly watcher: ClusterWatcher,
    private readonly log: (message: string) => void,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.check(), UPGRADE_CHECK_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at a time; a problem is logged when it first appears, not every few seconds. */
  private async check(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.look();
      this.lastProblem = undefined;
    } catch (e) {
      const problem = `state database upgrade check: ${(e as Error).message}`;
      if (problem !== this.lastProblem) this.log(problem);
      this.lastProblem = problem;
    } finally {
      this.busy = false;
    }
  }

  /** Reads the active version and, on the leader, converts when every member is ready. */
  private async look(): Promise<void> {
    const active = await this.watcher.readActiveSchema();
    const rows = this.watcher.knownMembers();
    if (active === undefined || !rows || !this.rt.isVoter()) return;
    const target = stateSchemaTarget(rows, active);
    if (target === undefined || Date.now() < this.nextTryAt) return;
    const shipped = await readShippedStateSchema();
    // Our row said so when it was written; the file may have changed since.
    if (shipped.version !== target) return;
    const stateDb = this.rt.stateDb();
    const raft = await readClusterStatus(stateDb.controlSocket, STATE_DATABASE);
    if (raft?.role !== "leader") return;
    await this.convert(stateDb.unixSocket, shipped.file, active, target);
  }

  private async convert(socket: string, file: string, from: string, to: string): Promise<void> {
    this.log(`every member ships state schema ${to}: converting the state database from ${from}`);
    try {
      await run(
        "ovsdb-client",
        [`--timeout=${STATE_CONVERT_TIMEOUT_S}`, "convert", `unix:${socket}`, file],
        { timeoutMs: (STATE_CONVERT_TIMEOUT_S + 5) * 1000 },
      );
    } catch (e) {
      this.failures++;
      const wait = Math.min(RETRY_FIRST_MS * 2 ** (this.failures - 1), RETRY_MAX_MS);
      this.nextTryAt = Date.now() + wait;
      this.log(
        `converting the state database to ${to} failed (${(e as Error).message}); ` +
          `trying again in ${Math.round(wait / 1000)} s`,
      );
      return;
    }
    this.failures = 0;
    this.nextTryAt = 0;
    this.log(`the state database runs schema ${to}`);
    // The watcher follows the new schema at the next look (readActiveSchema).
  }
}
