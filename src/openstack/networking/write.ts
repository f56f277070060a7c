/**
 * Every change the API makes goes to NB in one transaction (shared with
 * the changes that arrive with it: see writeNb), built from the replica
 * as it is and guarded with `wait` where another API server could race
 * (addresses, MACs, VLAN ids, the revision of the row being changed). When
 * a guard fails, the other server won: the replica catches up, the change
 * is built again from what it now shows, and sent again — a few times,
 * after a short random pause so that two losers do not collide again.
 *
 * A read after the answer sees the write: the replica shares the writing
 * connection, and ovsdb-server sends a commit's update before its reply.
 */
import { OvsdbError, TransactionError } from "../../ovsdb/index.js";
import type { Transaction, WritableRow } from "../../ovsdb/index.js";
import type { OvnNorthboundDatabase } from "../../ovsdb/models/ovn-northbound.js";
import type { NbClient } from "../backend.js";
import { ApiError } from "../errors.js";

export type NbTransaction = Transaction<OvnNorthboundDatabase>;

export const WRITE_ATTEMPTS = 8;

/** Whether the server refused the transaction because another writer changed what it relied on. */
export function isConflict(e: unknown): boolean {
  if (!(e instanceof TransactionError)) return false;
  return e.operation === "wait" || e.serverError === "constraint violation";
}

function pause(attempt: number): Promise<void> {
  const ms = Math.random() * 10 * 2 ** Math.min(attempt, 5);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds (from the replica) and commits one transaction, again on a
 * conflict. `build` returns what the caller answers with; it throws
 * ApiError for a request that cannot be done, and must add something to
 * the transaction or return without writing (then nothing is sent).
 *
 * Writes that arrive while another is being committed on the same client
 * go to NB together, as one transaction built by each in turn (group
 * commit): one commit, one Raft entry and one round of northd's work for
 * them all. A lone write is sent at once, so nothing waits for company. If
 * a shared transaction fails, each of its writes is built again and sent
 * alone, as if it had never had company.
 */
export function writeNb<R>(nb: NbClient, build: (txn: NbTransaction) => R): Promise<R> {
  let batcher = batchers.get(nb);
  if (!batcher) batchers.set(nb, (batcher = new WriteBatcher(nb)));
  return batcher.write(build);
}

/** One write on its own, with its retries: what a write in a failed shared transaction falls back to. */
async function writeAlone<R>(
  nb: NbClient,
  build: (txn: NbTransaction) => R,
  firstAttempt = 1,
): Promise<R> {
  for (let attempt = firstAttempt; ; attempt++) {
    const txn = nb.transaction();
    const result = build(txn);
    if (txn.size === 0) return result;
    try {
      await txn.commit();
      return result;
    } catch (e) {
      if (!isConflict(e)) throw e;
      if (attempt >= WRITE_ATTEMPTS) {
        throw new ApiError(
          409,
          "Another request changed the same resources at the same time, again and again; try again.",
          "Conflict",
        );
      }
      await pause(attempt);
    }
  }
}

interface PendingWrite {
  build: (txn: NbTransaction) => unknown;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/** The most writes one shared transaction carries. */
export const BATCH_LIMIT = 64;

const batchers = new WeakMap<NbClient, WriteBatcher>();

/** The writes of one NB client: one transaction in flight, the writes that came meanwhile waiting for the next. */
class WriteBatcher {
  private waiting: PendingWrite[] = [];
  private busy = false;

  constructor(private readonly nb: NbClient) {}

  write<R>(build: (txn: NbTransaction) => R): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ build, resolve: resolve as (r: unknown) => void, reject });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, BATCH_LIMIT);
        try {
          await this.commitTogether(batch);
        } catch (e) {
          // A fault of our own: every write still waiting for its answer gets it.
          for (const write of batch) write.reject(e);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  /** Builds every write of `batch` into one transaction and commits it; on failure, each alone. */
  private async commitTogether(batch: readonly PendingWrite[]): Promise<void> {
    const txn = this.nb.transaction();
    const built: { write: PendingWrite; result: unknown }[] = [];
    for (const write of batch) {
      const start = txn.size;
      try {
        const result = write.build(txn);
        if (txn.size === start) write.resolve(result);
        else built.push({ write, result });
      } catch (e) {
        // This write is refused (bad request, not found…): its part goes, the others stay.
        txn.rollbackTo(start);
        write.reject(e);
      }
    }
    if (built.length === 0) return;
    try {
      await txn.commit();
    } catch (e) {
      // An answer other than the server's refusal (a lost connection, a
      // timeout) leaves the outcome unknown: nothing may be sent again.
      if (!(e instanceof TransactionError)) {
        for (const { write } of built) write.reject(e);
        return;
      }
      if (built.length > 1) {
        // Which write's part failed, or whether two writes clashed, does not
        // matter: each is sent alone, with its own retries.
        for (const { write } of built) this.retryAlone(write, 1);
      } else if (isConflict(e)) {
        this.retryAlone(built[0]!.write, 2);
      } else {
        built[0]!.write.reject(e);
      }
      return;
    }
    for (const { write, result } of built) write.resolve(result);
  }

  /**
   * A write built again from the replica as it is then and sent alone, with
   * its retries; `attempt` 2 after its own conflict, which it first waits out.
   */
  private retryAlone(write: PendingWrite, attempt: number): void {
    const waited = attempt > 1 ? pause(attempt - 1) : Promise.resolve();
    waited
      .then(() => writeAlone(this.nb, (txn) => write.build(txn), attempt))
      .then(write.resolve, write.reject);
  }
}

/** Whether a commit may or may not have happened: the connection went, or no answer came in time. */
export function isOutcomeUnknown(e: unknown): boolean {
  return (
    e instanceof OvsdbError && (e.code === "OVSDB_OUTCOME_UNKNOWN" || e.code === "OVSDB_TIMEOUT")
  );
}

/** What `outcomeAfterResync` needs of a replica: its "synced" event after a reconnection. */
export interface Resyncing {
  once(event: "synced", listener: () => void): unknown;
  off(event: "synced", listener: () => void): unknown;
}

/**
 * After a commit whose outcome is unknown, waits until the replica is whole
 * again from the new connection and asks it whether the change is there:
 * true or false, or undefined when the replica did not come back within
 * `timeoutMs` (then nobody can tell). A transaction is all or nothing, so
 * one of its rows tells for all of them.
 */
export function outcomeAfterResync(
  replica: Resyncing,
  isThere: () => boolean | undefined,
  timeoutMs = 15_000,
): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const synced = () => {
      clearTimeout(timer);
      resolve(isThere());
    };
    const timer = setTimeout(() => {
      replica.off("synced", synced);
      resolve(undefined);
    }, timeoutMs);
    replica.once("synced", synced);
  });
}

/** The answer for a change that the replica, back after a lost connection, shows was not made. */
export function notMadeAfterLostConnection(): ApiError {
  return new ApiError(
    503,
    "The connection to the Northbound database went before it answered, and the change was not made: send the request again.",
    "ServiceUnavailable",
  );
}

/**
 * writeNb for a change the replica can tell was made or not (`isMade`,
 * given what the last build returned): when NB's answer is lost, waits for
 * the replica to be whole again and answers from it — what the build
 * returned when the change is there, 503 "send the request again" when it
 * is not — rather than a 500 after which a client cannot know whether to
 * repeat the request. Only when the replica does not come back either, or
 * `isMade` cannot tell (undefined), is the original error thrown.
 */
export async function writeNbTelling<R>(
  nb: NbClient,
  replica: Resyncing,
  build: (txn: NbTransaction) => R,
  isMade: (sent: R) => boolean | undefined,
): Promise<R> {
  // What the last build returned: the change the lost commit carried.
  let sent: { result: R } | undefined;
  try {
    return await writeNb(nb, (txn) => {
      const result = build(txn);
      sent = { result };
      return result;
    });
  } catch (e) {
    const last = sent;
    if (!isOutcomeUnknown(e) || last === undefined) throw e;
    const made = await outcomeAfterResync(replica, () => isMade(last.result));
    if (made === undefined) throw e;
    if (!made) throw notMadeAfterLostConnection();
    return last.result;
  }
}

/**
 * The external_ids that the operations of `txn` from `from` on give the row
 * `uuid` of `table` (the last update of that column wins), or undefined
 * when they give none. What an update wrote to the row that holds a
 * resource's revision is what tells, after a lost answer, whether it was
 * made: no other write leaves that row with the same map.
 */
export function externalIdsWritten(
  txn: NbTransaction,
  from: number,
  table: GuardedTable,
  uuid: string,
): Map<string, string> | undefined {
  let written: Map<string, string> | undefined;
  for (const op of txn.toOperations().slice(from)) {
    if (op.op !== "update" || op.table !== table) continue;
    const byUuid = op.where.some(
      (c) =>
        Array.isArray(c) &&
        c[0] === "_uuid" &&
        c[1] === "==" &&
        Array.isArray(c[2]) &&
        c[2][0] === "uuid" &&
        c[2][1] === uuid,
    );
    const value = op.row.external_ids;
    if (!byUuid || !Array.isArray(value) || value[0] !== "map") continue;
    written = new Map(value[1] as [string, string][]);
  }
  return written;
}

/** Whether two external_ids maps hold the same keys with the same values. */
export function sameExternalIds(
  a: ReadonlyMap<string, string>,
  b: ReadonlyMap<string, string>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

export type GuardedTable =
  | "Logical_Switch"
  | "Logical_Switch_Port"
  | "DHCP_Options"
  | "Port_Group"
  | "Logical_Router"
  | "Logical_Router_Port"
  | "Gateway_Chassis"
  | "NAT";

/**
 * The transaction fails at once unless no row of `table` has all these
 * external_ids (a MAC, an address, a segment nobody else took meanwhile).
 * `timeoutMs: 0`: without it ovsdb-server would hold the transaction until
 * the condition came true, which for a taken address is never.
 */
export function expectNone(
  txn: NbTransaction,
  table: GuardedTable,
  externalIds: Readonly<Record<string, string>>,
): void {
  txn.wait(table, {
    where: [["external_ids", "includes", new Map(Object.entries(externalIds))]],
    columns: ["_uuid"],
    until: "==",
    rows: [],
    timeoutMs: 0,
  });
}

/** The transaction fails at once unless the row still holds these values (it still exists, unchanged). */
export function expectSame<K extends GuardedTable>(
  txn: NbTransaction,
  table: K,
  uuid: string,
  values: WritableRow<OvnNorthboundDatabase[K]>,
): void {
  txn.wait(table, {
    where: [["_uuid", "==", uuid]],
    columns: Object.keys(values) as (keyof OvnNorthboundDatabase[K] & string)[],
    until: "==",
    rows: [values],
    timeoutMs: 0,
  } as never);
}
