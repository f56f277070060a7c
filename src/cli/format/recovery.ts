/** `microovn cluster recover` output: what the question says it will do, and what it did. */
import type { RecoveryPlan, RecoveryResult } from "../../lifecycle/recover.js";

function names(list: readonly string[], none: string): string {
  return list.length > 0 ? list.join(", ") : none;
}

/** What the confirmation question is about. */
export function describeRecoveryPlan(plan: RecoveryPlan): string {
  const lines: string[] = [];
  if (plan.unfinished !== undefined) {
    lines.push(`A recovery begun earlier stopped half way (old files in ${plan.unfinished}).`);
  }
  lines.push(
    `${plan.member} becomes the only database member of a new cluster, with every row of its ` +
      "databases.",
    `Kept: ${names(plan.kept, "no other member")} (they answer and hold no database copies: ` +
      "they stay members, get certificates from a new CA and follow the new cluster; one that " +
      "stops answering before then is removed too).",
    `Removed for good: ${names(plan.lost, "no other member")} (down, or holding copies of the ` +
      "old databases: their member rows, chassis and certificates go; a new CA replaces the " +
      "current one). They must not be started again with their old data.",
  );
  return lines.join("\n");
}

export function describeRecovery(r: RecoveryResult): string {
  const ids = Object.entries(r.clusterIds)
    .map(([db, id]) => `${db} ${id}`)
    .join(", ");
  const lines = [
    `Recovered: ${r.member} is the only database member of a new cluster (${ids}); every row ` +
      "was kept.",
    `Kept: ${names(r.kept, "no other member")}` +
      (r.kept.length > 0 ? " (certificates from the new CA, ovn-controller on the new SB)" : ""),
    `Removed for good: ${names(r.lost, "no other member")}` +
      (r.chassisDeleted.length > 0 ? ` (chassis deleted: ${r.chassisDeleted.join(", ")})` : ""),
  ];
  if (r.dropped.length > 0) {
    lines.push(
      `${r.dropped.join(", ")} answered before but did not find the new cluster in time, so ` +
        `${r.dropped.length === 1 ? "it was" : "they were"} removed too.`,
    );
  }
  lines.push(
    "A new CA replaced the old one: certificates of the removed members are refused everywhere.",
    `The old database files, certificates and keys are in ${r.backup}.`,
  );
  if (r.previousCa === "external") {
    lines.push("The old CA was external: `microovn certificates set-ca` puts one back.");
  }
  lines.push(
    "Wipe the state dir of every removed machine before using it again, then add members " +
      "back: `microovn cluster add NAME` here and `microovn cluster join TOKEN` there.",
  );
  return `${lines.join("\n")}\n`;
}
