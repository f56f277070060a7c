/**
 * Where floating IPs are among the replica's rows: each is its port on the
 * external network (device_owner `network:floatingip`, device_id the
 * floating IP's id), which holds its address, project and standard
 * attributes, and, while associated, one `dnat_and_snat` NAT row with its
 * id in `neutron:fip_id` on the router that reaches the external network.
 * Both maps are made again on the next read after the replica changed, as
 * routers' are.
 */
import type { LoadBalancer, LogicalSwitchPort, Nat } from "../../../ovsdb/models/ovn-northbound.js";
import { NEUTRON } from "../attributes.js";
import { routerIdOf } from "../routers/names.js";
import { routerRow } from "../routers/rows.js";
import type { NbRows } from "../rows.js";
import type { NbTransaction } from "../write.js";
import { FIP_KEYS, FLOATINGIP_OWNER } from "./names.js";
import { PF_OWNER } from "./pf-rows.js";

interface FipIndex {
  generation: number;
  ports: Map<string, LogicalSwitchPort>;
  nats: Map<string, Nat>;
  natsOfPort: Map<string, Nat[]>;
  /** Port forwardings' Load_Balancers, by floating IP. */
  lbs: Map<string, LoadBalancer[]>;
}

const made = new WeakMap<NbRows, FipIndex>();

function fipIndex(rows: NbRows): FipIndex {
  const generation = rows.generation;
  const last = made.get(rows);
  if (last && last.generation === generation) return last;
  const index: FipIndex = {
    generation,
    ports: new Map(),
    nats: new Map(),
    natsOfPort: new Map(),
    lbs: new Map(),
  };
  for (const lsp of rows.replica.table("Logical_Switch_Port").values()) {
    if (lsp.external_ids.get(NEUTRON.deviceOwner) !== FLOATINGIP_OWNER) continue;
    const id = lsp.external_ids.get(NEUTRON.deviceId);
    if (id) index.ports.set(id, lsp);
  }
  for (const nat of rows.replica.table("NAT").values()) {
    const id = nat.external_ids.get(FIP_KEYS.fipId);
    if (id === undefined || nat.type !== "dnat_and_snat") continue;
    index.nats.set(id, nat);
    const port = nat.external_ids.get(FIP_KEYS.fipPortId) ?? "";
    index.natsOfPort.set(port, [...(index.natsOfPort.get(port) ?? []), nat]);
  }
  for (const lb of rows.replica.table("Load_Balancer").values()) {
    const id = lb.external_ids.get(FIP_KEYS.fipId);
    if (id === undefined || lb.external_ids.get(NEUTRON.deviceOwner) !== PF_OWNER) continue;
    index.lbs.set(id, [...(index.lbs.get(id) ?? []), lb]);
  }
  made.set(rows, index);
  return index;
}

/** Every floating IP's port, by floating IP id. */
export function fipPorts(rows: NbRows): ReadonlyMap<string, LogicalSwitchPort> {
  return fipIndex(rows).ports;
}

export function fipPort(rows: NbRows, id: string): LogicalSwitchPort | undefined {
  return fipIndex(rows).ports.get(id);
}

/** The floating IP's NAT row, while it is associated. */
export function fipNat(rows: NbRows, id: string): Nat | undefined {
  return fipIndex(rows).nats.get(id);
}

/** The NAT rows of the floating IPs associated with a (VM's) port. */
export function natsOfPort(rows: NbRows, portId: string): readonly Nat[] {
  return fipIndex(rows).natsOfPort.get(portId) ?? [];
}

/** The Load_Balancers of the floating IP's port forwardings (one per protocol). */
export function fipLoadBalancers(rows: NbRows, id: string): readonly LoadBalancer[] {
  return fipIndex(rows).lbs.get(id) ?? [];
}

/** The router a floating IP's NAT row is on (by the name ML2/OVN records in it). */
export function natRouterId(nat: Nat | LoadBalancer): string | undefined {
  return routerIdOf(nat.external_ids.get(FIP_KEYS.routerName) ?? "");
}

/**
 * Takes a floating IP's NAT row off its router (the server deletes the
 * row then) and, unless the VM's port goes too, the floating address off
 * that port's external_ids.
 */
export function removeFipNat(rows: NbRows, txn: NbTransaction, nat: Nat, portGoes = false): void {
  const routerId = natRouterId(nat);
  const lr = routerId === undefined ? undefined : routerRow(rows, routerId);
  if (lr)
    txn.mutate("Logical_Router", [["_uuid", "==", lr._uuid]], [["nat", "delete", [nat._uuid]]]);
  const portId = nat.external_ids.get(FIP_KEYS.fipPortId);
  if (portGoes || portId === undefined || !rows.port(portId)) return;
  txn.mutate(
    "Logical_Switch_Port",
    [["name", "==", portId]],
    [["external_ids", "delete", new Map([[FIP_KEYS.portFip, nat.external_ip]])]],
  );
}
