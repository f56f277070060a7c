/**
 * Programs of this member that still run a binary the package manager has
 * since replaced: `apt-get install` of a newer OVN swaps the files (schemas
 * included) but leaves running programs alone, and the kernel then shows
 * their executable as "… (deleted)". Such a member has the new schemas on
 * disk but the old OVN at work, so it must not yet count as ready for them.
 */
import { readlink } from "node:fs/promises";

/** Whether a `/proc/PID/exe` link names an executable that was deleted or replaced. */
export function isReplacedExecutable(link: string): boolean {
  return link.endsWith(" (deleted)");
}

/**
 * OVN's and Open vSwitch's programs, by the names the supervisor gives them
 * (ovsdb-server-nb, ovn-northd, ovs-vswitchd, …); not the OpenStack API,
 * whose Node.js has nothing to do with the schemas.
 */
export function isOvnProgram(name: string): boolean {
  return /^(ovsdb-server|ovn-|ovs-)/.test(name);
}

/** The names of the running OVN/OVS processes among `processes` whose binary was replaced. */
export async function replacedPrograms(
  processes: readonly { name: string; pid: number | undefined }[],
): Promise<string[]> {
  const replaced: string[] = [];
  for (const p of processes) {
    if (p.pid === undefined || !isOvnProgram(p.name)) continue;
    const link = await readlink(`/proc/${p.pid}/exe`).catch(() => "");
    if (isReplacedExecutable(link)) replaced.push(p.name);
  }
  return replaced.sort();
}
