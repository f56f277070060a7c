/**
 * Where routers are among the replica's rows: Logical_Routers named
 * `neutron-<id>` by id (the map made again on the next read after the
 * replica changed; routers are few), their router ports and their static
 * routes through the router's references.
 */
import type {
  LogicalRouter,
  LogicalRouterPort,
  LogicalRouterStaticRoute,
  LoadBalancer,
  Nat,
} from "../../../ovsdb/models/ovn-northbound.js";
import type { NbRows } from "../rows.js";
import { NEUTRON } from "../attributes.js";
import { FIP_KEYS } from "../floating-ips/names.js";
import { PF_OWNER } from "../floating-ips/pf-rows.js";
import { routerIdOf } from "./names.js";

const made = new WeakMap<NbRows, { generation: number; byId: Map<string, LogicalRouter> }>();

/** Every router Neutron's way of naming made, by router id. */
export function routersById(rows: NbRows): Map<string, LogicalRouter> {
  const generation = rows.generation;
  const last = made.get(rows);
  if (last && last.generation === generation) return last.byId;
  const byId = new Map<string, LogicalRouter>();
  for (const lr of rows.replica.table("Logical_Router").values()) {
    const id = routerIdOf(lr.name);
    if (id !== undefined) byId.set(id, lr);
  }
  made.set(rows, { generation, byId });
  return byId;
}

export function routerRow(rows: NbRows, id: string): LogicalRouter | undefined {
  return routersById(rows).get(id);
}

export function routerPorts(rows: NbRows, lr: LogicalRouter): LogicalRouterPort[] {
  const table = rows.replica.table("Logical_Router_Port");
  return lr.ports.flatMap((uuid) => table.get(uuid) ?? []);
}

export function staticRoutes(rows: NbRows, lr: LogicalRouter): LogicalRouterStaticRoute[] {
  const table = rows.replica.table("Logical_Router_Static_Route");
  return lr.static_routes.flatMap((uuid) => table.get(uuid) ?? []);
}

/** The router's floating IPs' NAT rows (ML2/OVN's `dnat_and_snat` with `neutron:fip_id`). */
export function floatingIpNats(rows: NbRows, lr: LogicalRouter): Nat[] {
  const table = rows.replica.table("NAT");
  return lr.nat.flatMap((uuid) => {
    const nat = table.get(uuid);
    return nat && nat.type === "dnat_and_snat" && nat.external_ids.has(FIP_KEYS.fipId) ? [nat] : [];
  });
}

/** The router's port forwardings' Load_Balancers (ML2/OVN's `pf-floatingip-…`). */
export function portForwardingLbs(rows: NbRows, lr: LogicalRouter): LoadBalancer[] {
  const table = rows.replica.table("Load_Balancer");
  return lr.load_balancer.flatMap((uuid) => {
    const lb = table.get(uuid);
    return lb && lb.external_ids.get(NEUTRON.deviceOwner) === PF_OWNER ? [lb] : [];
  });
}
