/**
 * Where a member listens, as a cluster-wide setting says it
 * (`metrics.address`, `dashboard.address`). Every member reads the same value, so the host part
 * may only be something that means the same on each: a wildcard (0.0.0.0,
 * [::]), loopback (127.0.0.1, [::1]), or the word `member`, each member's
 * own cluster address. A machine's own IP would be wrong on all the others.
 * `off` turns the listener off.
 */
import { isIP } from "node:net";

export type ListenAddress =
  | { off: true }
  | {
      off: false;
      /** An IP address, or "member": each member's own address. */
      host: string;
      port: number;
      loopback: boolean;
    };

/** The host part of a value that stands for each member's own cluster address. */
export const MEMBER_HOST = "member";

const WILDCARDS = new Set(["0.0.0.0", "::"]);

/**
 * The address, or a sentence saying what is wrong and what to give instead
 * (its example uses `port`, the setting's usual one).
 */
export function parseListenAddress(value: string, port = 9310): ListenAddress | string {
  const text = value.trim();
  if (text === "off") return { off: true };
  const example =
    "give HOST:PORT with HOST one of 0.0.0.0, [::], 127.0.0.1, [::1] or member (each member's " +
    `own address), e.g. member:${port}, or off`;
  const m = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m?.[1] || !m[2]) return example;
  const given = Number(m[2]);
  if (given < 1 || given > 65535) return `port ${m[2]} is not from 1 to 65535; ${example}`;
  const bracketed = /^\[(.*)\]$/.exec(m[1])?.[1];
  const host = bracketed ?? m[1];
  if (host === MEMBER_HOST && bracketed === undefined)
    return { off: false, host, port: given, loopback: false };
  if (bracketed === undefined && isIP(host) === 6)
    return `write an IPv6 host in brackets ([${host}]); ${example}`;
  if (bracketed !== undefined && isIP(host) !== 6)
    return `"${m[1]}" is not an IPv6 address; ${example}`;
  const loopback = host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
  if (WILDCARDS.has(host) || loopback) return { off: false, host, port: given, loopback };
  return isIP(host) === 0
    ? `"${host}" is not an IP address; ${example}`
    : `${host} is one machine's address, but the setting applies to every member; ${example}`;
}

/** The canonical text of a parsed address (`[::]:9310`, `member:9310`, `off`). */
export function formatListenAddress(a: ListenAddress): string {
  if (a.off) return "off";
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** The address to bind on a member whose cluster address is `memberAddress`. */
export function bindHost(address: { host: string }, memberAddress: string): string {
  return address.host === MEMBER_HOST ? memberAddress : address.host;
}
