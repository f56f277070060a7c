/**
 * What makes the OpenStack API's tokens trustworthy on every member: the
 * keys that sign them and the tokens revoked before they expired, both in
 * the cluster state database so that any member checks any member's token.
 *
 * One key signs at a time (the newest one not retired). Once it is older
 * than the rotation period, whichever API server notices first adds a new
 * one and retires the old, in one transaction guarded with a `wait` on the
 * keys it saw: of two servers rotating at once, one wins and the other reads
 * the winner's key. A retired key still validates until the last token it
 * can have signed has expired, then the next rotation or revocation deletes it.
 */
import { randomBytes } from "node:crypto";
import { MicroOvnError } from "../errors.js";
import type { DatabaseSchema } from "../ovsdb/schema/schema.js";
import { TransactionError } from "../ovsdb/errors.js";
import type { IdentityTokenKey } from "../ovsdb/models/microovn.js";
import { newId } from "./names.js";
import type { IdentityDb } from "./store.js";

/** A signing key as the token code uses it. */
export interface TokenKey {
  id: string;
  secret: Buffer;
  createdAt: number;
  retiredAt: number | undefined;
}

/** 256-bit HMAC-SHA256 keys. */
const KEY_BYTES = 32;

export function tokenKey(row: IdentityTokenKey): TokenKey {
  return {
    id: row.key_id,
    secret: Buffer.from(row.secret, "base64"),
    createdAt: row.created_at,
    retiredAt: row.retired_at,
  };
}

/** The key that signs new tokens: the newest one not retired. */
export function signingKey(keys: Iterable<TokenKey>): TokenKey | undefined {
  let newest: TokenKey | undefined;
  for (const k of keys) {
    if (k.retiredAt === undefined && (!newest || k.createdAt > newest.createdAt)) newest = k;
  }
  return newest;
}

/** Whether a new key should sign from now on (none yet, or the signing one is `rotationMs` old). */
export function rotationDue(keys: Iterable<TokenKey>, now: number, rotationMs: number): boolean {
  const current = signingKey(keys);
  return current === undefined || now - current.createdAt >= rotationMs;
}

/**
 * Retired keys that no unexpired token can need: a token lives at most
 * `lifetimeMs` (the token expiration in force) after its key retired.
 */
export function expiredKeys(keys: Iterable<TokenKey>, now: number, lifetimeMs: number): TokenKey[] {
  return [...keys].filter((k) => k.retiredAt !== undefined && k.retiredAt + lifetimeMs < now);
}

/** Refuses, before anything changes, a state database whose schema predates token keys. */
export function checkTokenSchema(schema: DatabaseSchema): void {
  if (!schema.tables.has("Identity_Token_Key") || !schema.tables.has("Identity_Revoked_Token")) {
    throw new MicroOvnError(
      "STATE_DB_SCHEMA_TOO_OLD",
      `the cluster state database runs schema ${schema.version}, made before the OpenStack ` +
        "API's token keys existed, so the service could not issue a token; nothing was " +
        "changed. It is converted to the schema this version installs once every member " +
        "runs this version (`microovn cluster list` shows NEEDS UPGRADE on those that do not yet)",
    );
  }
}

function serverError(e: unknown): string | undefined {
  return e instanceof TransactionError ? e.serverError : undefined;
}

/**
 * Adds a new signing key and retires the current one, unless the keys are
 * no longer those in `seen` (another server rotated first: false). Keys no
 * token can need any more go in the same transaction.
 */
export async function rotateTokenKeys(
  db: IdentityDb,
  seen: readonly TokenKey[],
  now: number,
  lifetimeMs: number,
): Promise<boolean> {
  const txn = db.transaction();
  txn.wait("Identity_Token_Key", {
    where: [],
    columns: ["key_id", "retired_at"],
    until: "==",
    rows: seen.map((k) => ({ key_id: k.id, retired_at: k.retiredAt })),
    timeoutMs: 0,
  });
  const current = signingKey(seen);
  if (current) {
    txn.update("Identity_Token_Key", [["key_id", "==", current.id]], { retired_at: now });
  }
  const retiring = current ? [{ ...current, retiredAt: now }] : [];
  for (const old of expiredKeys([...seen, ...retiring], now, lifetimeMs)) {
    txn.delete("Identity_Token_Key", [["key_id", "==", old.id]]);
  }
  txn.insert("Identity_Token_Key", {
    key_id: newId(),
    secret: randomBytes(KEY_BYTES).toString("base64"),
    created_at: now,
    retired_at: undefined,
  });
  try {
    await txn.commit();
    return true;
  } catch (e) {
    if (serverError(e) === "timed out") return false;
    throw e;
  }
}

/**
 * Records a revoked token by its audit id, kept until the token would have
 * expired anyway; revocations past that go in the same transaction. A token
 * revoked twice is no error.
 */
export async function revokeToken(
  db: IdentityDb,
  auditId: string,
  expiresAt: number,
  now: number,
): Promise<void> {
  const txn = db.transaction();
  txn.delete("Identity_Revoked_Token", [["expires_at", "<", now]]);
  txn.insert("Identity_Revoked_Token", { audit_id: auditId, expires_at: expiresAt });
  try {
    await txn.commit();
  } catch (e) {
    if (serverError(e) !== "constraint violation") throw e;
  }
}
