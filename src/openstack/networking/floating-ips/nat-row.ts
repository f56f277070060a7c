/**
 * A floating IP's NAT row, as ML2/OVN writes it: type `dnat_and_snat` on
 * the router that reaches the external network, the VM's fixed address as
 * `logical_ip` and the floating address as `external_ip`, option
 * `stateless=false`, and the `neutron:fip_*` keys. Distributed, the row
 * also names the VM's port (`logical_port`) and the floating port's MAC
 * (`external_mac`): the VM's own chassis then answers for the address and
 * translates its traffic on the spot, onto the external network through
 * its own bridge. That works only where that chassis bridges the external
 * network's physical network; otherwise the row is centralised: the
 * gateway chassis does it, for every VM behind the router. Pure: facts in,
 * rows out.
 */
import { bridgedNetworks } from "../routers/gateway-rows.js";
import type { ChassisOptionsRow } from "../agents/chassis-options.js";
import { routerName } from "../routers/names.js";
import { FIP_KEYS } from "./names.js";
import { NEUTRON } from "../attributes.js";

export type FipMode = "distributed" | "centralised";

/** What decides where a floating IP's translation happens. */
export interface ModeFacts {
  /** The cluster setting `openstack-api.distributed-floating-ips` (true unless set). */
  distributedAllowed: boolean;
  /** The external network's physical network (none: an overlay network, only gateways reach it). */
  physicalNetwork: string | undefined;
  /** The chassis the VM's port is bound to (or requested on), if SB knows it. */
  hostChassis: ChassisOptionsRow | undefined;
}

export function fipMode(f: ModeFacts): FipMode {
  const reaches =
    f.physicalNetwork !== undefined &&
    f.hostChassis !== undefined &&
    bridgedNetworks(f.hostChassis).has(f.physicalNetwork);
  return f.distributedAllowed && reaches ? "distributed" : "centralised";
}

/** The columns that differ between the two modes. */
export interface ModeColumns {
  logical_port: string | undefined;
  external_mac: string | undefined;
}

export function modeColumns(mode: FipMode, portId: string, fipMac: string): ModeColumns {
  return mode === "distributed"
    ? { logical_port: portId, external_mac: fipMac }
    : { logical_port: undefined, external_mac: undefined };
}

/** What a floating IP's association is. */
export interface Association {
  fipId: string;
  floatingIp: string;
  fipMac: string;
  networkId: string;
  routerId: string;
  portId: string;
  fixedIp: string;
  revision: number;
}

export interface FipNatRow extends ModeColumns {
  type: "dnat_and_snat";
  logical_ip: string;
  external_ip: string;
  options: Map<string, string>;
  external_ids: Map<string, string>;
}

export function fipNatRow(a: Association, mode: FipMode): FipNatRow {
  return {
    type: "dnat_and_snat",
    logical_ip: a.fixedIp,
    external_ip: a.floatingIp,
    ...modeColumns(mode, a.portId, a.fipMac),
    options: new Map([["stateless", "false"]]),
    external_ids: new Map([
      [FIP_KEYS.fipId, a.fipId],
      [NEUTRON.revision, String(a.revision)],
      [FIP_KEYS.fipPortId, a.portId],
      [FIP_KEYS.routerName, routerName(a.routerId)],
      [FIP_KEYS.fipExternalMac, a.fipMac],
      [FIP_KEYS.fipNetworkId, a.networkId],
    ]),
  };
}

/** The mode a NAT row is in now. */
export function modeOf(row: {
  logical_port: string | undefined;
  external_mac: string | undefined;
}) {
  return row.logical_port !== undefined && row.external_mac !== undefined
    ? "distributed"
    : "centralised";
}

/** The columns to write when the row is not in the mode it should be in; undefined when it is. */
export function modeChange(
  row: { logical_port: string | undefined; external_mac: string | undefined },
  wanted: FipMode,
  portId: string,
  fipMac: string,
): ModeColumns | undefined {
  const want = modeColumns(wanted, portId, fipMac);
  return row.logical_port === want.logical_port && row.external_mac === want.external_mac
    ? undefined
    : want;
}
