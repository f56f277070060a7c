/**
 * Network namespaces: one per member (and per VM) in tests, benchmarks and
 * the lab, so that several members can run on one machine with their own
 * addresses and ports. Only namespaces created here are touched.
 */
import { run } from "../process/run.js";

/** Creates namespace `name` with its loopback up. */
export async function createNamespace(name: string): Promise<void> {
  await run("ip", ["netns", "add", name]);
  await run("ip", ["-n", name, "link", "set", "lo", "up"]);
}

export async function deleteNamespace(name: string): Promise<void> {
  await run("ip", ["netns", "del", name], { allowFailure: true });
}

/** The command line that runs `program args…` inside namespace `name`. */
export function inNamespace(
  name: string,
  program: string,
  args: readonly string[],
): { program: string; args: string[] } {
  return { program: "ip", args: ["netns", "exec", name, program, ...args] };
}

/** Runs a command inside namespace `name` and returns its output. */
export async function runIn(
  name: string,
  program: string,
  args: readonly string[],
  options: { allowFailure?: boolean; timeoutMs?: number; input?: string } = {},
) {
  const cmd = inNamespace(name, program, args);
  return run(cmd.program, cmd.args, options);
}

export interface VethEnd {
  namespace: string;
  name: string;
  /**
   * Its MAC, set before the link comes up: IPv6 forms the link-local
   * address from the MAC it finds then, and a VM whose link-local address
   * does not match its port's MAC has its router solicitations dropped by
   * OVN's port security.
   */
  mac?: string;
}

/** A veth pair between two namespaces, both ends up. */
export async function createVeth(a: VethEnd, b: VethEnd): Promise<void> {
  await run("ip", [
    "-n",
    a.namespace,
    "link",
    "add",
    a.name,
    "type",
    "veth",
    "peer",
    "name",
    b.name,
    "netns",
    b.namespace,
  ]);
  for (const end of [a, b]) {
    if (end.mac !== undefined) {
      await run("ip", ["-n", end.namespace, "link", "set", end.name, "address", end.mac]);
    }
    await run("ip", ["-n", end.namespace, "link", "set", end.name, "up"]);
  }
}
