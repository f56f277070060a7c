/**
 * Removing a member (`cluster remove NAME [--force]`).
 *
 * Gracefully, the leaving member does the work itself (`leave`): its
 * ovn-controller exits so its Chassis row goes, its member row goes (every
 * other member refreshes), it leaves the NB, SB and state database Raft
 * clusters and waits until the others have let it go, stops everything,
 * and moves its data, logs and keys to DIR/backup_<time>/.
 *
 * A member that is down cannot do that: with --force the cluster removes
 * it (`forget`) — its servers are kicked from the Raft clusters, its
 * Chassis rows and its member row are deleted. Its certificate is refused
 * by the member API from then on.
 */
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import { raftPort, sslTarget, type CentralDatabase } from "../ovn/central.js";
import { kickFromCluster, leaveCluster, readClusterStatus } from "../ovn/raft.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import type { OvnSouthboundDatabase } from "../ovsdb/models/ovn-southbound.js";
import { pathExists } from "../util/fs.js";
import { layoutFromRows, type MemberRow } from "../cluster/members.js";
import { connectStateDb } from "../membership/member-row.js";
import { callMember, isUnreachable, joinHostPort } from "../cluster/member-client.js";
import { centralWarnings } from "../cluster/placement.js";
import { STATE_DATABASE, STATE_DB_PORTS } from "../cluster/state-db.js";
import { stopChassis, stopEverything } from "./stop.js";

const RAFT_LEAVE_TIMEOUT_MS = 30_000;

/** Deletes a member's row from the state database. */
async function deleteMemberRow(rt: MemberRuntime, name: string): Promise<void> {
  const client = await connectStateDb(rt);
  try {
    const txn = client.transaction();
    txn.delete("Member", [["name", "==", name]]);
    await txn.commit();
  } finally {
    client.close();
  }
}

/** Deletes a chassis's rows from SB (what ovn-controller's `exit` would have done). */
export async function deleteChassis(rt: MemberRuntime, name: string): Promise<void> {
  const client = await OvsdbClient.connect<OvnSouthboundDatabase>({
    remotes: rt.sbRemotes(),
    database: "OVN_Southbound",
    tls: rt.pki.tlsFiles("client"),
    waitForConnectionMs: 10_000,
    requestTimeoutMs: 10_000,
  });
  try {
    const txn = client.transaction();
    txn.delete("Chassis_Private", [["name", "==", name]]);
    txn.delete("Chassis", [["name", "==", name]]);
    await txn.commit();
  } finally {
    client.close();
  }
}

/**
 * Moves the member's data and its programs' logs to DIR/backup_<time>/ and
 * clears the sockets and pidfiles of the programs that no longer run. The
 * daemon stays, so its own files stay where they are: its pidfile (how
 * `shutdown`, the lab and systemd find it) and its log (the file it still
 * writes to).
 */
async function moveAside(rt: MemberRuntime): Promise<string> {
  const state = rt.state;
  const backup = state.backupDir();
  await mkdir(join(backup, "logs"), { recursive: true, mode: 0o700 });
  if (await pathExists(state.dataDir)) await rename(state.dataDir, join(backup, "data"));
  const daemonLog = basename(state.log("microovnd"));
  for (const file of await readdir(state.logDir).catch(() => [])) {
    if (file !== daemonLog) await rename(join(state.logDir, file), join(backup, "logs", file));
  }
  const daemonPidFile = basename(state.daemonPidFile);
  for (const file of await readdir(state.runDir).catch(() => [])) {
    if (file !== daemonPidFile)
      await rm(join(state.runDir, file), { recursive: true, force: true });
  }
  await mkdir(state.runDir, { recursive: true });
  await mkdir(state.logDir, { recursive: true });
  return backup;
}

/** The leaving member's side: see the top of this file. Returns the backup dir. */
export async function leave(rt: MemberRuntime): Promise<string> {
  const config = rt.requireConfig();
  const voter = rt.isVoter();
  await stopChassis(rt, { unregister: true });
  await deleteMemberRow(rt, config.name);
  const leaving: Promise<void>[] = [];
  if (config.services.includes("central")) {
    const central = rt.central();
    await rt.supervisor.stop("ovn-northd");
    for (const db of ["nb", "sb"] as const) {
      leaving.push(
        leaveCluster(central.controlSocket(db), central.databaseName(db), RAFT_LEAVE_TIMEOUT_MS),
      );
    }
  }
  if (voter) {
    leaving.push(leaveCluster(rt.stateDb().controlSocket, STATE_DATABASE, RAFT_LEAVE_TIMEOUT_MS));
  }
  await Promise.all(leaving);
  await stopEverything(rt);
  const backup = await moveAside(rt);
  rt.config = undefined;
  rt.layout = { members: [] };
  return backup;
}

/** Kicks `row`'s servers from every Raft cluster this member has a server in. */
async function kickServers(rt: MemberRuntime, row: MemberRow): Promise<string[]> {
  const kicked: string[] = [];
  const config = rt.requireConfig();
  const kick = async (controlSocket: string, database: string, target: string) => {
    const status = await readClusterStatus(controlSocket, database);
    if (!status) {
      throw new MicroOvnError(
        "RAFT_UNAVAILABLE",
        `this member's ${database} server does not answer, so ${row.name} cannot be removed ` +
          "from its cluster here; try on another member",
      );
    }
    if (await kickFromCluster(controlSocket, database, target)) kicked.push(database);
  };
  if (row.services.includes("central") && config.services.includes("central")) {
    const central = rt.central();
    for (const db of ["nb", "sb"] as CentralDatabase[]) {
      await kick(
        central.controlSocket(db),
        central.databaseName(db),
        sslTarget(row.address, raftPort(db)),
      );
    }
  }
  if (row.role === "voter" && rt.isVoter()) {
    await kick(
      rt.stateDb().controlSocket,
      STATE_DATABASE,
      sslTarget(row.address, STATE_DB_PORTS.raft),
    );
  }
  return kicked;
}

/**
 * The cluster's side of a forced removal: kick, delete its Chassis and
 * member rows. Runs on a member that is a voter and, if the removed member
 * ran central, a central itself (the caller picks one).
 */
export async function forget(rt: MemberRuntime, row: MemberRow): Promise<string[]> {
  const kicked = await kickServers(rt, row);
  await deleteChassis(rt, row.name);
  await deleteMemberRow(rt, row.name);
  return kicked;
}

/** Warnings about what remains after `name` is gone. */
function removalWarnings(rows: readonly MemberRow[], name: string): string[] {
  return centralWarnings(layoutFromRows(rows.filter((r) => r.name !== name)).members);
}

export interface RemovalResult {
  name: string;
  /** Where the removed member keeps its old data (graceful removal). */
  backup?: string;
  /** Raft databases it was kicked from (forced removal). */
  kicked?: string[];
  warnings: string[];
  /** This member itself left. */
  self: boolean;
}

/** Whether `row`'s member can carry out a forced removal of `target`. */
function canForget(row: MemberRow, target: MemberRow): boolean {
  return (
    row.name !== target.name &&
    row.role === "voter" &&
    (!target.services.includes("central") || row.services.includes("central"))
  );
}

/** `cluster remove NAME [--force]`, on any member. */
export async function removeMember(
  rt: MemberRuntime,
  rows: readonly MemberRow[],
  name: string,
  force: boolean,
): Promise<RemovalResult> {
  const config = rt.requireConfig();
  const row = rows.find((m) => m.name === name);
  if (!row) {
    throw new MicroOvnError(
      "NOT_A_MEMBER",
      `"${name}" is not a member of this cluster; \`microovn cluster list\` shows the members`,
    );
  }
  const warnings = removalWarnings(rows, name);
  const self = name === config.name;
  if (!force) {
    if (self) return { name, backup: await leave(rt), warnings, self };
    try {
      const { backup } = await callMember<{ backup: string }>(
        joinHostPort(row.address),
        "POST",
        "/cluster/leave",
        {},
        { pki: rt.pki },
        120_000,
      );
      return { name, backup, warnings, self };
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      throw new MicroOvnError(
        "MEMBER_UNREACHABLE",
        `${name} does not answer at ${joinHostPort(row.address)} (${(e as Error).message}); ` +
          "if it is gone for good, remove it with --force",
      );
    }
  }
  if (self) {
    throw new MicroOvnError(
      "CANNOT_FORCE_SELF",
      "a member cannot force itself out; remove it without --force, or run this on another member",
    );
  }
  const me = rows.find((m) => m.name === config.name);
  if (me && canForget(me, row)) return { name, kicked: await forget(rt, row), warnings, self };
  const helper = rows.find((m) => canForget(m, row));
  if (!helper) {
    throw new MicroOvnError(
      "NO_MEMBER_CAN_REMOVE",
      `no other member holds ${name}'s databases, so it cannot be removed`,
    );
  }
  const { kicked } = await callMember<{ kicked: string[] }>(
    joinHostPort(helper.address),
    "POST",
    "/cluster/forget",
    { name },
    { pki: rt.pki },
    60_000,
  );
  return { name, kicked, warnings, self };
}
