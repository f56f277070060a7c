/**
 * The lab's "outside": a network beyond the cluster, as the provider
 * network behind a gateway chassis is in a real deployment. The hub gets a
 * third Linux bridge, `external`; a host namespace `<prefix>-out` sits on
 * it with the first address of the outside CIDR (the address an external
 * subnet names as its gateway); each chosen member gets a link `ex0` on that
 * bridge, made a port of an OVS bridge `br-ex` in the member's own switch.
 * `microovn chassis set bridge-mappings physnet1:br-ex` and `chassis set
 * gateway true` on such a member then make it a gateway chassis for a flat
 * provider network `physnet1`.
 *
 * What is pure (reading the options, checking them against the lab) is
 * here and unit-tested; the Lab makes the links.
 */
import { MicroOvnError } from "../errors.js";

export const DEFAULT_OUTSIDE_CIDR = "203.0.113.0/24";
/** The hub's bridge for the outside network. */
export const OUTSIDE_BRIDGE = "external";
/** The OVS bridge on each linked member; a bridge mapping names it. */
export const OUTSIDE_OVS_BRIDGE = "br-ex";
/** The member's end of its link to the outside (a port of br-ex). */
export const OUTSIDE_LINK = "ex0";
/** What `lab exec` calls the outside host. */
export const OUTSIDE_HOST = "outside";

export interface LabOutside {
  namespace: string;
  /** The outside network, e.g. 203.0.113.0/24. */
  cidr: string;
  /** The outside host's address: the CIDR's first one. */
  address: string;
  prefixLength: number;
  /** Members with a link on br-ex. */
  members: string[];
}

function refuse(message: string): MicroOvnError {
  return new MicroOvnError("BAD_LAB_OPTION", `${message}; nothing was made`);
}

function toNumber(octets: readonly number[]): number {
  return octets.reduce((n, o) => n * 256 + o, 0);
}

function toAddress(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

/**
 * Reads `--cidr`: an IPv4 network from /8 to /29 (room for the outside host,
 * gateway ports and floating IPs). Host bits are cleared.
 */
export function parseOutsideCidr(
  text: string,
): Pick<LabOutside, "cidr" | "address" | "prefixLength"> {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  const octets = m ? m.slice(1, 5).map(Number) : [];
  const prefixLength = m ? Number(m[5]) : NaN;
  if (!m || octets.some((o) => o > 255)) {
    throw refuse(
      `--cidr "${text}" is not an IPv4 network; write one such as ${DEFAULT_OUTSIDE_CIDR}`,
    );
  }
  if (prefixLength < 8 || prefixLength > 29) {
    throw refuse(
      `--cidr ${text} has a /${prefixLength} prefix; the outside network needs /8 to /29 ` +
        `(room for its host, router gateways and floating IPs), e.g. ${DEFAULT_OUTSIDE_CIDR}`,
    );
  }
  const size = 2 ** (32 - prefixLength);
  const network = Math.floor(toNumber(octets) / size) * size;
  return {
    cidr: `${toAddress(network)}/${prefixLength}`,
    address: toAddress(network + 1),
    prefixLength,
  };
}

/**
 * Reads `--members` (m1,m2; default: every member) against the lab's
 * members, and refuses a second outside network.
 */
export function outsideMembers(
  text: string | undefined,
  labMembers: readonly string[],
  current: LabOutside | undefined,
): string[] {
  if (current) {
    throw new MicroOvnError(
      "LAB_OUTSIDE_EXISTS",
      `the lab has an outside network already (${current.cidr}, linked to ` +
        `${current.members.join(", ")}); remove it first with \`microovn lab outside remove\``,
    );
  }
  if (text === undefined) return [...labMembers];
  const names = text.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !labMembers.includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw refuse(
      `--members names ${unknown.map((n) => `"${n}"`).join(", ")}, but the lab has the members ` +
        `${labMembers.join(", ")}`,
    );
  }
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0) throw refuse(`--members names ${twice.join(", ")} twice`);
  return names;
}
