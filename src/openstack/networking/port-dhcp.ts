/**
 * Which DHCP_Options row a port's `dhcpv4_options`/`dhcpv6_options` point
 * at, as ML2/OVN wires them: the row of the first subnet of that IP version
 * the port has an address in (for IPv6 a stateful one first), none when
 * that subnet gives no DHCP or the port turned it off, and a row of the
 * port's own (the subnet's options plus its extra_dhcp_opts, external_ids
 * `port_id`) when it has extra options. The network's own ports (a device
 * owner `network:…` or `neutron:…`: router interfaces and gateways, DHCP,
 * floating IPs) get none, as under ML2/OVN. Subnets and ports both rewire
 * ports through here.
 */
import type { DhcpOptions } from "../../ovsdb/models/ovn-northbound.js";
import { NEUTRON, jsonOf } from "./attributes.js";
import { ipVersionOf, type IpVersion } from "./addresses.js";
import { portDhcpOptions, type ExtraDhcpOpt } from "./dhcp.js";
import { SUBNET_NETWORK, fixedIpsOf, type FixedIp, type NbRows } from "./rows.js";
import type { NbTransaction } from "./write.js";

export interface PortDhcpState {
  id: string;
  /** Being created: it has no DHCP rows of its own yet. */
  isNew?: boolean;
  networkId: string;
  deviceOwner: string;
  fixedIps: readonly FixedIp[];
  extraDhcpOpts: readonly ExtraDhcpOpt[];
}

/** Owners whose ports belong to the network itself, which no DHCP serves. */
const NETWORK_DEVICE_OWNERS = ["network:", "neutron:"];

function isNetworkDevice(deviceOwner: string): boolean {
  return NETWORK_DEVICE_OWNERS.some((prefix) => deviceOwner.startsWith(prefix));
}

/** A subnet's DHCP row as a change will leave it (options may be about to change). */
export interface SubnetDhcpRow {
  uuid: string;
  cidr: string;
  options: ReadonlyMap<string, string>;
  externalIds: ReadonlyMap<string, string>;
}

function subnetRow(rows: NbRows, id: string, pending: ReadonlyMap<string, SubnetDhcpRow>) {
  const p = pending.get(id);
  if (p) return p;
  const row: DhcpOptions | undefined = rows.subnet(id);
  return (
    row && { uuid: row._uuid, cidr: row.cidr, options: row.options, externalIds: row.external_ids }
  );
}

/**
 * Removes the port's own DHCP rows and returns the values of its
 * `dhcpv4_options` and `dhcpv6_options` columns, inserting new rows of its
 * own where its extra options need them. `pending` holds subnet rows the
 * same transaction changes.
 */
export function wirePortDhcp(
  txn: NbTransaction,
  rows: NbRows,
  port: PortDhcpState,
  pending: ReadonlyMap<string, SubnetDhcpRow> = new Map(),
): { dhcpv4_options: string | undefined; dhcpv6_options: string | undefined } {
  // A new port has no rows of its own to remove.
  if (!port.isNew) {
    txn.delete("DHCP_Options", [
      ["external_ids", "includes", new Map([[NEUTRON.portId, port.id]])],
    ]);
  }
  const pick = (version: IpVersion): string | undefined => {
    if (isNetworkDevice(port.deviceOwner)) return undefined;
    const subnets = port.fixedIps
      .filter((ip) => ipVersionOf(ip.ip_address) === version)
      .map((ip) => subnetRow(rows, ip.subnet_id, pending))
      .filter((r): r is SubnetDhcpRow => r !== undefined && r.options.size > 0);
    const chosen =
      version === 6
        ? (subnets.find((r) => r.options.get("dhcpv6_stateless") !== "true") ?? subnets[0])
        : subnets[0];
    if (!chosen) return undefined;
    const own = portDhcpOptions(port.extraDhcpOpts, version);
    if (own.disabled) return undefined;
    if (Object.keys(own.options).length === 0) return chosen.uuid;
    const externalIds = new Map(chosen.externalIds);
    externalIds.set(NEUTRON.portId, port.id);
    externalIds.set(SUBNET_NETWORK, port.networkId);
    return txn.insert("DHCP_Options", {
      cidr: chosen.cidr,
      options: new Map([...chosen.options, ...Object.entries(own.options)]),
      external_ids: externalIds,
    });
  };
  return { dhcpv4_options: pick(4), dhcpv6_options: pick(6) };
}

/** A port's extra_dhcp_opts, kept as JSON under our key. */
export const EXTRA_DHCP_OPTS = "microovn:extra_dhcp_opts";

export function extraDhcpOptsOf(ids: ReadonlyMap<string, string>): ExtraDhcpOpt[] {
  return jsonOf<ExtraDhcpOpt[]>(ids, EXTRA_DHCP_OPTS, []);
}

/**
 * Points every port of the network holding an address in `subnetId` at the
 * DHCP rows the subnet's new state gives (after DHCP was turned on or off,
 * or the options changed under ports with options of their own).
 */
export function rewireSubnetPorts(
  txn: NbTransaction,
  rows: NbRows,
  networkId: string,
  subnetId: string,
  pending: ReadonlyMap<string, SubnetDhcpRow>,
): void {
  for (const lsp of rows.portsOf(networkId)) {
    const fixedIps = fixedIpsOf(lsp.external_ids);
    if (!fixedIps.some((ip) => ip.subnet_id === subnetId)) continue;
    const columns = wirePortDhcp(
      txn,
      rows,
      {
        id: lsp.name,
        networkId,
        deviceOwner: lsp.external_ids.get(NEUTRON.deviceOwner) ?? "",
        fixedIps,
        extraDhcpOpts: extraDhcpOptsOf(lsp.external_ids),
      },
      pending,
    );
    txn.update("Logical_Switch_Port", [["_uuid", "==", lsp._uuid]], columns);
  }
}
