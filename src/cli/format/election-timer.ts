/**
 * The election timer line of `microovn status`: each clustered database
 * whose server runs on this member, with the value its `cluster/status`
 * shows (`microovn config set ovn.election-timer MS` changes it).
 */
import type { DatabaseSummary } from "../../daemon/status.js";

export function electionTimerLines(databases: readonly DatabaseSummary[]): string[] {
  const shown = databases.filter((db) => db.raft?.electionTimerMs !== undefined);
  if (shown.length === 0) return [];
  return [
    `Election timer: ${shown.map((db) => `${db.title} ${db.raft!.electionTimerMs} ms`).join(", ")}`,
  ];
}
