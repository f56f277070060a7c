/**
 * Passwords of the identity store: scrypt hashes with a salt of their own
 * and the cost parameters written into the stored string
 * (`scrypt$N$r$p$SALT$HASH`, base64), so stronger parameters later still
 * verify the hashes made before them. Plain passwords are never stored,
 * logged or returned, apart from a generated one, shown once.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { MicroOvnError } from "../errors.js";

export interface ScryptParameters {
  N: number;
  r: number;
  p: number;
}

/** About 70 ms and 32 MiB per hash on these machines: slow for a guesser, fine for a login. */
export const SCRYPT_PARAMETERS: ScryptParameters = { N: 2 ** 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Longer passwords only cost hashing time; nobody types more. */
export const MAX_PASSWORD_BYTES = 4096;

function derive(password: string, salt: Buffer, params: ScryptParameters, length: number) {
  // scrypt needs 128·N·r bytes; Node's default ceiling is exactly 32 MiB, too tight for N=2^15.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Refuses a password that cannot be stored, saying what a good one is. */
export function checkPassword(password: string): string {
  if (password.length === 0) {
    throw new MicroOvnError(
      "EMPTY_PASSWORD",
      "the password is empty; give one on stdin with --password-stdin, or leave that option " +
        "out to have one generated",
    );
  }
  if (Buffer.byteLength(password) > MAX_PASSWORD_BYTES) {
    throw new MicroOvnError(
      "PASSWORD_TOO_LONG",
      `the password is longer than ${MAX_PASSWORD_BYTES} bytes; choose a shorter one`,
    );
  }
  return password;
}

export async function hashPassword(
  password: string,
  params: ScryptParameters = SCRYPT_PARAMETERS,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(checkPassword(password), salt, params, HASH_BYTES);
  return ["scrypt", params.N, params.r, params.p, salt.toString("base64"), hash.toString("base64")]
    .map(String)
    .join("$");
}

/** The parameters, salt and hash of a stored string, or undefined if it is none of ours. */
export function parseStoredHash(
  stored: string,
): { params: ScryptParameters; salt: Buffer; hash: Buffer } | undefined {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((n) => Number.isSafeInteger(n) && n > 0)) return undefined;
  const salt = Buffer.from(parts[4]!, "base64");
  const hash = Buffer.from(parts[5]!, "base64");
  if (salt.length === 0 || hash.length === 0) return undefined;
  return { params: { N, r, p }, salt, hash };
}

/**
 * Whether `password` is the one `stored` was made from. A stored string that
 * is not ours matches nothing. The comparison takes the same time wherever
 * the hashes differ.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStoredHash(stored);
  if (!parsed) return false;
  const candidate = await derive(password, parsed.salt, parsed.params, parsed.hash.length);
  return timingSafeEqual(candidate, parsed.hash);
}

/** A new password of 32 URL-safe characters (192 random bits). */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}
