/**
 * How ML2/OVN names and tags a router's rows in NB, and the keys of ours
 * next to them: the Logical_Router `neutron-<router id>`, its ports
 * `lrp-<port id>` (peers of the interface ports, Logical_Switch_Ports of
 * type `router`), its extra routes. Pure: no I/O.
 */
import { SWITCH_PREFIX } from "../rows.js";

/** Keys ML2/OVN writes on routers, their ports and routes (reference/openstack.md). */
export const ROUTER_KEYS = {
  routerName: "neutron:router_name",
  gwPortId: "neutron:gw_port_id",
  gwNetworkId: "neutron:gw_network_id",
  subnetIds: "neutron:subnet_ids",
  /** On an extra route (newer ML2/OVN): tells it from the gateway's default route. */
  isStaticRoute: "neutron:is_static_route",
  /** On the default route through the external gateway. */
  isExtGw: "neutron:is_ext_gw",
} as const;

/** The device_owner of a router's interface port. */
export const ROUTER_INTERFACE_OWNER = "network:router_interface";

/** The device_owner of a router's gateway port on an external network. */
export const ROUTER_GATEWAY_OWNER = "network:router_gateway";

/** The switch port's option naming its router port, and its one address. */
export const ROUTER_PORT_OPTION = "router-port";
export const ROUTER_PEER_ADDRESS = "router";

/** Options ML2/OVN gives every router it makes. */
export const ROUTER_OPTIONS: Readonly<Record<string, string>> = {
  always_learn_from_arp_request: "false",
  dynamic_neigh_routers: "true",
};

/** The Logical_Router of a router: named like a network's switch. */
export function routerName(routerId: string): string {
  return `${SWITCH_PREFIX}${routerId}`;
}

export function routerIdOf(name: string): string | undefined {
  return name.startsWith(SWITCH_PREFIX) ? name.slice(SWITCH_PREFIX.length) : undefined;
}

/** The Logical_Router_Port that is the peer of a router interface port. */
export function lrpName(portId: string): string {
  return `lrp-${portId}`;
}
