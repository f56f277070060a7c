/**
 * The tokens of the `local` auth plugin: self-contained and signed, so any
 * member checks any member's token with the keys in the state database and
 * no token is ever stored. A token is `mo1.` + base64url(JSON payload) + `.`
 * + base64url(HMAC-SHA256 over the first two parts, with the key the payload
 * names). The payload says who (user id), for what (project id, or none for
 * an unscoped token), how (methods), when (issued, expires) and its audit
 * ids (its own first, then that of the first token of the chain it was made
 * from), by which it can be revoked. Roles are not in it: they are read at validation time, so a
 * revoked role takes effect at once. Pure: no database here.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { TokenKey } from "../../identity/token-keys.js";

const PREFIX = "mo1";

export interface TokenPayload {
  /** The signing key's id. */
  kid: string;
  /** The user's id. */
  uid: string;
  /** The project the token is scoped to; absent for an unscoped token. */
  pid?: string;
  /** How the user authenticated: "password", "token". */
  m: string[];
  /** Issued at, expires at: milliseconds since the epoch. */
  iat: number;
  exp: number;
  /** Audit ids: this token's own, then (for one made from another) that of the chain's first token. */
  aud: string[];
}

/** Why a token is refused; the client is only ever told 401. */
export type TokenFault = "malformed" | "unknown key" | "bad signature" | "expired";

export class TokenRejected extends Error {
  constructor(readonly fault: TokenFault) {
    super(`token refused: ${fault}`);
    this.name = "TokenRejected";
  }
}

/** A new audit id as Keystone makes them: 16 random bytes, base64url, 22 characters. */
export function newAuditId(): string {
  return randomBytes(16).toString("base64url");
}

function mac(signed: string, secret: Buffer): Buffer {
  return createHmac("sha256", secret).update(signed).digest();
}

export function signToken(payload: TokenPayload, key: TokenKey): string {
  if (payload.kid !== key.id) throw new Error(`payload names key ${payload.kid}, not ${key.id}`);
  const signed = `${PREFIX}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
  return `${signed}.${mac(signed, key.secret).toString("base64url")}`;
}

function isPayload(value: unknown): value is TokenPayload {
  const p = value as Partial<TokenPayload> | null;
  return (
    typeof p === "object" &&
    p !== null &&
    typeof p.kid === "string" &&
    typeof p.uid === "string" &&
    (p.pid === undefined || typeof p.pid === "string") &&
    Array.isArray(p.m) &&
    p.m.every((m) => typeof m === "string") &&
    Number.isSafeInteger(p.iat) &&
    Number.isSafeInteger(p.exp) &&
    Array.isArray(p.aud) &&
    p.aud.length > 0 &&
    p.aud.every((a) => typeof a === "string")
  );
}

/**
 * The payload of a token whose signature and expiry check out; throws
 * TokenRejected otherwise. `keyById` finds a signing key (retired ones too).
 */
export function verifyToken(
  token: string,
  keyById: (id: string) => TokenKey | undefined,
  now: number,
): TokenPayload {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX) throw new TokenRejected("malformed");
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString("utf8"));
  } catch {
    throw new TokenRejected("malformed");
  }
  if (!isPayload(payload)) throw new TokenRejected("malformed");
  const key = keyById(payload.kid);
  if (!key) throw new TokenRejected("unknown key");
  const expected = mac(`${parts[0]}.${parts[1]}`, key.secret);
  const given = Buffer.from(parts[2]!, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new TokenRejected("bad signature");
  }
  if (payload.exp <= now) throw new TokenRejected("expired");
  return payload;
}

/** Keystone's timestamp form: "2026-11-29T20:00:00.000000Z" (microseconds, always six digits). */
export function keystoneTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** v2.0's form, without fractions: "2026-11-29T20:00:00Z". */
export function keystoneV2Time(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
