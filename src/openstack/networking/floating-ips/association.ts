/**
 * Associating a floating IP with a VM's port, and taking it off, as
 * Neutron's L3 plugin checks it and ML2/OVN writes it: the port's fixed
 * IPv4 address (the one asked, or its only one), the router that has an
 * interface on that address's subnet and its external gateway on the
 * floating IP's network, one floating IP per fixed address; then one
 * `dnat_and_snat` NAT row on that router (nat-row.ts), distributed or
 * centralised by where the VM's port is, and `neutron:port_fip` on the
 * port. Guarded by the gateway's and the interface's router ports and by
 * the NAT rows of that fixed address, so a gateway or interface removed, or
 * another floating IP given the same address, on another server meanwhile
 * makes this look again; other floating IPs on the router do not.
 */
import { isAdmin, type Caller } from "../../auth/caller.js";
import type { LogicalSwitchPort, Nat } from "../../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../../errors.js";
import { parseIp } from "../addresses.js";
import { NEUTRON } from "../attributes.js";
import { notFound } from "../collection.js";
import { NETWORK_KEYS } from "../networks.js";
import { fixedIpsOf, type FixedIp, type NbRows } from "../rows.js";
import { gatewayPortId } from "../routers/gateway.js";
import { ROUTER_KEYS, lrpName } from "../routers/names.js";
import { routerPorts, routersById } from "../routers/rows.js";
import { expectSame, type NbTransaction } from "../write.js";
import type { HostLookup } from "./host.js";
import { FIP_KEYS, badFloatingipRequest } from "./names.js";
import { fipMode, fipNatRow, type FipMode } from "./nat-row.js";
import { fipLoadBalancers, natsOfPort, removeFipNat } from "./rows.js";

/** What an association needs besides the request. */
export interface FipContext {
  rows: NbRows;
  txn: NbTransaction;
  caller: Caller;
  /** `openstack-api.distributed-floating-ips`, read when a row is written. */
  distributedAllowed: () => boolean;
  host: HostLookup;
}

/** The floating IP being associated: what its NAT row says of it. */
export interface FloatingIp {
  id: string;
  floatingIp: string;
  mac: string;
  networkId: string;
  /** Its revision once this change is written. */
  revision: number;
}

/** The VM port, checked: it exists, the caller may use it, and it is no network's own port. */
export function vmPort(g: FipContext, portId: string): LogicalSwitchPort {
  const lsp = g.rows.port(portId);
  const project = lsp?.external_ids.get(NEUTRON.projectId);
  if (!lsp || (!isAdmin(g.caller) && project !== g.caller.projectId)) {
    throw notFound("Port", portId);
  }
  const owner = lsp.external_ids.get(NEUTRON.deviceOwner) ?? "";
  if (owner.startsWith("network:")) {
    throw badFloatingipRequest(
      `Port ${portId} has device owner ${owner} and cannot be given a floating IP; associate it with a VM's port`,
    );
  }
  return lsp;
}

/** The fixed address to translate to: the one asked for, or the port's only IPv4 address. */
function fixedAddress(lsp: LogicalSwitchPort, asked: string | undefined): FixedIp {
  const ips = fixedIpsOf(lsp.external_ids);
  if (asked !== undefined) {
    const ip = parseIp(asked);
    const found = ip && ips.find((f) => parseIp(f.ip_address)?.value === ip.value);
    if (!found) throw badFloatingipRequest(`Port ${lsp.name} does not have fixed ip ${asked}`);
    if (ip.version !== 4) {
      throw badFloatingipRequest(
        `${asked} is not an IPv4 address: floating IPs translate to a port's IPv4 addresses`,
      );
    }
    return found;
  }
  const v4 = ips.filter((f) => parseIp(f.ip_address)?.version === 4);
  if (v4.length === 0) {
    throw badFloatingipRequest(
      `Cannot add floating IP to port ${lsp.name} that has no fixed IPv4 addresses`,
    );
  }
  if (v4.length > 1) {
    throw badFloatingipRequest(
      `Port ${lsp.name} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP`,
    );
  }
  return v4[0]!;
}

/**
 * The router that reaches the external network from the subnet, as Neutron
 * looks for it, with its gateway's router port and the interface's.
 */
export function routerFor(rows: NbRows, networkId: string, fixed: FixedIp, portId: string) {
  for (const [id, lr] of routersById(rows)) {
    const gateway = gatewayPortId(lr);
    if (gateway === undefined) continue;
    if (lr.external_ids.get(ROUTER_KEYS.gwNetworkId) !== networkId) continue;
    const ports = routerPorts(rows, lr);
    const gatewayLrp = ports.find((p) => p.name === lrpName(gateway));
    const interfaceLrp = ports.find(
      (p) =>
        p !== gatewayLrp &&
        (p.external_ids.get(ROUTER_KEYS.subnetIds) ?? "").split(" ").includes(fixed.subnet_id),
    );
    if (gatewayLrp && interfaceLrp) return { id, lr, gatewayLrp, interfaceLrp };
  }
  throw new ApiError(
    404,
    `External network ${networkId} is not reachable from subnet ${fixed.subnet_id}.  Therefore, cannot associate Port ${portId} with a Floating IP.`,
    "ExternalGatewayForFloatingIPNotFound",
  );
}

/** Where the floating IP of this port should be translated now. */
export function wantedMode(
  rows: NbRows,
  distributedAllowed: boolean,
  host: HostLookup,
  networkId: string,
  lsp: LogicalSwitchPort,
): FipMode {
  return fipMode({
    distributedAllowed,
    physicalNetwork: rows.network(networkId)?.external_ids.get(NETWORK_KEYS.physicalNetwork),
    hostChassis: host(lsp),
  });
}

/** What an association became: the floating IP's router, port and fixed address. */
export interface Associated {
  routerId: string;
  portId: string;
  fixedIp: string;
}

/**
 * Associates the floating IP with the port; `replacing` is its current NAT
 * row, taken away once the new association is checked and guarded.
 */
export function associate(
  g: FipContext,
  fip: FloatingIp,
  portId: string,
  askedFixedIp: string | undefined,
  replacing?: Nat,
): Associated {
  const { rows, txn } = g;
  if (fipLoadBalancers(rows, fip.id).length > 0) {
    throw new ApiError(
      409,
      `Floating IP ${fip.id} has port forwardings: a floating IP has port forwardings or a port, not both; delete them first.`,
      "FipInUseByPortForwarding",
    );
  }
  const lsp = vmPort(g, portId);
  const fixed = fixedAddress(lsp, askedFixedIp);
  const router = routerFor(rows, fip.networkId, fixed, portId);
  const taken = natsOfPort(rows, portId).find(
    (n) =>
      n.logical_ip === fixed.ip_address &&
      n.external_ids.get(FIP_KEYS.fipId) !== fip.id &&
      n.external_ids.get(FIP_KEYS.fipNetworkId) === fip.networkId,
  );
  if (taken) {
    throw new ApiError(
      409,
      `Cannot associate floating IP ${fip.floatingIp} (${fip.id}) with port ${portId} using fixed IP ${fixed.ip_address}, as that fixed IP already has a floating IP on external network ${fip.networkId}.`,
      "FloatingIPPortAlreadyAssociated",
    );
  }
  const mode = wantedMode(rows, g.distributedAllowed(), g.host, fip.networkId, lsp);
  const row = fipNatRow(
    {
      fipId: fip.id,
      floatingIp: fip.floatingIp,
      fipMac: fip.mac,
      networkId: fip.networkId,
      routerId: router.id,
      portId,
      fixedIp: fixed.ip_address,
      revision: fip.revision,
    },
    mode,
  );
  // The gateway and the interface this goes through must still be there, as read: a
  // change to either on another server meanwhile makes this look again. Other floating
  // IPs on the router are no reason to: associations on one router do not wait on
  // each other (removing an interface or the gateway guards the router's NAT rows,
  // which this changes, so those look again instead).
  expectSame(txn, "Logical_Router_Port", router.gatewayLrp._uuid, {
    name: router.gatewayLrp.name,
  });
  expectSame(txn, "Logical_Router_Port", router.interfaceLrp._uuid, {
    external_ids: router.interfaceLrp.external_ids,
  });
  // The port must still be there (deleting it disassociates its floating IPs).
  expectSame(txn, "Logical_Switch_Port", lsp._uuid, { name: lsp.name });
  if (replacing) removeFipNat(rows, txn, replacing);
  // No floating IP on this network was given the fixed address meanwhile (checked after
  // this floating IP's own row, if any, is gone).
  txn.wait("NAT", {
    where: [
      ["type", "==", "dnat_and_snat"],
      ["logical_ip", "==", fixed.ip_address],
      ["external_ids", "includes", new Map([[FIP_KEYS.fipNetworkId, fip.networkId]])],
    ],
    columns: ["_uuid"],
    until: "==",
    rows: [],
    timeoutMs: 0,
  });
  const nat = txn.insert("NAT", row);
  txn.mutate("Logical_Router", [["_uuid", "==", router.lr._uuid]], [["nat", "insert", [nat]]]);
  txn.mutate(
    "Logical_Switch_Port",
    [["_uuid", "==", lsp._uuid]],
    [["external_ids", "insert", new Map([[FIP_KEYS.portFip, fip.floatingIp]])]],
  );
  return { routerId: router.id, portId, fixedIp: fixed.ip_address };
}
