/** `microovn --version`: ours, and the installed OVN and Open vSwitch. */
import { run } from "../process/run.js";
import { VERSION } from "../version.js";

async function firstVersion(program: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(program, args, { timeoutMs: 5_000 });
    return /(\d+\.\d+\.\d+)/.exec(stdout)?.[1] ?? "unknown";
  } catch {
    return "not installed";
  }
}

export async function versionReport(): Promise<string> {
  const [ovn, ovs] = await Promise.all([
    firstVersion("ovn-nbctl", ["--version"]),
    firstVersion("ovs-vsctl", ["--version"]),
  ]);
  return `microovn: ${VERSION}\novn: ${ovn}\nopenvswitch: ${ovs}\n`;
}
