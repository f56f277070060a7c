/**
 * The Logical_Router_Port ML2/OVN makes for an interface port: `mac` the
 * port's, `networks` each fixed IP with its subnet's prefix length, and,
 * when a subnet has an IPv6 address mode, `ipv6_ra_configs` so that OVN
 * sends router advertisements (address mode, periodic, the network's MTU)
 * and VMs configure themselves from them. Pure: no I/O.
 */
import { NEUTRON } from "../attributes.js";
import type { FixedIp } from "../rows.js";
import { ROUTER_KEYS } from "./names.js";

/** What a router port needs to know of a subnet. */
export interface PortSubnet {
  cidr: string;
  ipv6AddressMode: string | null;
}

/** Neutron's IPv6 address modes, as OVN's ipv6_ra_configs spells them. */
const RA_ADDRESS_MODES: Readonly<Record<string, string>> = {
  slaac: "slaac",
  "dhcpv6-stateful": "dhcpv6_stateful",
  "dhcpv6-stateless": "dhcpv6_stateless",
};

export interface RouterPortColumns {
  networks: string[];
  ipv6_ra_configs: Map<string, string>;
}

export function routerPortColumns(
  fixedIps: readonly FixedIp[],
  subnets: ReadonlyMap<string, PortSubnet>,
  mtu: number,
): RouterPortColumns {
  const networks: string[] = [];
  const ra = new Map<string, string>();
  for (const ip of fixedIps) {
    const subnet = subnets.get(ip.subnet_id);
    if (!subnet) continue;
    const network = `${ip.ip_address}/${subnet.cidr.split("/")[1]}`;
    if (!networks.includes(network)) networks.push(network);
    // As ML2/OVN: the first subnet with an address mode decides.
    const mode = subnet.ipv6AddressMode && RA_ADDRESS_MODES[subnet.ipv6AddressMode];
    if (mode && ra.size === 0) {
      ra.set("address_mode", mode);
      ra.set("send_periodic", "true");
      ra.set("mtu", String(mtu));
    }
  }
  return { networks, ipv6_ra_configs: ra };
}

/**
 * The router port's external_ids, as ML2/OVN writes them. Since Neutron
 * 24 (2024.1) every router port says whether it is the gateway, as
 * Python spells a boolean ("True"/"False"); the router stays named by its
 * bare id, as until Neutron 27.
 */
export function routerPortIds(options: {
  routerId: string;
  networkSwitch: string;
  subnetIds: readonly string[];
  isGateway: boolean;
}): Map<string, string> {
  return new Map([
    [NEUTRON.revision, "1"],
    [ROUTER_KEYS.subnetIds, options.subnetIds.join(" ")],
    [NEUTRON.networkName, options.networkSwitch],
    [ROUTER_KEYS.isExtGw, options.isGateway ? "True" : "False"],
    [ROUTER_KEYS.routerName, options.routerId],
  ]);
}
