/**
 * Rescheduling a gateway: how a gateway port's Gateway_Chassis rows must
 * change when the chassis that may host it change. Pure: the rows the
 * port has and the chassis that qualify now in, the difference out.
 *
 * The rules keep the gateway where it is whenever they can: a chassis
 * keeps its row (and its priority) for as long as SB has it and it
 * qualifies, whether or not it is up (ovn-controller that died keeps its
 * Chassis row, and OVN's own failover moves the gateway off it); a chassis
 * that goes from SB or stops qualifying loses its row; a chassis that
 * starts qualifying joins below every other, so the active (highest
 * priority, alive) one does not move.
 */
import type { GatewayChassisRow } from "./gateway-rows.js";

/** The lowest priority a row is given, as `gatewayChassisRows` numbers them (NB allows 0). */
const LOWEST_PRIORITY = 1;

/** A Gateway_Chassis row as NB has it. */
export interface CurrentGatewayChassis extends GatewayChassisRow {
  uuid: string;
}

/** What to write for one gateway port: rows that go, priorities that change, rows that come. */
export interface GatewayChassisPlan {
  remove: string[];
  reprioritize: { uuid: string; priority: number }[];
  add: GatewayChassisRow[];
}

export function isEmptyPlan(plan: GatewayChassisPlan): boolean {
  return plan.remove.length === 0 && plan.reprioritize.length === 0 && plan.add.length === 0;
}

/** Highest priority first; a tie (rows made by hand) broken by name, so every server orders alike. */
function byPriority(a: CurrentGatewayChassis, b: CurrentGatewayChassis): number {
  return b.priority - a.priority || a.chassis_name.localeCompare(b.chassis_name);
}

/**
 * The changes that make `lrp`'s Gateway_Chassis match `candidates` (the
 * chassis that qualify now, in the order new ones are to be added).
 * Rows that stay keep their priorities when those are distinct and leave
 * room below them; otherwise every row is numbered again from the count
 * down to 1 in the order they had, which moves no gateway either.
 */
export function planGatewayChassis(
  lrp: string,
  current: readonly CurrentGatewayChassis[],
  candidates: readonly string[],
): GatewayChassisPlan {
  const qualifying = new Set(candidates);
  const remove: string[] = [];
  const kept: CurrentGatewayChassis[] = [];
  for (const row of [...current].sort(byPriority)) {
    // A second row for one chassis (written by hand) goes too: the first is the one OVN honours.
    if (qualifying.has(row.chassis_name) && !kept.some((k) => k.chassis_name === row.chassis_name))
      kept.push(row);
    else remove.push(row.uuid);
  }
  const newcomers = candidates.filter((c, i) => {
    return candidates.indexOf(c) === i && !kept.some((k) => k.chassis_name === c);
  });
  const lowest = kept.length === 0 ? undefined : kept[kept.length - 1]!.priority;
  const distinct = kept.every((k, i) => i === 0 || kept[i - 1]!.priority > k.priority);
  const room = lowest === undefined || lowest - newcomers.length >= LOWEST_PRIORITY;
  const reprioritize: GatewayChassisPlan["reprioritize"] = [];
  let next: number;
  if (distinct && room) {
    next = (lowest ?? newcomers.length + 1) - 1;
  } else {
    next = kept.length + newcomers.length;
    for (const row of kept) {
      if (row.priority !== next) reprioritize.push({ uuid: row.uuid, priority: next });
      next--;
    }
  }
  const add = newcomers.map((c) => ({ name: `${lrp}_${c}`, chassis_name: c, priority: next-- }));
  return { remove, reprioritize, add };
}
