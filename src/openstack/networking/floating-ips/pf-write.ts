/**
 * Writing a floating IP's port forwardings: its Load_Balancers made again
 * from the list a change makes (pf-rows.ts), its revision one up; and the
 * forwardings to a VM's port taken away with the port, as Neutron deletes
 * them. Apart from the routes (port-forwardings.ts) so that deleting a port
 * (ports.ts) uses it without importing what the routes need.
 */
import type { LogicalSwitchPort } from "../../../ovsdb/models/ovn-northbound.js";
import { NEUTRON, revisionOf } from "../attributes.js";
import { notFound, writeHoldingRow } from "../collection.js";
import { fixedIpsOf, networkIdOf, type NbRows } from "../rows.js";
import { routerRow } from "../routers/rows.js";
import type { NbTransaction } from "../write.js";
import { FIP_KEYS } from "./names.js";
import { pfLoadBalancers, portForwardingsOf, type PortForwarding } from "./pf-rows.js";
import { fipLoadBalancers, fipPort, natRouterId } from "./rows.js";

/** What a change of one floating IP's forwardings works on. */
export interface FipForwardings {
  id: string;
  lsp: LogicalSwitchPort;
  address: string;
  networkId: string;
  forwardings: PortForwarding[];
  routerId: string | undefined;
}

export function forwardingsOfFip(rows: NbRows, id: string): FipForwardings {
  const lsp = fipPort(rows, id);
  if (!lsp) throw notFound("FloatingIP", id);
  const lbs = fipLoadBalancers(rows, id);
  return {
    id,
    lsp,
    address: fixedIpsOf(lsp.external_ids)[0]?.ip_address ?? "",
    networkId: networkIdOf(lsp.external_ids.get(NEUTRON.networkName) ?? "") ?? "",
    forwardings: portForwardingsOf(lbs),
    routerId: lbs.map(natRouterId).find((r) => r !== undefined),
  };
}

/**
 * Makes the floating IP's Load_Balancers those of `wanted`, through
 * `routerId`, and bumps its revision.
 */
export function writeForwardings(
  rows: NbRows,
  txn: NbTransaction,
  fip: Pick<FipForwardings, "id" | "lsp" | "address">,
  routerId: string | undefined,
  wanted: readonly PortForwarding[],
): void {
  const revision = revisionOf(fip.lsp.external_ids) + 1;
  const want =
    routerId === undefined || wanted.length === 0
      ? []
      : pfLoadBalancers({ id: fip.id, address: fip.address, routerId, revision }, wanted);
  const have = fipLoadBalancers(rows, fip.id);
  for (const lb of have) {
    const row = want.find((w) => w.name === lb.name);
    if (row) txn.update("Load_Balancer", [["_uuid", "==", lb._uuid]], row);
    // A Load_Balancer is a root row: it goes only when deleted (its routers refer to it weakly).
    else txn.delete("Load_Balancer", [["_uuid", "==", lb._uuid]]);
  }
  const lr = routerId === undefined ? undefined : routerRow(rows, routerId);
  for (const row of want) {
    if (have.some((lb) => lb.name === row.name)) continue;
    const ref = txn.insert("Load_Balancer", row);
    if (lr) {
      txn.mutate(
        "Logical_Router",
        [["_uuid", "==", lr._uuid]],
        [["load_balancer", "insert", [ref]]],
      );
    }
  }
  writeHoldingRow(
    txn,
    { table: "Logical_Switch_Port", uuid: fip.lsp._uuid, externalIds: fip.lsp.external_ids },
    {},
  );
}

/** The forwardings of a VM's port go with it, as Neutron deletes them. */
export function dropForwardingsOfPort(rows: NbRows, txn: NbTransaction, portId: string): void {
  const fips = new Set<string>();
  for (const lb of rows.replica.table("Load_Balancer").values()) {
    const id = lb.external_ids.get(FIP_KEYS.fipId);
    if (id !== undefined && portForwardingsOf([lb]).some((f) => f.internal_port_id === portId)) {
      fips.add(id);
    }
  }
  for (const id of fips) {
    const fip = forwardingsOfFip(rows, id);
    const kept = fip.forwardings.filter((f) => f.internal_port_id !== portId);
    writeForwardings(rows, txn, fip, fip.routerId, kept);
  }
}
