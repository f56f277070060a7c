/**
 * Cluster tests run in the lab (src/lab/lab.ts): members in their own
 * network namespaces, with the built CLI. This file adds what tests need
 * around it: a lab in a temp dir with a unique namespace prefix, Raft
 * status as each member sees it, killing a member by pid, and member API
 * calls made from inside a namespace.
 */
import { resolve } from "node:path";
import { Lab, type LabNode } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { parseClusterStatus, type ClusterStatus } from "../../src/ovn/raft.js";
import { CLI } from "./member.js";
import { isAlive } from "./processes.js";
import { makeTempDir, removeDir } from "./tmp.js";
import { existsSync } from "node:fs";

let counter = 0;

/**
 * A lab with `nodes` members joined, in a temp dir; `down()` it in `after`.
 * With `ipv6`, members and underlay have IPv6 addresses only.
 */
export async function startLab(nodes: number, options: { ipv6?: boolean } = {}): Promise<Lab> {
  if (!existsSync(CLI)) {
    throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  }
  const root = await makeTempDir("lab");
  const prefix = `t${(process.pid % 46656).toString(36)}${++counter}`;
  const lab = await Lab.create({ root, prefix, cli: [process.execPath, CLI], ...options });
  try {
    for (let i = 0; i < nodes; i++) await lab.grow();
  } catch (e) {
    // The caller never gets the lab to take down: do it here.
    await stopLab(lab);
    throw e;
  }
  return lab;
}

/** Takes the lab down, and its temp dir with it, whatever state it is in. */
export async function stopLab(lab: Lab | undefined): Promise<void> {
  if (!lab) return;
  await lab.down().catch(() => undefined);
  await removeDir(lab.root);
}

export const DATABASES = {
  nb: { target: "ovnnb_db", name: "OVN_Northbound", raftPort: 6643 },
  sb: { target: "ovnsb_db", name: "OVN_Southbound", raftPort: 6644 },
  state: { target: "microovn_db", name: "MicroOVN", raftPort: 6650 },
} as const;

export type LabDatabase = keyof typeof DATABASES;

/** NB, SB and the state database. */
export const LAB_DATABASES = Object.keys(DATABASES) as LabDatabase[];

/** Names of NB's logical switches as `node` reads them, sorted. */
export async function logicalSwitches(lab: Lab, node: string): Promise<string[]> {
  const out = await lab.ok(node, [
    "ovn-nbctl",
    "--timeout=10",
    "--bare",
    "--columns=name",
    "list",
    "Logical_Switch",
  ]);
  return out
    .split("\n")
    .filter((l) => l !== "")
    .sort();
}

export interface RaftView extends ClusterStatus {
  /** Raft addresses of every server listed ("ssl:10.0.0.1:6643", "ssl:[fd00::1]:6643"). */
  addresses: string[];
}

/** `cluster/status` of one of a member's Raft databases, through the passthrough. */
export async function raftStatus(lab: Lab, node: string, db: LabDatabase): Promise<RaftView> {
  const d = DATABASES[db];
  const target =
    db === "state" ? resolve(lab.node(node).stateDir, "run", "microovn_db.ctl") : d.target;
  const text = await lab.ok(node, ["ovn-appctl", "-t", target, "cluster/status", d.name]);
  const servers = text.slice(text.indexOf("Servers:"));
  return {
    ...parseClusterStatus(text),
    addresses: [...servers.matchAll(/ at (ssl:(?:[0-9.]+|\[[0-9a-f:]+\]):\d+)\)/g)].map(
      (m) => m[1]!,
    ),
  };
}

/** SIGKILL of every process of a member: its OVN programs and its microovnd. */
export async function killNode(lab: Lab, node: string): Promise<number[]> {
  const pids = Object.values(await lab.pids(node)).filter((pid) => isAlive(pid));
  for (const pid of pids) process.kill(pid, "SIGKILL");
  return pids;
}

export interface MemberCallResult {
  status?: number;
  body?: { error?: { code: string; message: string } } & Record<string, unknown>;
  error?: string;
}

/**
 * GET or POST on member `target`'s API, made from inside `from`'s namespace,
 * optionally with a client certificate (paths as seen by this machine).
 */
export async function callMemberApi(
  lab: Lab,
  from: LabNode,
  target: LabNode,
  method: "GET" | "POST",
  path: string,
  credentials?: { key: string; cert: string },
): Promise<MemberCallResult> {
  const script = resolve(import.meta.dirname, "call-member.mjs");
  const args = [script, target.address, "6686", method, path];
  if (credentials) args.push(credentials.key, credentials.cert);
  const r = await runIn(from.namespace, process.execPath, args, { timeoutMs: 20_000 });
  return JSON.parse(r.stdout) as MemberCallResult;
}

/**
 * The mode columns of the NAT row for floating address `address`, read
 * through member `node` (both set: the floating IP is distributed).
 */
export async function floatingNatRow(
  lab: Lab,
  node: string,
  address: string,
): Promise<{ logical_port?: string; external_mac?: string }> {
  const out = await lab.ok(node, [
    "ovn-nbctl",
    "--timeout=10",
    "--format=json",
    "--columns=logical_port,external_mac",
    "find",
    "NAT",
    `external_ip="${address}"`,
  ]);
  const { data } = JSON.parse(out) as { data: unknown[][] };
  if (data.length !== 1) throw new Error(`${data.length} NAT rows for ${address}, not one`);
  const [port, mac] = data[0]!.map((v) => (typeof v === "string" ? v : undefined));
  return { logical_port: port, external_mac: mac };
}

/** One ovn-nbctl run of many commands (joined by `--`) through member `node`; its output. */
export function nbctlBatch(lab: Lab, node: string, commands: readonly string[][]): Promise<string> {
  const args = commands.flatMap((c, i) => (i === 0 ? c : ["--", ...c]));
  return lab.ok(node, ["ovn-nbctl", "--timeout=60", ...args]);
}
