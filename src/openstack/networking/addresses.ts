/**
 * IP addresses and prefixes as the Networking API needs them: parsing
 * (strictly: a CIDR with host bits set is refused, as Neutron does),
 * first host, default allocation pools, overlap, choosing a free address
 * from the pools, SLAAC's EUI-64 from a MAC, and Neutron's MACs. Addresses
 * are bigints so that IPv4 and IPv6 share one arithmetic. Pure.
 */
import { randomBytes, randomInt } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";

export type IpVersion = 4 | 6;

export interface Prefix {
  version: IpVersion;
  /** The network address. */
  network: bigint;
  length: number;
}

const BITS = { 4: 32, 6: 128 } as const;

function bits(version: IpVersion): number {
  return BITS[version];
}

export function ipVersionOf(text: string): IpVersion | undefined {
  if (isIPv4(text)) return 4;
  if (isIPv6(text) && !text.includes("%")) return 6;
  return undefined;
}

/** The value of an address, or undefined when it is none. */
export function parseIp(text: string): { version: IpVersion; value: bigint } | undefined {
  const version = ipVersionOf(text);
  if (version === 4) {
    const value = text.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
    return { version, value };
  }
  if (version === 6) {
    let head = text;
    let tail4: bigint | undefined;
    const lastColon = text.lastIndexOf(":");
    if (text.slice(lastColon + 1).includes(".")) {
      tail4 = parseIp(text.slice(lastColon + 1))!.value;
      head = `${text.slice(0, lastColon + 1)}0:0`;
    }
    const [left, right] = head.includes("::") ? head.split("::") : [head, undefined];
    const l = left ? left.split(":") : [];
    const r = right ? right.split(":") : [];
    const groups =
      right === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill("0"), ...r];
    let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    if (tail4 !== undefined) value = (value & ~0xffffffffn) | tail4;
    return { version, value };
  }
  return undefined;
}

export function formatIp(version: IpVersion, value: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 255n)).join(".");
  }
  const groups = Array.from({ length: 8 }, (_, i) =>
    Number((value >> BigInt(112 - 16 * i)) & 0xffffn),
  );
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const left = hex.slice(0, bestStart).join(":");
  const right = hex.slice(bestStart + bestLength).join(":");
  return `${left}::${right}`;
}

/** The canonical spelling of an address (IPv6 compressed and lower case). */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip.version, ip.value);
}

/** A prefix "10.0.0.0/24"; undefined when malformed or when host bits are set. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (length > bits(ip.version)) return undefined;
  const prefix = { version: ip.version, network: ip.value, length };
  return (ip.value & hostMask(prefix)) === 0n ? prefix : undefined;
}

export function formatPrefix(p: Prefix): string {
  return `${formatIp(p.version, p.network)}/${p.length}`;
}

function hostMask(p: { version: IpVersion; length: number }): bigint {
  return (1n << BigInt(bits(p.version) - p.length)) - 1n;
}

export function lastAddress(p: Prefix): bigint {
  return p.network | hostMask(p);
}

export function contains(p: Prefix, version: IpVersion, value: bigint): boolean {
  return version === p.version && value >= p.network && value <= lastAddress(p);
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  return a.version === b.version && a.network <= lastAddress(b) && b.network <= lastAddress(a);
}

/** Neutron's default gateway: the first address after the network's. */
export function firstHost(p: Prefix): bigint {
  return p.network + 1n;
}

export interface Range {
  start: bigint;
  end: bigint;
}

/**
 * Neutron's default pools: every host address but the gateway, less the
 * network and (IPv4) broadcast addresses; an IPv4 /31 or /32 and an IPv6
 * /128 use all their addresses.
 */
export function defaultPools(p: Prefix, gateway: bigint | undefined): Range[] {
  let start = p.network;
  let end = lastAddress(p);
  if (p.version === 4 && p.length < 31) {
    start += 1n;
    end -= 1n;
  } else if (p.version === 6 && p.length < 128) {
    // The subnet-router anycast address (all host bits zero) is never handed out.
    start += 1n;
  }
  if (gateway === undefined || gateway < start || gateway > end) return [{ start, end }];
  const out: Range[] = [];
  if (gateway > start) out.push({ start, end: gateway - 1n });
  if (gateway < end) out.push({ start: gateway + 1n, end });
  return out;
}

export function rangeSize(ranges: readonly Range[]): bigint {
  return ranges.reduce((n, r) => n + (r.end - r.start + 1n), 0n);
}

/**
 * A free address from the pools, chosen at random (as Neutron's IPAM does)
 * so that two servers allocating at once seldom pick the same one; after a
 * random start the pools are walked in order until a free one is found.
 * undefined when every address is taken.
 */
export function pickFree(
  pools: readonly Range[],
  taken: { has(value: bigint): boolean },
  random: (n: bigint) => bigint = randomBig,
): bigint | undefined {
  const size = rangeSize(pools);
  if (size === 0n) return undefined;
  const offset = random(size);
  for (let i = 0n; i < size; i++) {
    const candidate = nth(pools, (offset + i) % size);
    if (!taken.has(candidate)) return candidate;
  }
  return undefined;
}

function nth(pools: readonly Range[], index: bigint): bigint {
  let i = index;
  for (const r of pools) {
    const n = r.end - r.start + 1n;
    if (i < n) return r.start + i;
    i -= n;
  }
  throw new Error(`index ${index} beyond the pools`);
}

function randomBig(n: bigint): bigint {
  if (n <= BigInt(Number.MAX_SAFE_INTEGER)) return BigInt(randomInt(Number(n)));
  const bytes = randomBytes(16);
  return BigInt(`0x${bytes.toString("hex")}`) % n;
}

/** SLAAC's address for a MAC in a /64: the EUI-64 interface id (U/L bit flipped). */
export function eui64(p: Prefix, mac: string): bigint {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  const id = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  return p.network | id.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

/** Neutron's base MAC, fa:16:3e. */
export const BASE_MAC = "fa:16:3e";

export function randomMac(): string {
  const tail = [...randomBytes(3)].map((x) => x.toString(16).padStart(2, "0"));
  return [BASE_MAC, ...tail].join(":");
}

/** A unicast MAC in canonical form (lower case, colons), or undefined. */
export function canonicalMac(text: string): string | undefined {
  const m =
    /^([0-9a-fA-F]{2})([:-]?)([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})\2([0-9a-fA-F]{2})$/.exec(
      text,
    );
  if (!m) return undefined;
  const parts = [m[1], m[3], m[4], m[5], m[6], m[7]].map((x) => x!.toLowerCase());
  // Multicast (and broadcast) MACs are no port's.
  if (parseInt(parts[0]!, 16) & 1) return undefined;
  if (parts.every((x) => x === "00")) return undefined;
  return parts.join(":");
}
