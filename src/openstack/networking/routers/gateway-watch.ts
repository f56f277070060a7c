/**
 * Keeps every router gateway's Gateway_Chassis right as chassis come, go
 * and change their options (`microovn chassis set gateway|bridge-mappings`),
 * by the rules of gateway-schedule.ts; a gateway set while no chassis
 * qualified gets its rows once one does.
 *
 * Every API server watches for this, so two may write at once: each
 * computes the wanted rows from its replicas, writes only the difference,
 * and guards it with the gateway port's rows as it read them. One commits;
 * the other's guard fails, it reads again, finds nothing left to do and
 * writes nothing. A burst of chassis changes (a member's ovn-controller
 * starting, an operator setting options on several members) is gathered
 * for a second into one transaction.
 */
import type { Condition } from "../../../ovsdb/index.js";
import type { LogicalRouterPort } from "../../../ovsdb/models/ovn-northbound.js";
import type { NetworkingContext } from "../context.js";
import { NETWORK_KEYS } from "../networks.js";
import { nbRows, type NbRows } from "../rows.js";
import { EVERYTHING, onTables, watchPasses, type PassWatch } from "../watch-pass.js";
import { expectSame, type NbTransaction } from "../write.js";
import { gatewayPortId } from "./gateway.js";
import { gatewayCandidates, type NamedChassis } from "./gateway-rows.js";
import { isEmptyPlan, planGatewayChassis, type CurrentGatewayChassis } from "./gateway-schedule.js";
import { ROUTER_KEYS, lrpName } from "./names.js";
import { routerPorts, routersById } from "./rows.js";

/** How long changes are gathered before the gateways are looked at (and a failed write waits). */
export const RESCHEDULE_DELAY_MS = 1_000;

/** NB tables whose changes may leave a gateway's rows wrong (a gateway set from an older view of SB). */
const NB_TABLES = new Set(["Logical_Router", "Logical_Router_Port", "Gateway_Chassis"]);
/** SB tables that change which chassis qualify. */
const SB_TABLES = new Set(["Chassis"]);

/**
 * Writes into `txn` what makes every gateway's Gateway_Chassis match the
 * chassis that qualify for it now; answers the router ports it changed.
 */
export function buildReschedule(
  txn: NbTransaction,
  rows: NbRows,
  chassis: readonly NamedChassis[],
): string[] {
  const changed: string[] = [];
  const gatewayChassis = rows.replica.table("Gateway_Chassis");
  for (const lr of routersById(rows).values()) {
    const portId = gatewayPortId(lr);
    if (portId === undefined) continue;
    const name = lrpName(portId);
    const lrp = routerPorts(rows, lr).find((p) => p.name === name);
    const ls = rows.network(lr.external_ids.get(ROUTER_KEYS.gwNetworkId) ?? "");
    // A gateway half gone (its network or port deleted by hand) is not ours to mend.
    if (!lrp || !ls) continue;
    const current: CurrentGatewayChassis[] = lrp.gateway_chassis.flatMap((uuid) => {
      const row = gatewayChassis.get(uuid);
      return row
        ? [{ uuid, name: row.name, chassis_name: row.chassis_name, priority: row.priority }]
        : [];
    });
    const physnet = ls.external_ids.get(NETWORK_KEYS.physicalNetwork);
    const plan = planGatewayChassis(name, current, gatewayCandidates(chassis, physnet));
    if (isEmptyPlan(plan)) continue;
    // Another server changed these rows since the replica was read: look again.
    expectSame(txn, "Logical_Router_Port", lrp._uuid, { gateway_chassis: lrp.gateway_chassis });
    for (const { uuid, priority } of plan.reprioritize) {
      // Two servers renumbering at once would both commit without this.
      expectSame(txn, "Gateway_Chassis", uuid, { priority: gatewayChassis.get(uuid)!.priority });
      txn.update("Gateway_Chassis", [["_uuid", "==", uuid]], { priority });
    }
    const added = plan.add.map((row) =>
      txn.insert("Gateway_Chassis", { ...row, external_ids: new Map(), options: new Map() }),
    );
    const where: Condition<LogicalRouterPort>[] = [["_uuid", "==", lrp._uuid]];
    // Gateway_Chassis rows belong to their port: those it no longer names are deleted by the server.
    if (plan.remove.length > 0)
      txn.mutate("Logical_Router_Port", where, [["gateway_chassis", "delete", plan.remove]]);
    if (added.length > 0)
      txn.mutate("Logical_Router_Port", where, [["gateway_chassis", "insert", added]]);
    changed.push(name);
  }
  return changed;
}

export type GatewayWatch = PassWatch;

/**
 * Watches the service's replicas and reschedules gateways when chassis or
 * gateways change (and once at start, for what changed while no service
 * ran). `log` hears of every change written and every failure.
 */
export function watchGateways(
  context: NetworkingContext,
  log: (message: string) => void,
  delayMs = RESCHEDULE_DELAY_MS,
): GatewayWatch {
  const { sbReplica } = context.backend;
  const rows = nbRows(context);
  return watchPasses(context.backend, log, {
    gatherMs: delayMs,
    retryMs: delayMs,
    nb: onTables(NB_TABLES),
    sb: onTables(SB_TABLES),
    initial: [EVERYTHING],
    pass: () => ({
      // SB as it is at each attempt: a retry after a conflict sees the chassis of then.
      build: (txn) => buildReschedule(txn, rows, [...sbReplica.table("Chassis").values()]),
      wrote: (changed) =>
        changed.length > 0 ? `gateway chassis rescheduled for ${changed.join(", ")}` : undefined,
      failure: "could not reschedule gateway chassis yet",
    }),
  });
}
