/**
 * A rule's remote_ip_prefix: an IPv4 or IPv6 address with an optional
 * prefix length. Neutron answers it as given (a bare address gains /32 or
 * /128) but matches the network it names, host bits cleared.
 */
import { isIPv4, isIPv6 } from "node:net";

export interface IpPrefix {
  family: "IPv4" | "IPv6";
  /** As Neutron shows it: the text given, with the prefix length always present. */
  shown: string;
  /** The network, host bits cleared, as OVN's match takes it. */
  network: string;
}

function ipv4Bits(address: string): bigint {
  return address.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv4Text(bits: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join(".");
}

function ipv6Bits(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:10.0.0.1) is two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bits(v4[1]!);
    text = `${text.slice(0, v4.index)}${(b >> 16n).toString(16)}:${(b & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros =
    tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  return [...headGroups, ...zeros, ...tailGroups].reduce(
    (acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)),
    0n,
  );
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as `::`. */
function ipv6Text(bits: bigint): string {
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => (bits >> s) & 0xffffn);
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0n) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}

/** The prefix, or undefined when the text is no address with a valid length. */
export function parseIpPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const lengthText = slash < 0 ? undefined : text.slice(slash + 1);
  const family = isIPv4(address)
    ? "IPv4"
    : isIPv6(address) && !address.includes("%")
      ? "IPv6"
      : undefined;
  if (!family) return undefined;
  const width = family === "IPv4" ? 32 : 128;
  if (lengthText !== undefined && !/^[0-9]{1,3}$/.test(lengthText)) return undefined;
  const length = lengthText === undefined ? width : Number(lengthText);
  if (length > width) return undefined;
  const bits = family === "IPv4" ? ipv4Bits(address) : ipv6Bits(address);
  const hostBits = BigInt(width - length);
  const networkBits = (bits >> hostBits) << hostBits;
  const networkAddress = family === "IPv4" ? ipv4Text(networkBits) : ipv6Text(networkBits);
  return {
    family,
    shown: `${address}/${length}`,
    network: `${networkAddress}/${length}`,
  };
}
