/**
 * Clustered (Raft) OVSDB databases: creating one as a new one-member cluster,
 * and reading a server's Raft state through its control socket
 * (`cluster/status DB`).
 */
import { access, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { run } from "../process/run.js";

/** The parts of `cluster/status DB` that we use. */
export interface ClusterStatus {
  /** Short (4 hex digit) server ID, as other members refer to it. */
  serverId: string;
  /** Short cluster ID. */
  clusterId: string;
  /** "cluster member", "joining cluster", "leaving cluster", "left cluster", … */
  status: string;
  /** "leader", "follower" or "candidate". */
  role: string;
  term: number;
  /** "self", the leader's short server ID, or "unknown". */
  leader: string;
  /** This server's Raft address, e.g. "ssl:10.0.0.1:6643". */
  address: string;
  /** Number of servers listed under "Servers:". */
  servers: number;
}

/** Parses the "Key: value" lines of `cluster/status`. */
export function parseClusterStatus(text: string): ClusterStatus {
  const fields = new Map<string, string>();
  let servers = 0;
  let inServers = false;
  for (const line of text.split("\n")) {
    if (inServers) {
      if (/^\s+\S/.test(line)) servers++;
      else inServers = false;
    }
    if (line.startsWith("Servers:")) inServers = true;
    const m = /^([A-Za-z][A-Za-z ]*): (.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined && !fields.has(m[1])) fields.set(m[1], m[2].trim());
  }
  return {
    serverId: (fields.get("Server ID") ?? "").split(" ")[0] ?? "",
    clusterId: (fields.get("Cluster ID") ?? "").split(" ")[0] ?? "",
    status: fields.get("Status") ?? "",
    role: fields.get("Role") ?? "",
    term: Number(fields.get("Term") ?? NaN),
    leader: fields.get("Leader") ?? "",
    address: fields.get("Address") ?? "",
    servers,
  };
}

/** `cluster/status` of the server behind `controlSocket`, or undefined if it does not answer. */
export async function readClusterStatus(
  controlSocket: string,
  database: string,
): Promise<ClusterStatus | undefined> {
  const result = await run(
    "ovs-appctl",
    ["-T", "2", "-t", controlSocket, "cluster/status", database],
    { allowFailure: true, timeoutMs: 3_000 },
  );
  return result.exitCode === 0 ? parseClusterStatus(result.stdout) : undefined;
}

/**
 * Creates `file` as a new one-member Raft cluster of `schemaFile` whose
 * members talk at `raftTarget` (e.g. "ssl:10.0.0.1:6643"), unless the file
 * exists. Returns whether it was created.
 */
export async function createClusteredDb(
  file: string,
  schemaFile: string,
  raftTarget: string,
): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true });
  try {
    await access(file);
    return false;
  } catch {
    /* absent: create it */
  }
  await run("ovsdb-tool", ["create-cluster", file, schemaFile, raftTarget]);
  return true;
}
