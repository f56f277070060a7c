/**
 * `cluster bootstrap`, `cluster join` and `init` start this member's daemon
 * when none runs. Should the command fail before the machine became a
 * member (a check refused it, the input was bad, the join was refused), the
 * machine is put back as it was: the daemon the command started is stopped
 * and the directories it made are removed. A daemon that ran before, a
 * member that exists, and the log of a daemon that could not start are
 * left alone.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import type { Readiness } from "../daemon/api/route-context.js";
import type { StateDir } from "../member/state-dir.js";
import { waitForExit } from "../supervisor/supervisor.js";
import type { ControlClient } from "./control-client.js";

const STOP_TIMEOUT_MS = 30_000;

export const ALLOW_FOREIGN_OVS_HELP =
  "go ahead although another Open vSwitch/OVN (e.g. Debian's own services) runs here";

interface Before {
  daemonUp: boolean;
  /** The directories that did not exist before the command. */
  absent: string[];
}

async function noteBefore(client: ControlClient): Promise<Before> {
  const state = client.state;
  const dirs = [state.root, state.runDir, state.logDir];
  return { daemonUp: await client.isUp(), absent: dirs.filter((d) => !existsSync(d)) };
}

async function putBack(client: ControlClient, before: Before): Promise<void> {
  // A daemon that could not start keeps its log, which the error points at.
  if (before.daemonUp || !(await client.isUp())) return;
  const readiness = await client.call<Readiness>("GET", "/ready");
  if (readiness.bootstrapped) return;
  await client.call("POST", "/shutdown");
  if (await waitForExit(readiness.pid, STOP_TIMEOUT_MS)) {
    await removeMade(client.state, before.absent);
  }
}

/** Removes the directories the command made (the state dir itself first: it holds the rest). */
async function removeMade(state: StateDir, absent: readonly string[]): Promise<void> {
  if (absent.includes(state.root)) {
    await rm(state.root, { recursive: true, force: true });
    return;
  }
  for (const dir of absent) await rm(dir, { recursive: true, force: true });
}

/** Runs `work` (which makes this machine a member); on failure puts the machine back. */
export async function asNewMember<T>(client: ControlClient, work: () => Promise<T>): Promise<T> {
  const before = await noteBefore(client);
  try {
    return await work();
  } catch (e) {
    await putBack(client, before).catch(() => undefined);
    throw e;
  }
}
