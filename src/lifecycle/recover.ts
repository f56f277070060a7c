/**
 * Recovering from the loss of the majority (`cluster recover`), on a member
 * that holds copies of NB, SB and the cluster state database when the other
 * servers of those Raft clusters are gone for good and no write can pass.
 *
 * Only a cluster without a leader may be recovered: while a majority of the
 * servers answers, nothing is lost, and dead members are removed with
 * `cluster remove --force`. The other members are sorted first: those that
 * answer on the member API and hold no Raft server (spares: chassis-only
 * hypervisors, most of a large cluster) are kept; every other one (down, or
 * holding a server of the old clusters) is lost. Then, on this member:
 *
 *  1. ovn-northd and the three ovsdb-servers stop;
 *  2. each database becomes a new one-member Raft cluster with every row of
 *     this member's copy (`ovsdb-tool cluster-to-standalone`, then
 *     `create-cluster` from it); the old files go to DIR/backup_<time>/;
 *  3. the servers and northd start again, on the new clusters, still with
 *     the old CA (the kept members know only that one yet);
 *  4. the state database keeps the member rows of this member and the kept
 *     ones, and no join token; every kept member must then write its
 *     heartbeat to the new state database (its daemon found it), or it is
 *     lost too;
 *  5. a new CA replaces the old one (kept in the backup) on this member and
 *     the kept ones, as `certificates regenerate-ca` does it (ca-rollout.ts):
 *     trusted beside the old one, new certificates, then the old CA dropped;
 *  6. SB loses the lost members' chassis, and the state database records
 *     the new SB cluster (RECOVERY_MARKER): every chassis, this one and the
 *     kept ones, starts ovn-controller afresh on seeing it, since
 *     ovn-controller would take the new SB cluster for a stale server of
 *     the old one (refresh.ts).
 *
 * Once step 2 is done there is no going back: DIR/data/recovery.json then
 * records the recovery until it is finished, and running it again after a
 * failure in steps 3 to 6 finishes it (each of those steps can be repeated).
 *
 * The lost members are fenced out three ways: their Raft servers belong to
 * the old cluster ID, which the new servers refuse; their certificates come
 * from the old CA, which no server of the new cluster trusts once step 5 is
 * done (ovsdb-server has no revocation list, so a new CA is the only way to
 * refuse them on the OVSDB and Raft ports); and they have no member row, so
 * the member API refuses them too. New members join with tokens as usual.
 */
import { cp, readFile, rename, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { RECOVERY_MARKER } from "../cluster/config-keys.js";
import { normalizeLayout, type LayoutMember } from "../cluster/layout.js";
import { callMember, joinHostPort } from "../cluster/member-client.js";
import { type MemberRow } from "../cluster/members.js";
import { connectStateDb, recordMember } from "../membership/member-row.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import {
  readClusterStatus,
  reformAsOneServer,
  waitForClusterMember,
  type ClusterStatus,
} from "../ovn/raft.js";
import type { CaOrigin } from "../pki/store.js";
import { writeAtomically } from "../util/fs.js";
import { rolloutCa } from "./ca-rollout.js";
import { restartChassis } from "./refresh.js";
import { deleteChassis } from "./remove.js";
import { startCentral, startStateDb } from "./start.js";

/** How often, and how far apart, each server's Raft state is read before deciding. */
const SAMPLES = 3;
const SAMPLE_INTERVAL_MS = 1_000;
const NEW_CLUSTER_TIMEOUT_MS = 30_000;
/** How long a member that may be kept has to answer on the member API. */
const PROBE_TIMEOUT_MS = 3_000;
/** How long kept members have to find the new state database (their clients back off 2 s at most). */
const FOLLOW_TIMEOUT_MS = 20_000;
const FOLLOW_POLL_MS = 250;

/** One of this member's Raft databases, as recovery handles it. */
interface RaftDatabase {
  database: string;
  /** The supervisor's name for its ovsdb-server. */
  server: string;
  controlSocket: string;
  file: string;
  raftTarget: string;
}

function raftDatabases(rt: MemberRuntime): RaftDatabase[] {
  const central = rt.central();
  const stateDb = rt.stateDb();
  return [
    ...(["nb", "sb"] as const).map((db) => ({
      database: central.databaseName(db),
      server: central.dbServerSpec(db).name,
      controlSocket: central.controlSocket(db),
      file: central.dbFile(db),
      raftTarget: central.raftTarget(db),
    })),
    {
      database: STATE_DATABASE,
      server: stateDb.serverSpec().name,
      controlSocket: stateDb.controlSocket,
      file: stateDb.dbFile,
      raftTarget: stateDb.raftTarget,
    },
  ];
}

export type RaftSample = Pick<ClusterStatus, "role" | "leader" | "servers"> | undefined;

/**
 * Why recovery is refused, from each database's Raft state read a few
 * times (undefined: the server did not answer), or undefined when every
 * database has been without a leader throughout. A leader seen once is
 * enough to refuse: a majority answered then.
 */
export function recoveryRefusal(
  databases: readonly { database: string; samples: readonly RaftSample[] }[],
): string | undefined {
  for (const { database, samples } of databases) {
    if (samples.length === 0 || samples.some((s) => s === undefined)) {
      return (
        `this member's ${database} server does not answer; recovery needs it running ` +
        "(see `microovn status`). Nothing was changed"
      );
    }
  }
  for (const { database, samples } of databases) {
    const led = samples.find((s) => s!.role === "leader" || s!.leader !== "unknown");
    if (led) {
      const who = led.role === "leader" || led.leader === "self" ? "this member" : led.leader;
      return (
        `${database} still has a leader (${who}): a majority of its servers is reachable, so ` +
        "nothing needs recovering; remove a member that is gone for good with " +
        "`microovn cluster remove NAME --force`. Nothing was changed"
      );
    }
  }
  if (databases.every(({ samples }) => samples.every((s) => s!.servers <= 1))) {
    return "this member is the only server of every database already: there is nothing to recover";
  }
  return undefined;
}

export interface RecoveryPlan {
  /** The member that stays with the databases (this one). */
  member: string;
  /**
   * Members that stay: they answered and hold no Raft server of the old
   * clusters; they move to the new CA and follow the new clusters.
   */
  kept: string[];
  /** Every other member (down, or holding a Raft server): they leave the cluster for good. */
  lost: string[];
  /**
   * The backup dir of a recovery that made the new database clusters but
   * stopped before the end: this one finishes it.
   */
  unfinished?: string;
}

/**
 * Who stays and who goes: of the members other than `self`, those that
 * answered (`answered`) and hold no Raft server (no central, not a voter)
 * are kept, the others lost. Names sorted.
 */
export function sortSurvivors(
  self: string,
  members: readonly Pick<LayoutMember, "name" | "role" | "services">[],
  answered: ReadonlySet<string>,
): Pick<RecoveryPlan, "kept" | "lost"> {
  const kept: string[] = [];
  const lost: string[] = [];
  for (const m of members) {
    if (m.name === self) continue;
    if (answered.has(m.name) && holdsNoRaftServer(m)) kept.push(m.name);
    else lost.push(m.name);
  }
  return { kept: kept.sort(), lost: lost.sort() };
}

function holdsNoRaftServer(m: Pick<LayoutMember, "role" | "services">): boolean {
  return m.role !== "voter" && !m.services.includes("central");
}

/**
 * Names of the members that could be kept and answer on the member API,
 * asked in parallel with this member's current certificates.
 */
async function answeringSpares(
  rt: MemberRuntime,
  members: readonly LayoutMember[],
): Promise<Set<string>> {
  const self = rt.requireConfig().name;
  const names = await Promise.all(
    members
      .filter((m) => m.name !== self && holdsNoRaftServer(m))
      .map((m) =>
        callMember(
          joinHostPort(m.address),
          "GET",
          "/cluster/members",
          undefined,
          { pki: rt.pki },
          PROBE_TIMEOUT_MS,
        ).then(
          () => m.name,
          () => undefined,
        ),
      ),
  );
  return new Set(names.filter((n) => n !== undefined));
}

interface UnfinishedRecovery {
  kept: string[];
  lost: string[];
  /** Members other than this one that ran a chassis (their Chassis rows go if they are lost). */
  chassis: string[];
  backup: string;
  previousCa: CaOrigin;
}

/** What an unfinished recovery left in DIR/data/recovery.json. */
async function unfinishedRecovery(rt: MemberRuntime): Promise<UnfinishedRecovery | undefined> {
  try {
    const recorded = JSON.parse(
      await readFile(rt.state.unfinishedRecoveryPath, "utf8"),
    ) as Partial<UnfinishedRecovery> & Pick<UnfinishedRecovery, "lost" | "backup" | "previousCa">;
    // Recorded before members could be kept: every other member was lost, chassis or not.
    return { kept: [], chassis: recorded.lost, ...recorded };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new MicroOvnError(
      "RECOVERY_RECORD_UNREADABLE",
      `${rt.state.unfinishedRecoveryPath} records a recovery but cannot be read ` +
        `(${(e as Error).message}); restore it from ${rt.state.root}/backup_<time>/ or fix it, ` +
        "then run `microovn cluster recover` again",
    );
  }
}

function saveUnfinished(rt: MemberRuntime, recovery: UnfinishedRecovery): Promise<void> {
  return writeAtomically(rt.state.unfinishedRecoveryPath, `${JSON.stringify(recovery)}\n`, 0o600);
}

/**
 * Whether this member may recover the cluster, and whom recovery would keep
 * and remove; throws with the reason when it may not. Changes nothing.
 */
export async function planRecovery(rt: MemberRuntime): Promise<RecoveryPlan> {
  const config = rt.requireConfig();
  if (!config.services.includes("central") || !rt.isVoter()) {
    throw new MicroOvnError(
      "NO_DATABASE_COPIES",
      `${config.name} does not hold copies of the OVN databases and the cluster state ` +
        "(it is not a voter running central); run `microovn cluster recover` on a surviving " +
        "member that does (`microovn cluster list` there shows the voters). Nothing was changed",
    );
  }
  const unfinished = await unfinishedRecovery(rt);
  if (unfinished) {
    // The old clusters are gone already: only finishing is left, whatever Raft says now.
    return {
      member: config.name,
      kept: unfinished.kept,
      lost: unfinished.lost,
      unfinished: unfinished.backup,
    };
  }
  const databases = raftDatabases(rt).map((db) => ({ ...db, samples: [] as RaftSample[] }));
  for (let i = 0; i < SAMPLES; i++) {
    if (i > 0) await delay(SAMPLE_INTERVAL_MS);
    for (const db of databases) {
      db.samples.push(await readClusterStatus(db.controlSocket, db.database));
    }
  }
  const refusal = recoveryRefusal(databases);
  if (refusal !== undefined) throw new MicroOvnError("RECOVERY_REFUSED", refusal);
  const members = rt.layout.members;
  return {
    member: config.name,
    ...sortSurvivors(config.name, members, await answeringSpares(rt, members)),
  };
}

export interface RecoveryResult extends RecoveryPlan {
  /**
   * Kept members that did not follow the new state database in time: they
   * were removed as the lost ones were (and are listed in `lost` too).
   */
  dropped: string[];
  /** Where the old database files, certificates and keys are kept. */
  backup: string;
  /** Each database's new (short) Raft cluster ID. */
  clusterIds: Record<string, string>;
  /** Lost members whose chassis were deleted from SB. */
  chassisDeleted: string[];
  /** Where the replaced CA came from ("external": the operator may want to set it again). */
  previousCa: CaOrigin;
}

/** Stops the servers, reforms every database as a one-server cluster; undoes it all on failure. */
async function reformDatabases(
  rt: MemberRuntime,
  databases: readonly RaftDatabase[],
  backup: string,
): Promise<void> {
  await rt.supervisor.stop("ovn-northd");
  await Promise.all(databases.map((db) => rt.supervisor.stop(db.server)));
  const done: RaftDatabase[] = [];
  try {
    for (const db of databases) {
      await reformAsOneServer(
        db.file,
        db.raftTarget,
        join(backup, relative(rt.state.root, db.file)),
      );
      done.push(db);
    }
  } catch (e) {
    for (const db of done) {
      await rename(join(backup, relative(rt.state.root, db.file)), db.file);
    }
    await Promise.all([startStateDb(rt), startCentral(rt)]).catch(() => undefined);
    throw new MicroOvnError(
      "RECOVERY_FAILED",
      `could not make a new cluster of this member's databases (${(e as Error).message}); ` +
        "the old files are back in place and nothing else was changed",
    );
  }
}

/**
 * The state database keeps the member rows of `names` only (this member's
 * up to date), and no join token; returns the rows left.
 */
async function keepOnlyMembers(rt: MemberRuntime, names: readonly string[]): Promise<MemberRow[]> {
  const client = await connectStateDb(rt);
  try {
    const txn = client.transaction();
    txn.delete(
      "Member",
      names.map((name) => ["name", "!=", name] as const),
    );
    txn.delete("Join_Token", []);
    await txn.commit();
    await recordMember(rt);
    return await client.select("Member");
  } finally {
    client.close();
  }
}

/**
 * Waits until each of `kept` has written a heartbeat to the new state
 * database (a changed heartbeat: no clock is compared), which shows its
 * daemon found the new cluster and will take the CA change. Returns the
 * names of those that did not within the deadline.
 */
async function notFollowing(rt: MemberRuntime, kept: readonly string[]): Promise<string[]> {
  const client = await connectStateDb(rt);
  try {
    const heartbeats = async () =>
      new Map((await client.select("Member", [], ["name", "heartbeat"])).map((r) => [r.name, r]));
    const first = await heartbeats();
    const deadline = Date.now() + FOLLOW_TIMEOUT_MS;
    for (;;) {
      const now = await heartbeats();
      const waiting = kept.filter(
        (name) => now.get(name)?.heartbeat === (first.get(name)?.heartbeat ?? Number.NaN),
      );
      if (waiting.length === 0 || Date.now() > deadline) return waiting;
      await delay(FOLLOW_POLL_MS);
    }
  } finally {
    client.close();
  }
}

/** `cluster recover`: see the top of this file. */
export async function recover(
  rt: MemberRuntime,
  log: (message: string) => void,
): Promise<RecoveryResult> {
  const plan = await planRecovery(rt);
  log(
    `recovery: keeping ${plan.kept.join(", ") || "no other member"}, removing ` +
      `${plan.lost.join(", ") || "no other member"}`,
  );
  const databases = raftDatabases(rt);
  let unfinished = await unfinishedRecovery(rt);
  if (!unfinished) {
    const self = rt.requireConfig().name;
    unfinished = {
      kept: plan.kept,
      lost: plan.lost,
      chassis: rt.layout.members
        .filter((m) => m.name !== self && m.services.includes("chassis"))
        .map((m) => m.name),
      backup: rt.state.backupDir(),
      previousCa: await rt.pki.caOrigin(),
    };
    await reformDatabases(rt, databases, unfinished.backup);
    // From here on the old clusters are gone: a failure is finished, not undone.
    await saveUnfinished(rt, unfinished);
  }
  const { backup, previousCa } = unfinished;
  try {
    const done = await finishRecovery(rt, databases, unfinished, log);
    await rm(rt.state.unfinishedRecoveryPath, { force: true });
    return { ...plan, ...done, backup, previousCa };
  } catch (e) {
    throw new MicroOvnError(
      "RECOVERY_INCOMPLETE",
      `the databases are new one-member clusters already (the old files are in ${backup}), ` +
        `but recovery stopped after that: ${(e as Error).message}. Fix the cause, then run ` +
        "`microovn cluster recover` again: it finishes what is left",
    );
  }
}

/** Steps 3 to 6 (see the top of this file), once the databases are new clusters. */
async function finishRecovery(
  rt: MemberRuntime,
  databases: readonly RaftDatabase[],
  recovery: UnfinishedRecovery,
  log: (message: string) => void,
): Promise<Pick<RecoveryResult, "kept" | "lost" | "dropped" | "clusterIds" | "chassisDeleted">> {
  const self = rt.requireConfig().name;
  const staying = (names: readonly string[]) =>
    normalizeLayout(
      rt.layout.members.filter((m) => m.name === self || names.includes(m.name)),
      rt.layout.config,
    );
  await rt.saveLayout(staying(recovery.kept));
  await Promise.all([startStateDb(rt), startCentral(rt)]);
  const clusterIds: Record<string, string> = {};
  for (const db of databases) {
    const status = await waitForClusterMember(
      db.controlSocket,
      db.database,
      NEW_CLUSTER_TIMEOUT_MS,
    );
    clusterIds[db.database] = status.clusterId;
  }
  // The lost go at once; the kept members then point at this member only.
  await keepOnlyMembers(rt, [self, ...recovery.kept]);
  const dropped = await notFollowing(rt, recovery.kept);
  if (dropped.length > 0) {
    log(`recovery: ${dropped.join(", ")} did not follow the new cluster in time and go too`);
    recovery.kept = recovery.kept.filter((name) => !dropped.includes(name));
    recovery.lost = [...recovery.lost, ...dropped].sort();
    await saveUnfinished(rt, recovery);
    await rt.saveLayout(staying(recovery.kept));
  }
  // Read again: the CA change wants every member's heartbeat fresh.
  const rows = await keepOnlyMembers(rt, [self, ...recovery.kept]);

  // Kept once: finishing an unfinished recovery must not put its own CA there.
  await cp(rt.state.pkiDir, join(recovery.backup, relative(rt.state.root, rt.state.pkiDir)), {
    recursive: true,
    force: false,
  });
  const { createCa } = await import("../pki/x509.js");
  await rolloutCa(rt, rows, await createCa(), "generated", log);

  // Only now: until the old CA was dropped, a lost chassis could have come back.
  const chassisDeleted: string[] = [];
  for (const name of recovery.lost.filter((name) => recovery.chassis.includes(name))) {
    await deleteChassis(rt, name);
    chassisDeleted.push(name);
  }
  await markRecovered(rt, clusterIds[rt.central().databaseName("sb")] ?? "");
  if (rt.supervisor.get("ovn-controller")) await restartChassis(rt);
  return { kept: recovery.kept, lost: recovery.lost, dropped, clusterIds, chassisDeleted };
}

/**
 * Records the new SB cluster in the state database, where every member's
 * watcher sees it, and in this member's layout (so that its own refresh
 * does not start ovn-controller a second time).
 */
async function markRecovered(rt: MemberRuntime, sbClusterId: string): Promise<void> {
  const client = await connectStateDb(rt);
  try {
    const txn = client.transaction();
    txn.delete("Config", [["key", "==", RECOVERY_MARKER]]);
    txn.insert("Config", { key: RECOVERY_MARKER, value: sbClusterId });
    await txn.commit();
  } finally {
    client.close();
  }
  await rt.saveLayout(
    normalizeLayout(rt.layout.members, { ...rt.layout.config, [RECOVERY_MARKER]: sbClusterId }),
  );
}

/**
 * Why this member's calls to the others fail, when they fail because the
 * cluster no longer knows it: a former peer presents a certificate from
 * another CA (the cluster was recovered without this member, or its
 * certificates were replaced while it was away), or refuses this member's
 * certificate. Undefined when no member says so.
 */
export async function removalEvidence(rt: MemberRuntime): Promise<string | undefined> {
  const name = rt.config?.name;
  for (const m of rt.layout.members.filter((m) => m.name !== name)) {
    try {
      await callMember(
        joinHostPort(m.address),
        "GET",
        "/cluster/members",
        undefined,
        {
          pki: rt.pki,
        },
        3_000,
      );
      return undefined;
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (FOREIGN_CA_ERRORS.has(code)) {
        return `${m.name} (${m.address}) presents a certificate from another CA`;
      }
      if (code === "NOT_A_MEMBER" || code === "MEMBER_CERTIFICATE_REFUSED") {
        return `${m.name} (${m.address}) refuses this member's certificate`;
      }
    }
  }
  return undefined;
}

/** Node's TLS errors for a server certificate that does not chain to a CA we trust. */
const FOREIGN_CA_ERRORS = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_SIGNATURE_FAILURE",
]);
