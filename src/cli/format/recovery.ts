/** `microovn cluster recover` output: what the question says it will do, and what it did. */
import type { RecoveryPlan, RecoveryResult } from "../../lifecycle/recover.js";

function lostNames(plan: RecoveryPlan): string {
  return plan.lost.length > 0 ? plan.lost.join(", ") : "no other member";
}

/** What the confirmation question is about. */
export function describeRecoveryPlan(plan: RecoveryPlan): string {
  const lines: string[] = [];
  if (plan.unfinished !== undefined) {
    lines.push(`A recovery begun earlier stopped half way (old files in ${plan.unfinished}).`);
  }
  lines.push(
    `${plan.member} becomes the only member of a new cluster, with every row of its ` +
      `databases. Removed for good: ${lostNames(plan)} (their member rows, chassis and ` +
      "certificates: a new CA replaces the current one). They must not be started again " +
      "with their old data.",
  );
  return lines.join("\n");
}

export function describeRecovery(r: RecoveryResult): string {
  const ids = Object.entries(r.clusterIds)
    .map(([db, id]) => `${db} ${id}`)
    .join(", ");
  const lines = [
    `Recovered: ${r.member} is the only member of a new cluster (${ids}); every row was kept.`,
    `Removed for good: ${lostNames(r)}` +
      (r.chassisDeleted.length > 0 ? ` (chassis deleted: ${r.chassisDeleted.join(", ")})` : ""),
    "A new CA replaced the old one: certificates of the removed members are refused everywhere.",
    `The old database files, certificates and keys are in ${r.backup}.`,
  ];
  if (r.previousCa === "external") {
    lines.push("The old CA was external: `microovn certificates set-ca` puts one back.");
  }
  lines.push(
    "Wipe the state dir of every removed machine before using it again, then add members " +
      "back: `microovn cluster add NAME` here and `microovn cluster join TOKEN` there.",
  );
  return `${lines.join("\n")}\n`;
}
