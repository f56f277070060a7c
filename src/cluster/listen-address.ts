/**
 * Where a listener of every member binds, given once for the whole cluster
 * (cluster-wide settings such as `dashboard.address`): a value must make
 * sense on each member, so the host part is a wildcard (`0.0.0.0`, `[::]`),
 * loopback, or the word `member` for each member's own cluster address;
 * `off` turns the listener off.
 */
import { isIP } from "node:net";

export type ListenAddress = { host: string; port: number } | "off";

/** The host part of a value that stands for each member's own cluster address. */
export const MEMBER_HOST = "member";

/** What is wrong with `value` as a listen address, or its parsed form. */
export function parseListenAddress(value: string): ListenAddress | { problem: string } {
  const text = value.trim();
  if (text === "off") return "off";
  const m = /^(\[[^\]]*\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return { problem: "it is not HOST:PORT" };
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return { problem: `port ${m[2]} is not from 1 to 65535` };
  const host = m[1]!.replace(/^\[(.*)\]$/, "$1");
  const bracketed = m[1]!.startsWith("[");
  if (host === MEMBER_HOST && !bracketed) return { host, port };
  if (isIP(host) === 6 && !bracketed) return { problem: "an IPv6 host goes in brackets" };
  const wildcard = host === "0.0.0.0" || host === "::";
  const loopback = /^127\.\d+\.\d+\.\d+$/.test(host) || host === "::1";
  if (isIP(host) === 0 || !(wildcard || loopback)) {
    return {
      problem:
        `"${host}" would name one machine for every member; the host part must be ` +
        `${MEMBER_HOST} (each member's own address), 0.0.0.0, [::] or loopback`,
    };
  }
  return { host, port };
}

/** The address to bind on a member whose cluster address is `memberAddress`. */
export function bindHost(address: { host: string }, memberAddress: string): string {
  return address.host === MEMBER_HOST ? memberAddress : address.host;
}
