/**
 * `microovn status` output: MicroOVN's layout (deployment summary, then the
 * OVN Database summary), followed by processes that crashed or wait to
 * restart, certificate problems and settings that cannot work, when there
 * are any.
 */
import { NOT_A_MEMBER_HINT } from "../../member/config.js";
import type { DatabaseSummary, ProcessSummary, StatusReport } from "../../daemon/status.js";
import { upgradeLines } from "./upgrade.js";
import { electionTimerLines } from "./election-timer.js";

function databaseLine(db: DatabaseSummary): string[] {
  if (db.error !== undefined || db.runningSchema === undefined) {
    return [`${db.title}: Unavailable (${db.error ?? "no schema version"})`];
  }
  const raft = db.raft
    ? ` [raft: ${db.raft.role}, ${db.raft.servers} server${db.raft.servers === 1 ? "" : "s"}]`
    : "";
  if (db.quorum === false) {
    return [
      `${db.title}: No leader! Writes fail${raft}`,
      "This server cannot reach a majority of its Raft cluster. Start the other central " +
        "members again (`microovn cluster list` shows which are OFFLINE); if they are lost " +
        "for good, see `microovn cluster recover`.",
    ];
  }
  if (db.expected) {
    const attention = upgradeLines(db.title, db.runningSchema, db.expected, raft);
    if (attention) return attention;
  } else if (db.installedSchema && db.installedSchema !== db.runningSchema) {
    return [
      `${db.title}: Upgrade or attention required!${raft}`,
      `Currently running schema: ${db.runningSchema}`,
      `Installed schema: ${db.installedSchema}`,
    ];
  }
  return [`${db.title}: OK (${db.runningSchema})${raft}`];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function processLine(p: ProcessSummary): string {
  const parts: string[] = [];
  if (p.phase === "running") parts.push(`running (pid ${p.pid})`);
  else if (p.phase === "waiting-to-restart") parts.push(`crashed, restarting at ${p.nextStartAt}`);
  else parts.push("stopped");
  if (p.restarts > 0) parts.push(`restarted ${plural(p.restarts, "time")}`);
  if (p.lastExit) {
    const how = p.lastExit.signal
      ? `killed by ${p.lastExit.signal}`
      : p.lastExit.code !== null
        ? `exit status ${p.lastExit.code}`
        : "how it ended is not known: it was adopted, not our child";
    parts.push(`last exit ${p.lastExit.at} (${how})`);
  }
  return `- ${p.name}: ${parts.join(", ")}`;
}

/** `microovn status` on a machine that is not a member (with or without a daemon). */
export const NOT_MEMBER_STATUS = `This machine is not a member of a cluster yet.\n${NOT_A_MEMBER_HINT}.\n`;

export function formatStatus(report: StatusReport): string {
  if (!report.bootstrapped) {
    if (!report.formerMember) return NOT_MEMBER_STATUS;
    return (
      `This machine was removed from its cluster (its old data is in ${report.formerMember}).\n` +
      `${NOT_A_MEMBER_HINT}.\n`
    );
  }
  const lines = ["MicroOVN deployment summary:"];
  if (report.removed) {
    lines.push(
      `This member was removed from the cluster: ${report.removed}. Its data belongs to the ` +
        "old cluster: stop it (`microovn shutdown`), wipe its state dir and join again with " +
        "a token (`microovn cluster add NAME` on a member).",
    );
  }
  for (const m of report.members) {
    // OFFLINE, UPGRADING or NEEDS UPGRADE: an online member in step says nothing.
    const standing = m.status !== undefined && m.status !== "ONLINE" ? ` ${m.status}` : "";
    lines.push(
      `- ${m.name} (${m.address})${standing}`,
      `  Services: ${[...m.services].sort().join(", ")}`,
    );
  }
  if (report.externalCentral) {
    lines.push(`External OVN central (ovn.central-ips): ${report.externalCentral.join(", ")}`);
  }
  lines.push("OVN Database summary:");
  for (const db of report.databases) lines.push(...databaseLine(db));
  lines.push(...electionTimerLines(report.databases));
  const troubled = report.processes.filter((p) => p.phase !== "running" || p.restarts > 0);
  if (troubled.length > 0) {
    lines.push("Processes that crashed or are restarting:");
    for (const p of troubled) lines.push(processLine(p));
  }
  if (report.certificates.length > 0) {
    lines.push("Certificate problems:");
    for (const c of report.certificates) lines.push(`- ${c.name}: ${c.path}: ${c.problem}`);
  }
  if (report.problems.length > 0) {
    lines.push("PROBLEMS:");
    for (const p of report.problems) lines.push(`- ${p}`);
  }
  if (report.beforeOthersJoin && report.beforeOthersJoin.length > 0) {
    lines.push("Before another chassis joins:");
    for (const p of report.beforeOthersJoin) lines.push(`- ${p}`);
  }
  return lines.join("\n") + "\n";
}
