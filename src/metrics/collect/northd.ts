/**
 * ovn-northd: whether it is the active one (of one per central member, one
 * holds SB's lock), its NB and SB connections, its stopwatches and the
 * outcomes of its SB transactions (coverage counters).
 */
import type { MetricSet } from "../metric-set.js";
import { parseCoverage, parseNorthdStatus, parseVersion } from "../read/parse.js";
import { appctl } from "../../ovn/unixctl.js";
import { setStopwatches } from "./stopwatches.js";

/** ovn-kubernetes' values: the one active northd counts 1, so the sum over members is 1. */
const NORTHD_STATUS: Record<string, number> = { active: 1, standby: 0, paused: 2 };

/** OVS's transaction outcomes (`txn_*` coverage events). */
const TXN_OUTCOMES = [
  "unchanged",
  "incomplete",
  "aborted",
  "success",
  "try_again",
  "not_locked",
  "error",
];

export async function collectNorthd(set: MetricSet, controlSocket: string): Promise<void> {
  const [status, nb, sb, stopwatches, coverage, version] = await Promise.all(
    [
      ["status"],
      ["nb-connection-status"],
      ["sb-connection-status"],
      ["stopwatch/show"],
      ["coverage/show"],
      ["version"],
    ].map(([command]) => appctl(controlSocket, command!)),
  );
  const state = status === undefined ? undefined : parseNorthdStatus(status);
  if (state !== undefined && state in NORTHD_STATUS) {
    set.gauge(
      "ovn_northd_status",
      "ovn-northd: 1 active, 0 standby, 2 paused",
      NORTHD_STATUS[state]!,
    );
  }
  for (const [db, answer] of [
    ["nb", nb],
    ["sb", sb],
  ] as const) {
    if (answer !== undefined) {
      set.gauge(
        `ovn_northd_${db}_connection_status`,
        `ovn-northd's connection to ${db.toUpperCase()}: 1 connected, 0 not`,
        answer.trim() === "connected" ? 1 : 0,
      );
    }
  }
  setStopwatches(set, "ovn_northd", stopwatches);
  if (coverage !== undefined) {
    const totals = parseCoverage(coverage);
    for (const outcome of TXN_OUTCOMES) {
      set.counter(
        `ovn_northd_txn_${outcome}_total`,
        `ovn-northd's database transactions that ended ${outcome.replace("_", " ")}`,
        totals.get(`txn_${outcome}`) ?? 0,
      );
    }
  }
  const built = version === undefined ? undefined : parseVersion(version);
  if (built) {
    set.info("ovn_northd_build_info", "1, labelled with ovn-northd's version", {
      version: built.version,
      ovs_lib_version: built.ovsLibrary ?? "",
    });
  }
}
