/**
 * The NB rows of a router's external gateway, as ML2/OVN writes them:
 * which chassis may host the gateway port (Gateway_Chassis, highest
 * priority first), the default routes through the external subnets'
 * gateways, and the SNAT rows that hide the router's IPv4 subnets behind
 * the gateway address. Pure: facts in, rows out.
 */
import {
  chassisOption,
  isGatewayChassis,
  type ChassisOptionsRow,
} from "../agents/chassis-options.js";
import { parseIp } from "../addresses.js";
import type { FixedIp } from "../rows.js";
import { ROUTER_KEYS } from "./names.js";

/** The key ML2/OVN puts on the default route: the external subnet it goes through. */
export const ROUTE_SUBNET_ID = "neutron:subnet_id";

/** A chassis as SB names it, with the options it reports. */
export interface NamedChassis extends ChassisOptionsRow {
  name: string;
}

/** The physical networks a chassis bridges (`physnet1:br-ex,physnet2:br-x`). */
export function bridgedNetworks(chassis: ChassisOptionsRow): Set<string> {
  const mappings = chassisOption(chassis, "ovn-bridge-mappings") ?? "";
  return new Set(
    mappings
      .split(",")
      .map((m) => m.split(":")[0]!.trim())
      .filter((n) => n !== ""),
  );
}

/**
 * The chassis that may host a gateway on a network: gateway chassis
 * (`enable-chassis-as-gw`) that bridge its physical network; for an
 * overlay network (none) any gateway chassis. By name, so the choice does
 * not depend on the order SB lists them in.
 */
export function gatewayCandidates(
  chassis: Iterable<NamedChassis>,
  physicalNetwork: string | undefined,
): string[] {
  return [...chassis]
    .filter(
      (c) =>
        isGatewayChassis(c) &&
        (physicalNetwork === undefined || bridgedNetworks(c).has(physicalNetwork)),
    )
    .map((c) => c.name)
    .sort();
}

export interface GatewayChassisRow {
  name: string;
  chassis_name: string;
  priority: number;
}

/** One Gateway_Chassis per candidate, `<lrp>_<chassis>`, the first the highest priority. */
export function gatewayChassisRows(lrp: string, names: readonly string[]): GatewayChassisRow[] {
  return names.map((c, i) => ({
    name: `${lrp}_${c}`,
    chassis_name: c,
    priority: names.length - i,
  }));
}

/** What the gateway needs to know of an external subnet. */
export interface ExternalSubnet {
  ipVersion: number;
  gatewayIp: string | null;
}

export interface DefaultRouteRow {
  ip_prefix: string;
  nexthop: string;
  external_ids: Map<string, string>;
}

/** A default route per address family the gateway port has, via that subnet's gateway. */
export function defaultRoutes(
  fixedIps: readonly FixedIp[],
  subnets: ReadonlyMap<string, ExternalSubnet>,
): DefaultRouteRow[] {
  const out: DefaultRouteRow[] = [];
  const families = new Set<number>();
  for (const ip of fixedIps) {
    const s = subnets.get(ip.subnet_id);
    if (!s || s.gatewayIp === null || families.has(s.ipVersion)) continue;
    families.add(s.ipVersion);
    out.push({
      ip_prefix: s.ipVersion === 4 ? "0.0.0.0/0" : "::/0",
      nexthop: s.gatewayIp,
      external_ids: new Map([
        [ROUTER_KEYS.isExtGw, "true"],
        [ROUTE_SUBNET_ID, ip.subnet_id],
      ]),
    });
  }
  return out;
}

/** The gateway port's IPv4 address: what SNAT rewrites to. */
export function snatAddress(fixedIps: readonly FixedIp[]): string | undefined {
  return fixedIps.find((ip) => parseIp(ip.ip_address)?.version === 4)?.ip_address;
}

export interface SnatRow {
  type: "snat";
  logical_ip: string;
  external_ip: string;
}

/** One SNAT row per internal IPv4 subnet (IPv6 is routed, not translated), each once. */
export function snatRows(
  externalIp: string | undefined,
  internalCidrs: readonly string[],
): SnatRow[] {
  if (externalIp === undefined) return [];
  const cidrs = [...new Set(internalCidrs)].filter((c) => parseIp(c.split("/")[0]!)?.version === 4);
  return cidrs.map((c) => ({ type: "snat", logical_ip: c, external_ip: externalIp }));
}
