/**
 * `add_router_interface` and `remove_router_interface`, by subnet or by
 * port, as Neutron does them and ML2/OVN writes them. By subnet: a new
 * port on the subnet's network holding the subnet's gateway address; by
 * port: an unused port of the caller's. Either way the port becomes the
 * router's interface (device_owner `network:router_interface`, device_id
 * the router; ports.ts makes its switch port of type `router` peering
 * `lrp-<port id>`) and the router gets that Logical_Router_Port
 * (router-port.ts). Removing deletes the port and its router port, as
 * Neutron deletes it however it was added. Each is one transaction.
 */
import { Type } from "typebox";
import type { Caller } from "../../auth/caller.js";
import type { LogicalRouter } from "../../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../../errors.js";
import { contains, overlaps, parseIp, parsePrefix, randomMac } from "../addresses.js";
import { NEUTRON } from "../attributes.js";
import { visibleResource, writableResource } from "../collection.js";
import { deletePort, portsCollection } from "../ports.js";
import type { View } from "../query.js";
import { switchName, type FixedIp, type NbRows } from "../rows.js";
import { subnetView, subnetsCollection } from "../subnets.js";
import { expectSame, type NbTransaction } from "../write.js";
import { connectedAddresses, extraRoutesOf } from "./extra-routes.js";
import { internalSubnetIds, writeSnat } from "./gateway.js";
import { ROUTER_INTERFACE_OWNER, ROUTER_KEYS, lrpName } from "./names.js";
import { routerPortColumns, routerPortIds, type PortSubnet } from "./router-port.js";
import { writableRouter } from "./routers.js";
import { asService, badRouterRequest } from "./service.js";
import { floatingIpNats, portForwardingLbs, routerPorts } from "./rows.js";

export const InterfaceBody = Type.Object(
  { subnet_id: Type.Optional(Type.String()), port_id: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
export interface InterfaceRequest {
  subnet_id?: string;
  port_id?: string;
}

/** What both calls answer, as Neutron does. */
export interface InterfaceInfo {
  id: string;
  tenant_id: string;
  project_id: string;
  port_id: string;
  subnet_id: string;
  subnet_ids: string[];
  network_id: string;
}

/** The default MTU of a tenant network, for a switch without its own. */
const DEFAULT_MTU = 1442;

/**
 * The ports collection as router interfaces use it. Their ports name no
 * migration, so the collection never asks which chassis SB knows.
 */
function interfacePorts(rows: NbRows) {
  return portsCollection(rows, () => {
    throw new Error("a router interface's port names no chassis");
  });
}

function subnetOf(rows: NbRows, id: string): View | undefined {
  const row = rows.subnet(id);
  return row && subnetView(row);
}

/** The subnet ids a router port serves (its external_ids, as ML2/OVN writes them). */
function portSubnetIds(lrpIds: ReadonlyMap<string, string>): string[] {
  return (lrpIds.get(ROUTER_KEYS.subnetIds) ?? "").split(" ").filter((s) => s !== "");
}

/**
 * Refuses subnets the router is already on, or whose prefix overlaps one
 * it is on: a router cannot route between two copies of one network.
 */
function checkNewSubnets(rows: NbRows, lr: LogicalRouter, subnets: readonly View[]): void {
  for (const port of routerPorts(rows, lr)) {
    for (const id of portSubnetIds(port.external_ids)) {
      const have = subnetOf(rows, id);
      for (const s of subnets) {
        if (s.id === id) throw badRouterRequest(`Router already has a port on subnet ${id}`);
        const a = have && parsePrefix(have.cidr as string);
        const b = parsePrefix(s.cidr as string);
        if (a && b && overlaps(a, b)) {
          throw badRouterRequest(
            `Cidr ${s.cidr as string} of subnet ${s.id} overlaps with cidr ${have.cidr as string} of subnet ${id}`,
          );
        }
      }
    }
  }
}

/** Neutron takes both spellings of the router's project in the answer. */
function info(router: View, port: { id: string; networkId: string; fixedIps: readonly FixedIp[] }) {
  const subnetIds = [...new Set(port.fixedIps.map((ip) => ip.subnet_id))];
  return {
    id: router.id,
    tenant_id: router.project_id as string,
    project_id: router.project_id as string,
    port_id: port.id,
    subnet_id: subnetIds[0] ?? "",
    subnet_ids: subnetIds,
    network_id: port.networkId,
  };
}

function exactlyOne(body: InterfaceRequest): void {
  if (body.subnet_id !== undefined && body.port_id !== undefined) {
    throw badRouterRequest("Cannot specify both subnet-id and port-id");
  }
  if (body.subnet_id === undefined && body.port_id === undefined) {
    throw badRouterRequest("Either subnet_id or port_id must be specified");
  }
}

interface NewInterface {
  id: string;
  networkId: string;
  mac: string;
  fixedIps: FixedIp[];
}

/** A new port holding the subnet's gateway address, the router's interface on it. */
function portOnSubnet(
  rows: NbRows,
  txn: NbTransaction,
  caller: Caller,
  lr: LogicalRouter,
  routerId: string,
  subnetId: string,
): NewInterface {
  const subnet = visibleResource(caller, subnetsCollection(rows), subnetId);
  const gateway = subnet.gateway_ip as string | null;
  if (gateway === null)
    throw badRouterRequest("Subnet for router interface must have a gateway IP");
  checkNewSubnets(rows, lr, [subnet]);
  const holder = rows.addressHolder(subnet.id, parseIp(gateway)!.value);
  if (holder !== undefined) {
    const held = rows.port(holder);
    const owner = held?.external_ids.get(NEUTRON.deviceOwner);
    if (owner === ROUTER_INTERFACE_OWNER) {
      throw badRouterRequest(
        `Subnet ${subnet.id} is already on router ${held!.external_ids.get(NEUTRON.deviceId) ?? ""} (port ${holder} holds its gateway ${gateway}); remove it from that router first`,
      );
    }
    throw new ApiError(
      409,
      `IP address ${gateway} already allocated in subnet ${subnet.id} (port ${holder}); free the gateway address or add a port of the subnet with another address`,
      "IpAddressAlreadyAllocated",
    );
  }
  const networkId = subnet.network_id as string;
  let mac: string;
  do mac = randomMac();
  while (rows.macHolder(networkId, mac) !== undefined);
  const fixedIps = [{ subnet_id: subnet.id, ip_address: gateway }];
  const [id] = interfacePorts(rows).create(
    txn,
    [
      {
        network_id: networkId,
        name: "",
        mac_address: mac,
        fixed_ips: fixedIps,
        device_owner: ROUTER_INTERFACE_OWNER,
        device_id: routerId,
        project_id: subnet.project_id,
      },
    ],
    asService(caller),
  );
  return { id: id!, networkId, mac, fixedIps };
}

/** An unused port of the caller's with fixed IPs, made the router's interface. */
function existingPort(
  rows: NbRows,
  txn: NbTransaction,
  caller: Caller,
  lr: LogicalRouter,
  routerId: string,
  portId: string,
): NewInterface {
  const ports = interfacePorts(rows);
  const port = writableResource(caller, ports, portId, "update");
  const deviceId = port.device_id as string;
  if (deviceId !== "" || port.device_owner !== "") {
    throw new ApiError(
      409,
      `Unable to complete operation on port ${port.id} for network ${port.network_id as string}. Port already has an attached device ${deviceId || (port.device_owner as string)}.`,
      "PortInUse",
    );
  }
  const fixedIps = port.fixed_ips as FixedIp[];
  if (fixedIps.length === 0) throw badRouterRequest("Router port must have at least one fixed IP");
  const subnets = [...new Set(fixedIps.map((ip) => ip.subnet_id))].flatMap(
    (id) => subnetOf(rows, id) ?? [],
  );
  if (subnets.filter((s) => s.ip_version === 4).length > 1) {
    throw badRouterRequest("Cannot have multiple IPv4 subnets on router port");
  }
  checkNewSubnets(rows, lr, subnets);
  ports.update(
    txn,
    port,
    { device_owner: ROUTER_INTERFACE_OWNER, device_id: routerId },
    asService(caller),
  );
  return {
    id: port.id,
    networkId: port.network_id as string,
    mac: port.mac_address as string,
    fixedIps,
  };
}

/** `PUT /v2.0/routers/{id}/add_router_interface`. */
export function addInterface(
  rows: NbRows,
  txn: NbTransaction,
  caller: Caller,
  routerId: string,
  body: InterfaceRequest,
): InterfaceInfo {
  const { router, lr } = writableRouter(rows, caller, routerId);
  exactlyOne(body);
  const port =
    body.subnet_id !== undefined
      ? portOnSubnet(rows, txn, caller, lr, routerId, body.subnet_id)
      : existingPort(rows, txn, caller, lr, routerId, body.port_id!);
  const subnets = new Map<string, PortSubnet>();
  for (const ip of port.fixedIps) {
    const s = subnetOf(rows, ip.subnet_id);
    if (s) {
      subnets.set(s.id, {
        cidr: s.cidr as string,
        ipv6AddressMode: s.ipv6_address_mode as string | null,
      });
    }
  }
  const ls = rows.network(port.networkId);
  const mtu = Number(ls?.external_ids.get(NEUTRON.mtu) ?? DEFAULT_MTU);
  const columns = routerPortColumns(port.fixedIps, subnets, mtu);
  // The router must still be there when this commits.
  expectSame(txn, "Logical_Router", lr._uuid, { name: lr.name });
  const lrp = txn.insert("Logical_Router_Port", {
    name: lrpName(port.id),
    mac: port.mac,
    ...columns,
    external_ids: routerPortIds({
      routerId,
      networkSwitch: switchName(port.networkId),
      subnetIds: [...subnets.keys()],
      isGateway: false,
    }),
  });
  txn.mutate("Logical_Router", [["_uuid", "==", lr._uuid]], [["ports", "insert", [lrp]]]);
  writeSnat(rows, txn, lr, [...internalSubnetIds(rows, lr), ...subnets.keys()]);
  return info(router, port);
}

function interfaceNotFound(routerId: string, body: InterfaceRequest): ApiError {
  return body.port_id !== undefined
    ? new ApiError(
        404,
        `Router ${routerId} does not have an interface with id ${body.port_id}`,
        "RouterInterfaceNotFound",
      )
    : new ApiError(
        404,
        `Router ${routerId} has no interface on subnet ${body.subnet_id ?? ""}`,
        "RouterInterfaceNotFoundForSubnet",
      );
}

/** `PUT /v2.0/routers/{id}/remove_router_interface`. */
export function removeInterface(
  rows: NbRows,
  txn: NbTransaction,
  caller: Caller,
  routerId: string,
  body: InterfaceRequest,
): InterfaceInfo {
  const { router, lr } = writableRouter(rows, caller, routerId);
  if (body.subnet_id === undefined && body.port_id === undefined) exactlyOne(body);
  const lrps = routerPorts(rows, lr);
  const lrp = lrps.find((p) =>
    body.port_id !== undefined
      ? p.name === lrpName(body.port_id) &&
        (body.subnet_id === undefined || portSubnetIds(p.external_ids).includes(body.subnet_id))
      : portSubnetIds(p.external_ids).includes(body.subnet_id!),
  );
  if (!lrp) throw interfaceNotFound(routerId, body);
  const portId = lrp.name.slice(lrpName("").length);
  // An extra route through this interface would point nowhere without it.
  const gone = connectedAddresses(lrp.networks);
  const kept = connectedAddresses(lrps.filter((p) => p !== lrp).flatMap((p) => p.networks));
  const reaches = (list: typeof gone, nexthop: string) => {
    const ip = parseIp(nexthop);
    return ip !== undefined && list.some((c) => contains(c.prefix, ip.version, ip.value));
  };
  if (extraRoutesOf(rows, lr).some((r) => reaches(gone, r.nexthop) && !reaches(kept, r.nexthop))) {
    throw new ApiError(
      409,
      `Router interface for subnet ${portSubnetIds(lrp.external_ids).join(", ")} on router ${routerId} cannot be deleted, as it is required by one or more routes.`,
      "RouterInterfaceInUseByRoute",
    );
  }
  const forwarded = portForwardingLbs(rows, lr).flatMap((lb) =>
    [...lb.vips.values()].map((to) => to.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")),
  );
  const held =
    floatingIpNats(rows, lr).some((n) => reaches(gone, n.logical_ip)) ||
    forwarded.some((ip) => reaches(gone, ip));
  if (held) {
    throw new ApiError(
      409,
      `Router interface for subnet ${portSubnetIds(lrp.external_ids).join(", ")} on router ${routerId} cannot be deleted, as it is required by one or more floating IPs.`,
      "RouterInterfaceInUseByFloatingIP",
    );
  }
  // Another change to the router's ports or NAT rows since the replica was read makes this look again.
  expectSame(txn, "Logical_Router", lr._uuid, {
    ports: lr.ports,
    nat: lr.nat,
    load_balancer: lr.load_balancer,
  });
  const port = interfacePorts(rows).get(portId);
  if (port) deletePort(rows, txn, port);
  txn.mutate("Logical_Router", [["_uuid", "==", lr._uuid]], [["ports", "delete", [lrp._uuid]]]);
  const dropped = new Set(portSubnetIds(lrp.external_ids));
  writeSnat(
    rows,
    txn,
    lr,
    internalSubnetIds(rows, lr).filter((s) => !dropped.has(s)),
  );
  return info(router, {
    id: portId,
    networkId: (port?.network_id as string | undefined) ?? "",
    fixedIps: (port?.fixed_ips as FixedIp[] | undefined) ?? [],
  });
}
