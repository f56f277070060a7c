/**
 * IP protocols a rule may name, as Neutron accepts them: a name from its
 * list or a number 0–255. ACL matches use the number, except for the
 * protocols OVN matches by name (tcp, udp, sctp, icmp4/icmp6).
 */

/** Neutron's protocol names and their numbers (`icmpv6` is its legacy alias of `ipv6-icmp`). */
export const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  igmp: 2,
  ipip: 4,
  "ipv6-encap": 41,
  "ipv6-frag": 44,
  "ipv6-icmp": 58,
  icmpv6: 58,
  "ipv6-nonxt": 59,
  "ipv6-opts": 60,
  "ipv6-route": 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
};

export const TCP = 6;
export const UDP = 17;
export const SCTP = 132;
export const ICMP = 1;
export const ICMPV6 = 58;

/** Protocols whose port_range_min/max are ports (the rest take none). */
export const PORT_PROTOCOLS: ReadonlySet<number> = new Set([TCP, UDP, SCTP, 33, 136]);

/** Protocols that exist only over IPv6: an IPv4 rule naming one conflicts. */
export const IPV6_ONLY_PROTOCOLS: ReadonlySet<number> = new Set([41, 43, 44, 58, 59, 60]);

/**
 * The number of a rule's protocol (a name, or a number given as a number
 * or a string), or undefined when it is neither.
 */
export function protocolNumber(protocol: string | number): number | undefined {
  if (typeof protocol === "number" || /^[0-9]{1,3}$/.test(protocol)) {
    const n = Number(protocol);
    return Number.isInteger(n) && n >= 0 && n <= 255 ? n : undefined;
  }
  return Object.hasOwn(PROTOCOL_NUMBERS, protocol.toLowerCase())
    ? PROTOCOL_NUMBERS[protocol.toLowerCase()]
    : undefined;
}

export function validProtocolsText(): string {
  return `${Object.keys(PROTOCOL_NUMBERS).join(", ")}, or a number from 0 to 255`;
}
