/**
 * A rule's remote_ip_prefix: an IPv4 or IPv6 address with an optional
 * prefix length. Neutron answers it as given (a bare address gains /32 or
 * /128) but matches the network it names, host bits cleared — unlike a
 * subnet's CIDR, host bits are allowed here.
 */
import { formatPrefix, parseIp } from "../addresses.js";

export interface IpPrefix {
  family: "IPv4" | "IPv6";
  /** As Neutron shows it: the text given, with the prefix length always present. */
  shown: string;
  /** The network, host bits cleared, as OVN's match takes it. */
  network: string;
}

/** The prefix, or undefined when the text is no address with a valid length. */
export function parseIpPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const lengthText = slash < 0 ? undefined : text.slice(slash + 1);
  const ip = parseIp(address);
  if (!ip) return undefined;
  const width = ip.version === 4 ? 32 : 128;
  if (lengthText !== undefined && !/^[0-9]{1,3}$/.test(lengthText)) return undefined;
  const length = lengthText === undefined ? width : Number(lengthText);
  if (length > width) return undefined;
  const hostBits = BigInt(width - length);
  const network = (ip.value >> hostBits) << hostBits;
  return {
    family: ip.version === 4 ? "IPv4" : "IPv6",
    shown: `${address}/${length}`,
    network: formatPrefix({ version: ip.version, network, length }),
  };
}
