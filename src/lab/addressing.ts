/**
 * The lab's address plan, IPv4 or IPv6-only. An IPv4 lab puts its members
 * in 198.18.0.0/24 and the Geneve underlay in 198.18.1.0/24 (RFC 2544's
 * range for test networks); an IPv6-only lab (`lab up --ipv6`) puts them in
 * unique local networks, fd50:0:0:1::/64 and fd50:0:0:2::/64, with no IPv4
 * address on either, so every connection between members (Raft, OVSDB,
 * member API, Geneve) has to work over IPv6. The VMs' logical network does
 * not depend on the underlay: in an IPv6 lab they get an IPv6 address
 * (fd10::/64) besides their IPv4 one.
 *
 * Pure, so it is unit-tested; the Lab adds the addresses.
 */

export type LabFamily = "ipv4" | "ipv6";

const PLAN = {
  ipv4: { members: "198.18.0.", underlay: "198.18.1.", prefixLength: 24 },
  ipv6: { members: "fd50:0:0:1::", underlay: "fd50:0:0:2::", prefixLength: 64 },
} as const;

/** The VMs' IPv6 network in an IPv6 lab. */
const VM_NET6 = "fd10::";

/** Member `index`'s own address (Raft, OVSDB, member API). */
export function labMemberAddress(family: LabFamily, index: number): string {
  return `${PLAN[family].members}${hostPart(family, index)}`;
}

/** Member `index`'s underlay address, which Geneve leaves from (netdev datapath). */
export function labUnderlayAddress(family: LabFamily, index: number): string {
  return `${PLAN[family].underlay}${hostPart(family, index)}`;
}

/** VM `index`'s IPv6 address (IPv6 labs only). */
export function labVmIpv6(index: number): string {
  return `${VM_NET6}${(10 + index).toString(16)}`;
}

/**
 * Hex for IPv6, so that member 10 is fd50:0:0:1::a, the canonical form
 * OVSDB and the kernel print back.
 */
function hostPart(family: LabFamily, index: number): string {
  return family === "ipv6" ? index.toString(16) : String(index);
}

/**
 * `ip addr add` arguments for `address` on `dev`, with the family's prefix
 * length. IPv6 addresses skip duplicate address detection: while it runs
 * (about a second) the address is "tentative" and nothing can bind to it,
 * and no other host in the lab has it.
 */
export function labAddressArgs(family: LabFamily, address: string, dev: string): string[] {
  const args = ["addr", "add", `${address}/${PLAN[family].prefixLength}`, "dev", dev];
  return family === "ipv6" ? [...args, "nodad"] : args;
}
