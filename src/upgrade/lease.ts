/**
 * The lease under which exactly one member converts NB or SB: a row of the
 * cluster state database's Config table, `upgrade.conversion-lease/<db>`,
 * whose value names the holder and when the lease runs out.
 *
 * Why this is safe: the state database is a Raft cluster, so its
 * transactions are applied one after the other on every server. A member
 * takes a free lease by inserting the row (the key is a unique index: of two
 * inserts, the second fails) and a lapsed one by updating the row guarded
 * with a `wait` on the value it read (compare and swap: of two takers, the
 * second's guard fails). A holder that dies keeps no one waiting for longer
 * than the lease's lifetime, which is longer than a conversion may take.
 * Members' clocks are assumed to agree to within a few seconds.
 */
import { CONVERSION_LEASE_PREFIX } from "../cluster/config-keys.js";
import type { OvsdbClient } from "../ovsdb/client/client.js";
import { TransactionError } from "../ovsdb/errors.js";
import type { MicroOVNDatabase } from "../ovsdb/models/microovn.js";

/** Who asks for the lease, and how it reaches the cluster state database. */
export interface LeaseTaker {
  /** This member's name. */
  me: string;
  connect: () => Promise<OvsdbClient<MicroOVNDatabase>>;
}

export interface Lease {
  holder: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export function leaseKey(database: string): string {
  return `${CONVERSION_LEASE_PREFIX}${database}`;
}

/** The lease a Config value holds; a value that is not one counts as lapsed. */
export function parseLease(value: string | undefined): Lease | undefined {
  if (value === undefined) return undefined;
  try {
    const lease = JSON.parse(value) as Partial<Lease>;
    if (typeof lease.holder === "string" && typeof lease.expiresAt === "number") {
      return { holder: lease.holder, expiresAt: lease.expiresAt };
    }
  } catch {
    /* not ours to read: lapsed */
  }
  return { holder: "", expiresAt: 0 };
}

/** Whether `me` may take (or renew) the lease now. */
export function mayTake(current: Lease | undefined, me: string, now: number): boolean {
  return current === undefined || current.holder === me || current.expiresAt <= now;
}

/**
 * Takes the lease on `database` for `lifetimeMs`; false when another member
 * holds it or took it first.
 */
export async function takeLease(
  { me, connect }: LeaseTaker,
  database: string,
  lifetimeMs: number,
): Promise<boolean> {
  const key = leaseKey(database);
  const client = await connect();
  try {
    const [row] = await client.select("Config", [["key", "==", key]], ["value"]);
    const now = Date.now();
    if (!mayTake(parseLease(row?.value), me, now)) return false;
    const value = JSON.stringify({ holder: me, expiresAt: now + lifetimeMs } satisfies Lease);
    const txn = client.transaction();
    if (row) {
      txn.wait("Config", {
        where: [["key", "==", key]],
        columns: ["value"],
        until: "==",
        rows: [{ value: row.value }],
      });
      txn.update("Config", [["key", "==", key]], { value });
    } else {
      txn.insert("Config", { key, value });
    }
    await txn.commit();
    return true;
  } catch (e) {
    // The guard failed or the key was inserted meanwhile: someone else has it.
    if (e instanceof TransactionError) return false;
    throw e;
  } finally {
    client.close();
  }
}

/** Gives the lease up, if `me` still holds it. */
export async function releaseLease({ me, connect }: LeaseTaker, database: string): Promise<void> {
  const key = leaseKey(database);
  const client = await connect();
  try {
    const [row] = await client.select("Config", [["key", "==", key]], ["value"]);
    if (!row || parseLease(row.value)?.holder !== me) return;
    const txn = client.transaction();
    txn.wait("Config", {
      where: [["key", "==", key]],
      columns: ["value"],
      until: "==",
      rows: [{ value: row.value }],
    });
    txn.delete("Config", [["key", "==", key]]);
    await txn.commit().catch((e: unknown) => {
      if (!(e instanceof TransactionError)) throw e;
    });
  } finally {
    client.close();
  }
}
