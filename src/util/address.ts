/**
 * IP addresses as an operator gives them (a member's address, an
 * encapsulation IP, external centrals). IPv6 addresses are written bare
 * (`fd00::1`); the brackets belong to connection strings, where a port
 * follows (`ssl:[fd00::1]:6641`, `[fd00::1]:6686`), and are added there.
 * They are kept in their canonical text (RFC 5952: lowercase, the longest
 * run of zeros as `::`), the form ovsdb-server, the kernel and Node print
 * back, so that an address typed as FD50:0:0:1:0:0:0:2 is the same member
 * as the fd50:0:0:1::2 that `cluster/status` lists.
 */
import { isIP } from "node:net";

/**
 * What is wrong with `text` as an address other machines reach this one
 * at, or undefined: not an IP, in brackets, or IPv6 link-local (which
 * needs an interface scope that OVSDB remotes and Geneve cannot carry).
 */
export function addressProblem(text: string): string | undefined {
  const inBrackets = /^\[(.*)\]$/.exec(text)?.[1];
  if (inBrackets !== undefined && isIP(inBrackets) === 6) {
    return `"${text}" is in brackets: write the IPv6 address bare (${inBrackets}); brackets are added where a port follows`;
  }
  if (isIP(text) === 0) return `"${text}" is not an IP address`;
  if (isIP(text) === 6 && /^fe[89ab]/i.test(text)) {
    return (
      `"${text}" is an IPv6 link-local address, which only means something on one ` +
      "link: use a global or unique local (fd00::/8) address"
    );
  }
  if (isIP(text) === 6 && text.includes("%")) {
    return `"${text}" names an interface scope: write the address without it (${text.split("%")[0]})`;
  }
  return undefined;
}

/** An IP address in its canonical text (IPv6 lowercase and compressed); IPv4 as it is. */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  // The URL parser writes IPv6 hosts the RFC 5952 way.
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/**
 * A caller's address as a socket gives it, without the IPv4-mapped form a
 * dual-stack socket shows an IPv4 caller in (::ffff:a.b.c.d → a.b.c.d).
 */
export function callerAddress(socketAddress: string): string {
  return socketAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
}
