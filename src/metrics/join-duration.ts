/**
 * How long this member's own bootstrap or join took, from the request
 * reaching the daemon to the member taking part in the cluster. Kept in
 * DIR/data/join-duration.json so it survives daemon restarts: the figure
 * describes the member's birth, measured once.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { StateDir } from "../member/state-dir.js";
import { writeAtomically } from "../util/fs.js";

export interface JoinDuration {
  how: "bootstrap" | "join";
  seconds: number;
  /** When it finished (ISO 8601). */
  at: string;
}

function file(state: StateDir): string {
  return join(state.dataDir, "join-duration.json");
}

/** Records a bootstrap or join that took `ms`; a failure to write is only logged by the caller. */
export async function recordJoinDuration(
  state: StateDir,
  how: JoinDuration["how"],
  ms: number,
): Promise<void> {
  const value: JoinDuration = { how, seconds: ms / 1000, at: new Date().toISOString() };
  await writeAtomically(file(state), `${JSON.stringify(value)}\n`, 0o644);
}

export async function readJoinDuration(state: StateDir): Promise<JoinDuration | undefined> {
  try {
    const value = JSON.parse(await readFile(file(state), "utf8")) as Partial<JoinDuration>;
    return (value.how === "bootstrap" || value.how === "join") && typeof value.seconds === "number"
      ? (value as JoinDuration)
      : undefined;
  } catch {
    return undefined;
  }
}
