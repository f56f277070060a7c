/**
 * What the security log must never hold: passwords, tokens, private keys.
 * Callers are asked not to pass them, but a log that promises "nothing
 * secret" cannot rest on every call site being right, so the writer runs
 * every detail through here. Pure.
 */

/** Shown instead of a value that was or looked like a secret. */
export const REDACTED = "[redacted]";

/**
 * Detail names whose value is secret by its name. `key` alone is a config
 * key's name (config.set); any other name ending in "key" (privateKey,
 * apiKey) is taken for key material. A token is secret (token, authToken,
 * tokenId); what is said about one (tokenName, tokenExpiration) is not.
 */
export function isSecretField(field: string): boolean {
  const f = field.toLowerCase().replace(/[-_]/g, "");
  if (/pass(word|wd|phrase)|secret|credential|cookie|authorization|private|privkey|pem/.test(f)) {
    return true;
  }
  if (/token(s|id|value)?$/.test(f)) return true;
  return f !== "key" && f.endsWith("key");
}

/** A PEM block (keys, certificates): never logged, whatever its label. */
const PEM = /-----BEGIN [^-]*-----[\s\S]*?(-----END [^-]*-----|$)/g;
/** A Keystone token of the local plugin (auth/tokens.ts): "mo1." + payload + "." + signature. */
const LOCAL_TOKEN = /\bmo1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
/** A run long enough to be random key material or a token (base64, base64url, hex). */
const LONG_RUN = /[A-Za-z0-9+/=_-]{32,}/g;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Lower-case DNS-style names with a dash or dot (long member names): not random by look. */
const DNS_NAME = /^[a-z0-9]+([.-][a-z0-9]+)+$/;

function looksRandom(run: string): boolean {
  if (UUID.test(run) || DNS_NAME.test(run)) return false;
  const letter = /[A-Za-z]/.test(run);
  const digit = /[0-9]/.test(run);
  const mixedCase = /[a-z]/.test(run) && /[A-Z]/.test(run);
  return (letter && digit) || mixedCase;
}

/** `text` with anything that looks like a secret in it replaced. */
export function redactText(text: string): string {
  return text
    .replace(PEM, REDACTED)
    .replace(LOCAL_TOKEN, REDACTED)
    .replace(LONG_RUN, (run) => (looksRandom(run) ? REDACTED : run));
}

/** The longest string value written; longer ones (a pasted blob, a hostile user name) are cut. */
export const MAX_VALUE_LENGTH = 512;

/** One detail value as it may be written. */
export function safeValue(
  field: string,
  value: string | number | boolean,
): string | number | boolean {
  if (isSecretField(field)) return REDACTED;
  if (typeof value !== "string") return value;
  // Redact first: cutting could leave the head of a PEM block or token that no longer looks like one.
  const clean = redactText(value);
  return clean.length > MAX_VALUE_LENGTH ? `${clean.slice(0, MAX_VALUE_LENGTH)}…` : clean;
}

/** A setting's value as `config.set` records it: a secret setting's (a static token, a client secret) never. */
export function settingForLog(key: string, value: string): string {
  return isSecretField(key) ? REDACTED : value;
}
