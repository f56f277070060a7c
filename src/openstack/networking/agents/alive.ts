/**
 * Whether an ovn-controller is alive, as ML2/OVN decides it: there is no
 * heartbeat in SB, so the API makes one. Listing the agents raises
 * NB_Global.nb_cfg (at most once every half `AGENT_DOWN_TIME_S`, recorded
 * in NB_Global external_ids `neutron:liveness_check_at` so every API
 * server, and a Neutron next to us, counts the same); ovn-northd carries
 * it to SB, and each live ovn-controller answers by writing it into its
 * Chassis_Private row with `nb_cfg_timestamp`. An agent is alive while it
 * is at most one raise behind, or answered a raise within
 * `AGENT_DOWN_TIME_S`. Cheap: one small NB write per half minute of
 * listing, and nothing when nobody lists.
 */
import type { NbGlobal } from "../../../ovsdb/models/ovn-northbound.js";
import type { NbClient, NbReplica } from "../../backend.js";
import { writeNb, type NbTransaction } from "../write.js";

/** Neutron's `agent_down_time` default, in seconds. */
export const AGENT_DOWN_TIME_S = 75;
/** Where the last raise is recorded, as ML2/OVN names it. */
export const LIVENESS_CHECK_KEY = "neutron:liveness_check_at";

export interface Liveness {
  /** NB_Global.nb_cfg as the API sees it. */
  globalNbCfg: number;
  /** The chassis' Chassis_Private row, if ovn-controller made one. */
  chassis: { nbCfg: number; nbCfgTimestampMs: number } | undefined;
  nowMs: number;
  downTimeS?: number;
}

/**
 * The rule. A chassis without Chassis_Private never answered a raise
 * (a row made by hand, or an ovn-controller too old): not alive.
 */
export function isAlive(l: Liveness): boolean {
  if (!l.chassis) return false;
  if (l.globalNbCfg - l.chassis.nbCfg <= 1) return true;
  const downTimeMs = (l.downTimeS ?? AGENT_DOWN_TIME_S) * 1000;
  return l.nowMs - l.chassis.nbCfgTimestampMs < downTimeMs;
}

/** Whether the last raise (an ISO time, or none) is old enough for another. */
export function pingDue(lastPing: string | undefined, nowMs: number): boolean {
  if (lastPing === undefined) return true;
  const at = Date.parse(lastPing);
  if (Number.isNaN(at)) return true;
  const intervalMs = Math.max(Math.floor(AGENT_DOWN_TIME_S / 2), 1) * 1000;
  return nowMs >= at + intervalMs;
}

/** NB's one NB_Global row (none before anything made it). */
function nbGlobal(replica: NbReplica): NbGlobal | undefined {
  for (const row of replica.table("NB_Global").values()) return row;
  return undefined;
}

/** Adds the raise to `txn` if one is due. */
export function addPing(txn: NbTransaction, nb: NbReplica, nowMs: number): void {
  const global = nbGlobal(nb);
  if (!global || !pingDue(global.external_ids.get(LIVENESS_CHECK_KEY), nowMs)) return;
  // Two servers listing at once raise it once: the loser sees the new time and lets it be.
  txn.wait("NB_Global", {
    where: [["_uuid", "==", global._uuid]],
    columns: ["external_ids"],
    until: "==",
    rows: [{ external_ids: global.external_ids }],
    timeoutMs: 0,
  });
  txn.mutate(
    "NB_Global",
    [["_uuid", "==", global._uuid]],
    [
      ["nb_cfg", "+=", 1],
      ["external_ids", "delete", [LIVENESS_CHECK_KEY]],
      ["external_ids", "insert", new Map([[LIVENESS_CHECK_KEY, new Date(nowMs).toISOString()]])],
    ],
  );
}

/** Raises nb_cfg if due, before the agents are answered (as ML2/OVN does on a list). */
export async function pingAllChassis(nb: NbClient, replica: NbReplica): Promise<void> {
  await writeNb(nb, (txn) => addPing(txn, replica, Date.now()));
}

/** NB_Global.nb_cfg from the replica (0 before northd made the row). */
export function globalNbCfg(replica: NbReplica): number {
  return nbGlobal(replica)?.nb_cfg ?? 0;
}
