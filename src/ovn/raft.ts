/**
 * Clustered (Raft) OVSDB databases: creating one as a new one-member cluster,
 * making a new one-member cluster of a server whose cluster is lost, and
 * reading a server's Raft state through its control socket
 * (`cluster/status DB`).
 */
import { access, mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { MicroOvnError } from "../errors.js";
import { run } from "../process/run.js";
import { appctl } from "./unixctl.js";

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
  /** "Election timer: N" (ms), when the server prints it. */
  electionTimerMs?: number;
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
    ...(fields.has("Election timer")
      ? { electionTimerMs: Number(fields.get("Election timer")) }
      : {}),
  };
}

/** `cluster/status` of the server behind `controlSocket`, or undefined if it does not answer. */
export async function readClusterStatus(
  controlSocket: string,
  database: string,
): Promise<ClusterStatus | undefined> {
  // Read often (every few seconds by several watchers): over the socket
  // from this process, not by starting ovs-appctl each time.
  const text = await appctl(controlSocket, "cluster/status", [database], 2_000);
  return text === undefined ? undefined : parseClusterStatus(text);
}

/** Which database a clustered database file holds. */
export interface ClusteredDbKind {
  /** The schema file (to create a new cluster). */
  schema: string;
  /** The database name (to join an existing one). */
  database: string;
}

/**
 * Creates `file` unless it exists (returns whether it did): with no `peers`,
 * as a new one-member Raft cluster whose members talk at `raftTarget` (e.g.
 * "ssl:10.0.0.1:6643"); given the Raft addresses of servers of an existing
 * cluster, as a server that joins theirs at its first contact with one.
 * A new cluster starts with `electionTimerMs` when given (OVN's 1000 ms
 * otherwise).
 */
export async function createClusteredDb(
  file: string,
  kind: ClusteredDbKind,
  raftTarget: string,
  peers: readonly string[] = [],
  electionTimerMs?: number,
): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true });
  try {
    await access(file);
    return false;
  } catch {
    /* absent: make it */
  }
  await run(
    "ovsdb-tool",
    peers.length === 0
      ? [
          // A joining server takes the timer from the cluster's log instead.
          ...(electionTimerMs ? [`--election-timer=${electionTimerMs}`] : []),
          "create-cluster",
          file,
          kind.schema,
          raftTarget,
        ]
      : ["join-cluster", file, kind.database, raftTarget, ...peers],
  );
  return true;
}

/** Waits until the server behind `controlSocket` is a full member of its cluster. */
export async function waitForClusterMember(
  controlSocket: string,
  database: string,
  timeoutMs: number,
): Promise<ClusterStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: ClusterStatus | undefined;
  for (;;) {
    last = await readClusterStatus(controlSocket, database);
    if (last?.status === "cluster member" && last.leader !== "unknown") return last;
    if (Date.now() > deadline) {
      throw new MicroOvnError(
        "RAFT_JOIN_TIMEOUT",
        `${database} did not become a cluster member within ${timeoutMs / 1000} s ` +
          `(status: ${last?.status || "no answer"}); are the other members reachable?`,
      );
    }
    await delay(100);
  }
}

/**
 * Leaves the cluster gracefully (`cluster/leave`) and waits until the other
 * servers have removed this one; ovsdb-server exits by itself after that.
 */
export async function leaveCluster(
  controlSocket: string,
  database: string,
  timeoutMs: number,
): Promise<void> {
  await run("ovs-appctl", ["-T", "5", "-t", controlSocket, "cluster/leave", database], {
    allowFailure: true,
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await readClusterStatus(controlSocket, database);
    if (status === undefined || status.status === "left cluster") return;
    if (Date.now() > deadline) {
      throw new MicroOvnError(
        "RAFT_LEAVE_TIMEOUT",
        `${database} did not leave its cluster within ${timeoutMs / 1000} s ` +
          `(status: ${status.status}); the other members may be unreachable`,
      );
    }
    await delay(100);
  }
}

/**
 * Removes another server (by ID or Raft address) from the cluster, e.g. one
 * that is dead. Returns false if the cluster did not know it.
 *
 * The removal goes through the leader. When the server being removed was
 * the leader and has just died, the others have none until their election
 * timer runs out, and ovsdb-server answers "failed to send removal
 * request": that is retried until `leaderWaitMs` has passed.
 */
export async function kickFromCluster(
  controlSocket: string,
  database: string,
  server: string,
  leaderWaitMs = 20_000,
): Promise<boolean> {
  const deadline = Date.now() + leaderWaitMs;
  for (;;) {
    const result = await run(
      "ovs-appctl",
      ["-T", "5", "-t", controlSocket, "cluster/kick", database, server],
      { allowFailure: true },
    );
    if (result.exitCode === 0) return true;
    if (/unknown server/i.test(result.stderr)) return false;
    const why = result.stderr.trim() || result.stdout.trim();
    if (/failed to send removal request/i.test(why) && Date.now() < deadline) {
      await delay(250);
      continue;
    }
    throw new MicroOvnError(
      "RAFT_KICK_FAILED",
      `could not remove ${server} from ${database}: ${why}; check that a majority of ` +
        "its servers runs (`microovn status`) and try again",
    );
  }
}

/**
 * Makes the clustered database `file` a new one-member cluster at
 * `raftTarget` with every row of its local copy, for when the other servers
 * of its cluster are lost for good (its server must be stopped). The old
 * file goes to `backupFile`. The new cluster has a new cluster ID, so
 * servers of the old one can never take part in it.
 */
export async function reformAsOneServer(
  file: string,
  raftTarget: string,
  backupFile: string,
): Promise<void> {
  // OVN's own way out of a lost cluster: a standalone copy, then a new
  // cluster made from it (create-cluster takes a database as contents).
  const standalone = `${file}.standalone`;
  await rm(standalone, { force: true });
  try {
    await run("ovsdb-tool", ["cluster-to-standalone", standalone, file]);
    await mkdir(dirname(backupFile), { recursive: true, mode: 0o700 });
    await rename(file, backupFile);
    try {
      await run("ovsdb-tool", ["create-cluster", file, standalone, raftTarget]);
    } catch (e) {
      await rm(file, { force: true });
      await rename(backupFile, file);
      throw e;
    }
  } finally {
    await rm(standalone, { force: true });
  }
}
