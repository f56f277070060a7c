/**
 * OVN's native DHCP for subnets, with the options Neutron's ML2/OVN driver
 * writes: for IPv4 `server_id` (the gateway), `router`, `lease_time`,
 * `mtu`, `server_mac`, `dns_server` and, with host routes,
 * `classless_static_route` ending in the default route (RFC 3442 clients
 * then ignore `router`); for IPv6 `server_id` (a MAC), `dns_server` and
 * `dhcpv6_stateless` for stateless subnets. A port's extra_dhcp_opts are
 * Neutron's option names, turned into OVN's. Pure.
 */
import { ApiError } from "../errors.js";
import { randomMac, type IpVersion } from "./addresses.js";

/** ML2/OVN's default lease: 12 hours. */
export const LEASE_TIME = "43200";

export interface HostRoute {
  destination: string;
  nexthop: string;
}

export interface SubnetDhcpInput {
  version: IpVersion;
  enableDhcp: boolean;
  gatewayIp: string | null;
  dnsNameservers: readonly string[];
  hostRoutes: readonly HostRoute[];
  mtu: number;
  ipv6AddressMode: string | null;
  /** The MAC the subnet's DHCP server already answers from (kept across changes). */
  serverMac: string | undefined;
}

function braced(values: readonly string[]): string {
  return `{${values.join(", ")}}`;
}

/**
 * The DHCP_Options `options` of a subnet. Empty when DHCP is off, for an
 * IPv4 subnet without a gateway (OVN needs a server address, and ML2/OVN
 * then has none either without a metadata port), and for SLAAC subnets
 * (router advertisements give their addresses).
 */
export function subnetDhcpOptions(s: SubnetDhcpInput): Record<string, string> {
  if (!s.enableDhcp) return {};
  const mac = s.serverMac ?? randomMac();
  if (s.version === 4) {
    if (s.gatewayIp === null) return {};
    const options: Record<string, string> = {
      server_id: s.gatewayIp,
      lease_time: LEASE_TIME,
      mtu: String(s.mtu),
      router: s.gatewayIp,
      server_mac: mac,
    };
    if (s.dnsNameservers.length > 0) options.dns_server = braced(s.dnsNameservers);
    if (s.hostRoutes.length > 0) {
      const routes = s.hostRoutes.map((r) => `${r.destination},${r.nexthop}`);
      routes.push(`0.0.0.0/0,${s.gatewayIp}`);
      options.classless_static_route = braced(routes);
    }
    return options;
  }
  if (s.ipv6AddressMode === "slaac") return {};
  const options: Record<string, string> = { server_id: mac };
  if (s.dnsNameservers.length > 0) options.dns_server = braced(s.dnsNameservers);
  if (s.ipv6AddressMode === "dhcpv6-stateless") options.dhcpv6_stateless = "true";
  return options;
}

/** The MAC a subnet's DHCP server answers from, to keep it when the options are made again. */
export function serverMacOf(
  options: ReadonlyMap<string, string>,
  version: IpVersion,
): string | undefined {
  return options.get(version === 4 ? "server_mac" : "server_id");
}

/** The options with the new MTU, or undefined when they carry none. */
export function dhcpOptionsWithMtu(
  options: ReadonlyMap<string, string>,
  mtu: number,
): Map<string, string> | undefined {
  if (!options.has("mtu")) return undefined;
  const out = new Map(options);
  out.set("mtu", String(mtu));
  return out;
}

export interface ExtraDhcpOpt {
  opt_name: string;
  opt_value: string | null;
  ip_version?: number;
}

type OptionKind = "text" | "list" | "plain";

/** Neutron's option names (dnsmasq's) → OVN's, and how OVN wants the value. */
const V4_OPTIONS: Record<string, [string, OptionKind]> = {
  router: ["router", "plain"],
  "dns-server": ["dns_server", "list"],
  "domain-name": ["domain_name", "text"],
  "domain-search": ["domain_search_list", "text"],
  mtu: ["mtu", "plain"],
  "lease-time": ["lease_time", "plain"],
  "bootfile-name": ["bootfile_name", "text"],
  "tftp-server": ["tftp_server", "text"],
  "server-ip-address": ["tftp_server_address", "plain"],
  "tftp-server-address": ["tftp_server_address", "plain"],
  "ntp-server": ["ntp_server", "list"],
  "classless-static-route": ["classless_static_route", "list"],
  "ip-forward-enable": ["ip_forward_enable", "plain"],
  "log-server": ["log_server", "list"],
  T1: ["T1", "plain"],
  T2: ["T2", "plain"],
  wpad: ["wpad", "text"],
  "path-prefix": ["path_prefix", "text"],
  hostname: ["hostname", "text"],
};

const V6_OPTIONS: Record<string, [string, OptionKind]> = {
  "dns-server": ["dns_server", "list"],
  "domain-search": ["domain_search", "text"],
};

/** A port's extra_dhcp_opts that turn DHCP off for it (ML2/OVN's `dhcp_disabled`). */
export const DHCP_DISABLED = "dhcp_disabled";

function value(kind: OptionKind, raw: string): string {
  if (kind === "text") return `"${raw.replace(/^"|"$/g, "").replace(/"/g, '\\"')}"`;
  if (kind === "list" && !raw.startsWith("{")) return braced(raw.split(",").map((x) => x.trim()));
  return raw;
}

/**
 * The OVN options a port's extra_dhcp_opts add for one IP version, and
 * whether they turn DHCP off for the port. An option OVN cannot give is a
 * 400 naming it.
 */
export function portDhcpOptions(
  opts: readonly ExtraDhcpOpt[],
  version: IpVersion,
): { disabled: boolean; options: Record<string, string> } {
  const table = version === 4 ? V4_OPTIONS : V6_OPTIONS;
  const options: Record<string, string> = {};
  let disabled = false;
  for (const opt of opts) {
    if ((opt.ip_version ?? 4) !== version) continue;
    if (opt.opt_name === DHCP_DISABLED) {
      disabled = opt.opt_value === "true" || opt.opt_value === "True";
      continue;
    }
    if (opt.opt_value === null) continue;
    const known = table[opt.opt_name] ?? Object.values(table).find(([ovn]) => ovn === opt.opt_name);
    if (!known) {
      throw new ApiError(
        400,
        `Invalid input for extra_dhcp_opts. Reason: OVN's DHCP cannot give option '${opt.opt_name}' for IPv${version}; it gives ${Object.keys(table).join(", ")}.`,
      );
    }
    options[known[0]] = value(known[1], opt.opt_value);
  }
  return { disabled, options };
}

/** Checks extra_dhcp_opts without applying them: versions and names. */
export function checkExtraDhcpOpts(opts: readonly ExtraDhcpOpt[]): void {
  for (const opt of opts) {
    if (opt.ip_version !== undefined && opt.ip_version !== 4 && opt.ip_version !== 6) {
      throw new ApiError(
        400,
        `Invalid input for extra_dhcp_opts. Reason: ip_version ${opt.ip_version} is neither 4 nor 6.`,
      );
    }
  }
  portDhcpOptions(opts, 4);
  portDhcpOptions(opts, 6);
}
