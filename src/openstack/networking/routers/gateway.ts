/**
 * A router's external gateway (`external_gateway_info`), as Neutron
 * serves it and ML2/OVN writes it: a port on a `router:external` network
 * (device_owner `network:router_gateway`, device_id the router) whose
 * Logical_Router_Port `lrp-<port id>` carries Gateway_Chassis rows, the
 * default routes through the external subnets' gateways, and, with
 * enable_snat, one SNAT row per internal IPv4 subnet, kept right as
 * interfaces come and go (`writeSnat`). The router's external_ids name
 * the port and the network (`neutron:gw_port_id`, `neutron:gw_network_id`);
 * enable_snat, which only Neutron's database holds, is ours.
 */
import type { Caller } from "../../auth/caller.js";
import type { Condition } from "../../../ovsdb/index.js";
import type { LogicalRouter } from "../../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../../errors.js";
import { notFound } from "../collection.js";
import { NETWORK_KEYS } from "../networks.js";
import { createServicePort, deletePort, portView } from "../ports.js";
import { fixedIpsOf, switchName, type FixedIp, type NbRows } from "../rows.js";
import { subnetView } from "../subnets.js";
import { toBoolean } from "../validation.js";
import { expectSame, type NbTransaction } from "../write.js";
import {
  defaultRoutes,
  gatewayCandidates,
  gatewayChassisRows,
  snatAddress,
  snatRows,
  type ExternalSubnet,
  type NamedChassis,
  type SnatRow,
} from "./gateway-rows.js";
import { ROUTER_GATEWAY_OWNER, ROUTER_KEYS, lrpName } from "./names.js";
import { routerPortColumns, routerPortIds, type PortSubnet } from "./router-port.js";
import { floatingIpNats, portForwardingLbs, routerPorts, staticRoutes } from "./rows.js";
import { asService, badRouterRequest } from "./service.js";

/** Whether the router translates its subnets' addresses to the gateway's (Neutron's enable_snat). */
export const ENABLE_SNAT = "microovn:enable_snat";

/** A gateway as a request asks for it. */
export interface GatewayRequest {
  networkId: string;
  enableSnat: boolean;
  fixedIps: { subnet_id?: string; ip_address?: string }[] | undefined;
}

function invalidGateway(detail: string): ApiError {
  return new ApiError(
    400,
    `Invalid input for external_gateway_info. Reason: ${detail}.`,
    "HTTPBadRequest",
  );
}

/**
 * The gateway a request asks for: undefined when it says nothing, null
 * when it clears the gateway (`null` or `{}`, as `router unset
 * --external-gateway` sends), or the network, SNAT and addresses asked.
 */
export function gatewayRequest(value: unknown): GatewayRequest | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const v = value as Record<string, unknown>;
  if (Object.keys(v).length === 0) return null;
  const known = new Set(["network_id", "enable_snat", "external_fixed_ips"]);
  const unknown = Object.keys(v).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw invalidGateway(
      `Unrecognized attribute(s) '${unknown.join(", ")}' (give network_id, enable_snat, external_fixed_ips)`,
    );
  }
  if (typeof v.network_id !== "string" || v.network_id === "") {
    throw invalidGateway("network_id is required: the external network to reach through it");
  }
  const snat = v.enable_snat;
  if (snat !== undefined && typeof snat !== "boolean" && typeof snat !== "string") {
    throw invalidGateway(`enable_snat '${JSON.stringify(snat)}' is not a boolean`);
  }
  const ips = v.external_fixed_ips;
  const isFixedIp = (ip: unknown) =>
    typeof ip === "object" &&
    ip !== null &&
    Object.entries(ip).every(
      ([k, x]) => (k === "subnet_id" || k === "ip_address") && typeof x === "string",
    );
  if (ips !== undefined && ips !== null && !(Array.isArray(ips) && ips.every(isFixedIp))) {
    throw invalidGateway(
      "external_fixed_ips must be a list of {subnet_id, ip_address} (either or both)",
    );
  }
  return {
    networkId: v.network_id,
    enableSnat: snat === undefined ? true : toBoolean(snat, "enable_snat"),
    fixedIps: (ips as GatewayRequest["fixedIps"] | null | undefined) ?? undefined,
  };
}

/** The router's gateway port, if it has one. */
export function gatewayPortId(lr: LogicalRouter): string | undefined {
  return lr.external_ids.get(ROUTER_KEYS.gwPortId) || undefined;
}

function snatEnabled(lr: LogicalRouter): boolean {
  return lr.external_ids.get(ENABLE_SNAT) !== "false";
}

/** What a router answers as its `external_gateway_info`, as Neutron does. */
export function gatewayInfo(rows: NbRows, lr: LogicalRouter): Record<string, unknown> | null {
  const portId = gatewayPortId(lr);
  if (portId === undefined) return null;
  const lsp = rows.port(portId);
  return {
    network_id: lr.external_ids.get(ROUTER_KEYS.gwNetworkId) ?? "",
    enable_snat: snatEnabled(lr),
    external_fixed_ips: lsp ? fixedIpsOf(lsp.external_ids) : [],
  };
}

/** The router's internal subnets (its interfaces', not the gateway's). */
export function internalSubnetIds(rows: NbRows, lr: LogicalRouter): string[] {
  const gateway = gatewayPortId(lr);
  return routerPorts(rows, lr)
    .filter((p) => gateway === undefined || p.name !== lrpName(gateway))
    .flatMap((p) => (p.external_ids.get(ROUTER_KEYS.subnetIds) ?? "").split(" "))
    .filter((s) => s !== "");
}

function cidrsOf(rows: NbRows, subnetIds: readonly string[]): string[] {
  return subnetIds.flatMap((id) => {
    const row = rows.subnet(id);
    return row ? [subnetView(row).cidr as string] : [];
  });
}

function snatKey(n: { logical_ip: string; external_ip: string }): string {
  return `${n.logical_ip} ${n.external_ip}`;
}

/** Makes the router's SNAT rows exactly `wanted`: rows that go, rows that come. */
function replaceSnat(
  txn: NbTransaction,
  rows: NbRows,
  lr: LogicalRouter,
  wanted: readonly SnatRow[],
): void {
  const table = rows.replica.table("NAT");
  const want = new Set(wanted.map(snatKey));
  const have = new Set<string>();
  const gone: string[] = [];
  for (const uuid of lr.nat) {
    const n = table.get(uuid);
    if (!n || n.type !== "snat") continue;
    if (want.has(snatKey(n)) && !have.has(snatKey(n))) have.add(snatKey(n));
    else gone.push(uuid);
  }
  const added = wanted
    .filter((n) => !have.has(snatKey(n)))
    .map((n) => txn.insert("NAT", { ...n, external_ids: new Map() }));
  // NAT rows belong to their router: those it no longer names are deleted by the server.
  if (gone.length > 0)
    txn.mutate("Logical_Router", [["_uuid", "==", lr._uuid]], [["nat", "delete", gone]]);
  if (added.length > 0)
    txn.mutate("Logical_Router", [["_uuid", "==", lr._uuid]], [["nat", "insert", added]]);
}

/**
 * Keeps the router's SNAT rows right for the internal subnets it will
 * have (after an interface comes or goes): none without a gateway or
 * with SNAT off.
 */
export function writeSnat(
  rows: NbRows,
  txn: NbTransaction,
  lr: LogicalRouter,
  subnetIds: readonly string[],
): void {
  const portId = gatewayPortId(lr);
  if (portId === undefined) return;
  const lsp = rows.port(portId);
  const external = snatEnabled(lr) && lsp ? snatAddress(fixedIpsOf(lsp.external_ids)) : undefined;
  // A gateway changed on another server since the replica was read makes this look again.
  expectSame(txn, "Logical_Router", lr._uuid, { nat: lr.nat });
  replaceSnat(txn, rows, lr, snatRows(external, cidrsOf(rows, subnetIds)));
}

/** What a gateway change needs besides the transaction. */
export interface GatewayContext {
  rows: NbRows;
  txn: NbTransaction;
  caller: Caller;
  /** The chassis SB knows, asked only when a gateway port is made. */
  chassis: () => Iterable<NamedChassis>;
}

/** The router a gateway change is for: its row when it exists, its reference in the transaction. */
export interface GatewayRouter {
  id: string;
  ref: string;
  lr: LogicalRouter | undefined;
}

/** Takes the gateway away: its port, router port (and Gateway_Chassis), default routes, SNAT. */
function clearGateway(g: GatewayContext, lr: LogicalRouter, portId: string): void {
  const { rows, txn } = g;
  const lsp = rows.port(portId);
  if (lsp) deletePort(rows, txn, portView(lsp));
  const lrp = routerPorts(rows, lr).find((p) => p.name === lrpName(portId));
  const routes = staticRoutes(rows, lr)
    .filter((r) => r.external_ids.has(ROUTER_KEYS.isExtGw))
    .map((r) => r._uuid);
  const where: Condition<LogicalRouter>[] = [["_uuid", "==", lr._uuid]];
  if (lrp) txn.mutate("Logical_Router", where, [["ports", "delete", [lrp._uuid]]]);
  if (routes.length > 0) txn.mutate("Logical_Router", where, [["static_routes", "delete", routes]]);
  replaceSnat(txn, rows, lr, []);
}

/** The external network, checked: 404 if there is none, 400 (Neutron's) if it is not external. */
function externalNetwork(rows: NbRows, networkId: string) {
  const ls = rows.network(networkId);
  if (!ls) throw notFound("Network", networkId);
  if (ls.external_ids.get(NETWORK_KEYS.routerExternal) !== "true") {
    throw badRouterRequest(
      `Network ${networkId} is not an external network; give one created with --external (router:external true)`,
    );
  }
  return ls;
}

/** Makes the gateway port, its router port with Gateway_Chassis, the default routes and SNAT. */
function addGateway(
  g: GatewayContext,
  router: GatewayRouter,
  request: GatewayRequest,
): { portId: string; fixedIps: FixedIp[] } {
  const { rows, txn } = g;
  const ls = externalNetwork(rows, request.networkId);
  const port = createServicePort(
    rows,
    txn,
    {
      network_id: request.networkId,
      name: "",
      device_owner: ROUTER_GATEWAY_OWNER,
      device_id: router.id,
      // As Neutron: the gateway port belongs to no project, so no project sees or counts it.
      project_id: "",
      ...(request.fixedIps !== undefined && { fixed_ips: request.fixedIps }),
    },
    asService(g.caller),
  );
  const subnets = new Map<string, ExternalSubnet & PortSubnet>();
  for (const ip of port.fixedIps) {
    const row = rows.subnet(ip.subnet_id);
    if (!row) continue;
    const s = subnetView(row);
    subnets.set(s.id, {
      cidr: s.cidr as string,
      // ML2/OVN sends no router advertisements on the external network.
      ipv6AddressMode: null,
      ipVersion: s.ip_version as number,
      gatewayIp: s.gateway_ip as string | null,
    });
  }
  const name = lrpName(port.id);
  const physnet = ls.external_ids.get(NETWORK_KEYS.physicalNetwork);
  const chassis = gatewayChassisRows(name, gatewayCandidates(g.chassis(), physnet)).map((c) =>
    txn.insert("Gateway_Chassis", { ...c, external_ids: new Map(), options: new Map() }),
  );
  const ids = routerPortIds({
    routerId: router.id,
    networkSwitch: switchName(request.networkId),
    subnetIds: [...subnets.keys()],
    isGateway: true,
  });
  const lrp = txn.insert("Logical_Router_Port", {
    name,
    mac: port.mac,
    networks: routerPortColumns(port.fixedIps, subnets, 0).networks,
    gateway_chassis: chassis,
    external_ids: ids,
  });
  const routes = defaultRoutes(port.fixedIps, subnets).map((r) =>
    txn.insert("Logical_Router_Static_Route", r),
  );
  const where: Condition<LogicalRouter>[] = [["_uuid", "==", router.ref]];
  txn.mutate("Logical_Router", where, [["ports", "insert", [lrp]]]);
  if (routes.length > 0) txn.mutate("Logical_Router", where, [["static_routes", "insert", routes]]);
  const external = request.enableSnat ? snatAddress(port.fixedIps) : undefined;
  const internal = router.lr ? cidrsOf(rows, internalSubnetIds(rows, router.lr)) : [];
  const nat = snatRows(external, internal).map((n) =>
    txn.insert("NAT", { ...n, external_ids: new Map() }),
  );
  if (nat.length > 0) txn.mutate("Logical_Router", where, [["nat", "insert", nat]]);
  return { portId: port.id, fixedIps: port.fixedIps };
}

/**
 * Changes the router's gateway as asked and answers the router's
 * external_ids that change with it. Same network without addresses
 * asked keeps the port (only SNAT changes, as `router set
 * --disable-snat` wants); anything else replaces the gateway.
 */
export function writeGateway(
  g: GatewayContext,
  router: GatewayRouter,
  request: GatewayRequest | null,
): Record<string, string | undefined> {
  const { lr } = router;
  const current = lr && gatewayPortId(lr);
  if (lr && current !== undefined) {
    // An interface or gateway changed on another server since the replica was read makes this look again.
    expectSame(g.txn, "Logical_Router", lr._uuid, {
      ports: lr.ports,
      nat: lr.nat,
      load_balancer: lr.load_balancer,
    });
    const same =
      request !== null &&
      request.fixedIps === undefined &&
      request.networkId === lr.external_ids.get(ROUTER_KEYS.gwNetworkId) &&
      g.rows.port(current) !== undefined;
    const keepsNetwork =
      request !== null && request.networkId === lr.external_ids.get(ROUTER_KEYS.gwNetworkId);
    const inUse = floatingIpNats(g.rows, lr).length > 0 || portForwardingLbs(g.rows, lr).length > 0;
    if (!keepsNetwork && inUse) {
      throw new ApiError(
        409,
        `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${lr.external_ids.get(ROUTER_KEYS.gwNetworkId) ?? ""} is required by one or more floating IPs.`,
        "RouterExternalGatewayInUseByFloatingIp",
      );
    }
    if (same) {
      const lsp = g.rows.port(current)!;
      const external = request.enableSnat ? snatAddress(fixedIpsOf(lsp.external_ids)) : undefined;
      replaceSnat(
        g.txn,
        g.rows,
        lr,
        snatRows(external, cidrsOf(g.rows, internalSubnetIds(g.rows, lr))),
      );
      return { [ENABLE_SNAT]: String(request.enableSnat) };
    }
    clearGateway(g, lr, current);
  }
  if (request === null) {
    return {
      [ROUTER_KEYS.gwPortId]: "",
      [ROUTER_KEYS.gwNetworkId]: undefined,
      [ENABLE_SNAT]: undefined,
    };
  }
  const { portId } = addGateway(g, router, request);
  return {
    [ROUTER_KEYS.gwPortId]: portId,
    [ROUTER_KEYS.gwNetworkId]: request.networkId,
    [ENABLE_SNAT]: String(request.enableSnat),
  };
}
