/**
 * Join tokens (`cluster add NAME` prints one, `cluster join TOKEN` uses it):
 * base64 of JSON with the new member's name, a random secret, the SHA-256
 * fingerprint of the issuing member's API certificate, the addresses to join
 * at, and the expiry. The cluster keeps only a hash of the secret and
 * compares in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { MicroOvnError } from "../errors.js";

export interface JoinToken {
  /** The name the joining member must have. */
  name: string;
  /** 32 random bytes, base64url. */
  secret: string;
  /** SHA-256 of the issuing member's API certificate (DER), lowercase hex. */
  fingerprint: string;
  /** Member API addresses, "IP:PORT" (IPv6 in brackets). */
  addresses: string[];
  /** ISO 8601. */
  expiresAt: string;
}

export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** What the cluster stores instead of the secret. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Whether `secret` is the one whose hash was stored, in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), "hex");
  const stored = Buffer.from(storedHash, "hex");
  return given.length === stored.length && timingSafeEqual(given, stored);
}

export function encodeJoinToken(token: JoinToken): string {
  return Buffer.from(JSON.stringify(token), "utf8").toString("base64");
}

function bad(why: string): MicroOvnError {
  return new MicroOvnError(
    "BAD_TOKEN",
    `this is not a valid join token (${why}); copy the whole line that ` +
      "`microovn cluster add NAME` printed on a member of the cluster",
  );
}

/** Reads a token, or throws BAD_TOKEN saying what is wrong with it. */
export function decodeJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed)) throw bad("it is not base64");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(trimmed, "base64").toString("utf8"));
  } catch {
    throw bad("it does not hold JSON");
  }
  if (typeof value !== "object" || value === null) throw bad("it does not hold an object");
  const t = value as Record<string, unknown>;
  const str = (key: string) => {
    if (typeof t[key] !== "string" || t[key] === "") throw bad(`"${key}" is missing`);
    return t[key];
  };
  const token: JoinToken = {
    name: str("name"),
    secret: str("secret"),
    fingerprint: str("fingerprint"),
    addresses: [],
    expiresAt: str("expiresAt"),
  };
  if (!/^[0-9a-f]{64}$/.test(token.fingerprint)) throw bad("the fingerprint is not SHA-256 hex");
  if (Number.isNaN(Date.parse(token.expiresAt))) throw bad("the expiry is not a date");
  if (
    !Array.isArray(t.addresses) ||
    t.addresses.length === 0 ||
    !t.addresses.every((a) => typeof a === "string" && a !== "")
  ) {
    throw bad("it names no address to join at");
  }
  token.addresses = t.addresses as string[];
  return token;
}

/** Whether the token has expired at `now`. */
export function isExpired(token: Pick<JoinToken, "expiresAt">, now = new Date()): boolean {
  return Date.parse(token.expiresAt) <= now.getTime();
}

/** The token was for another name (checked by the joiner and again by the cluster). */
export function wrongName(issuedFor: string, asked: string): MicroOvnError {
  return new MicroOvnError(
    "WRONG_NAME",
    `this token was issued for "${issuedFor}", not "${asked}"; join with the name it was ` +
      "issued for, or ask for a token for this name",
  );
}

/** The token has expired (checked by the joiner and again by the cluster). */
export function tokenExpired(name: string, expiresAt: Date): MicroOvnError {
  return new MicroOvnError(
    "TOKEN_EXPIRED",
    `this token for "${name}" expired at ${expiresAt.toISOString()}; ask for a new one ` +
      "(`microovn cluster add NAME`)",
  );
}
