/**
 * The clustered database servers of this member: NB and SB under the names
 * ovn-kubernetes gives them (`ovn_db_*`, labelled by db_name), the cluster
 * state database under the same names with our prefix (`microovn_db_*`).
 * Each server is asked `cluster/status` and `memory/show`; its file size
 * comes from the file.
 */
import { stat } from "node:fs/promises";
import type { MetricSet } from "../metric-set.js";
import { parseCounts, parseRaftMetrics } from "../read/parse.js";
import { appctl } from "../../ovn/unixctl.js";

export interface ClusteredServer {
  /** "ovn_db" for NB and SB, "microovn_db" for the state database. */
  prefix: string;
  /** OVN_Northbound, OVN_Southbound, MicroOVN. */
  dbName: string;
  controlSocket: string;
  dbFile: string;
}

const PER_SERVER: [suffix: string, help: string, pick: keyof RaftNumbers][] = [
  ["cluster_term", "The current Raft term as this server knows it", "term"],
  ["cluster_election_timer", "The Raft election timer, in milliseconds", "electionTimerMs"],
  ["cluster_log_index_start", "The first index of this server's Raft log", "logIndexStart"],
  ["cluster_log_index_next", "The next index of this server's Raft log", "logIndexNext"],
  ["cluster_log_not_committed", "Raft log entries not yet committed", "logNotCommitted"],
  ["cluster_log_not_applied", "Raft log entries not yet applied", "logNotApplied"],
  [
    "cluster_inbound_connections_total",
    "Raft connections other servers opened to this one",
    "inbound",
  ],
  [
    "cluster_outbound_connections_total",
    "Raft connections this server opened to others",
    "outbound",
  ],
  [
    "cluster_inbound_connections_error_total",
    "Failed Raft connections from other servers",
    "inboundErrors",
  ],
  [
    "cluster_outbound_connections_error_total",
    "Failed Raft connections to other servers",
    "outboundErrors",
  ],
];

type RaftNumbers = Omit<
  NonNullable<ReturnType<typeof parseRaftMetrics>>,
  "clusterId" | "serverId" | "status" | "role"
>;

/**
 * Reads one server into `set`; returns its ovsdb-server version (`version`
 * command), or undefined when it did not answer.
 */
export async function collectClusteredServer(
  set: MetricSet,
  server: ClusteredServer,
): Promise<string | undefined> {
  const { prefix, dbName, controlSocket } = server;
  const [status, memory, version, file] = await Promise.all([
    appctl(controlSocket, "cluster/status", [dbName]),
    appctl(controlSocket, "memory/show"),
    appctl(controlSocket, "version"),
    stat(server.dbFile).catch(() => undefined),
  ]);
  const db = { db_name: dbName };
  if (file)
    set.gauge(`${prefix}_db_size_bytes`, "The size of the database file, in bytes", file.size, db);
  const raft = status === undefined ? undefined : parseRaftMetrics(status);
  if (raft) {
    const ids = { ...db, cluster_id: raft.clusterId, server_id: raft.serverId };
    set.info(`${prefix}_cluster_server_role`, "1, labelled with this server's Raft role", {
      ...ids,
      server_role: raft.role,
    });
    set.info(`${prefix}_cluster_server_status`, "1, labelled with this server's Raft status", {
      ...ids,
      server_status: raft.status,
    });
    for (const [suffix, help, pick] of PER_SERVER) {
      const value = raft[pick];
      if (value !== undefined) set.gauge(`${prefix}_${suffix}`, help, value, ids);
    }
  }
  if (memory !== undefined) {
    const counts = parseCounts(memory);
    const sessions = counts.get("sessions");
    const monitors = counts.get("monitors");
    if (sessions !== undefined)
      set.gauge(
        `${prefix}_jsonrpc_server_sessions`,
        "JSON-RPC sessions to the server",
        sessions,
        db,
      );
    if (monitors !== undefined)
      set.gauge(`${prefix}_ovsdb_monitors`, "OVSDB monitors on the server", monitors, db);
  }
  return version === undefined ? undefined : /(\d[\w.~+-]*)\s*$/.exec(version.trim())?.[1];
}
