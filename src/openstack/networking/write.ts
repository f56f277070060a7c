/**
 * Every change the API makes is one NB transaction, built from the replica
 * as it is and guarded with `wait` where another API server could race
 * (addresses, MACs, VLAN ids, the revision of the row being changed). When
 * a guard fails, the other server won: the replica catches up, the change
 * is built again from what it now shows, and sent again — a few times,
 * after a short random pause so that two losers do not collide again.
 *
 * A read after the answer sees the write: the replica shares the writing
 * connection, and ovsdb-server sends a commit's update before its reply.
 */
import { TransactionError } from "../../ovsdb/index.js";
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
 */
export async function writeNb<R>(nb: NbClient, build: (txn: NbTransaction) => R): Promise<R> {
  for (let attempt = 1; ; attempt++) {
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

type GuardedTable = "Logical_Switch" | "Logical_Switch_Port" | "DHCP_Options" | "Port_Group";

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
