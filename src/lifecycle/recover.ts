/**
 * Recovering from the loss of the majority (`cluster recover`), on a member
 * that holds copies of NB, SB and the cluster state database when the other
 * servers of those Raft clusters are gone for good and no write can pass.
 *
 * Only a cluster without a leader may be recovered: while a majority of the
 * servers answers, nothing is lost, and dead members are removed with
 * `cluster remove --force`. Then, on this member:
 *
 *  1. ovn-northd and the three ovsdb-servers stop;
 *  2. each database becomes a new one-member Raft cluster with every row of
 *     this member's copy (`ovsdb-tool cluster-to-standalone`, then
 *     `create-cluster` from it); the old files go to DIR/backup_<time>/;
 *  3. a new CA replaces the old one (kept in the backup) and this member's
 *     certificates are issued from it;
 *  4. the servers and northd start again, on the new clusters;
 *  5. the state database keeps only this member's row (with its new API
 *     fingerprint) and no join token; SB loses the lost members' chassis;
 *  6. ovn-controller starts afresh (it would take the new SB cluster for a
 *     stale server of the old one).
 *
 * Once step 2 is done there is no going back: DIR/data/recovery.json then
 * records the recovery until it is finished, and running it again after a
 * failure in steps 3 to 6 finishes it (each of those steps can be repeated).
 *
 * The lost members are fenced out three ways: their Raft servers belong to
 * the old cluster ID, which the new servers refuse; their certificates come
 * from the old CA, which no server of the new cluster trusts (ovsdb-server
 * has no revocation list, so a new CA is the only way to refuse them on the
 * OVSDB and Raft ports); and they have no member row, so the member API
 * refuses them too. New members join with tokens as usual.
 */
import { cp, readFile, rename, rm } from "node:fs/promises";
import { join, relative } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { normalizeLayout } from "../cluster/layout.js";
import { callMember, joinHostPort } from "../cluster/member-client.js";
import { connectStateDb, recordMember } from "../cluster/members.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import type { MemberRuntime } from "../daemon/runtime.js";
import { MicroOvnError } from "../errors.js";
import {
  readClusterStatus,
  reformAsOneServer,
  waitForClusterMember,
  type ClusterStatus,
} from "../ovn/raft.js";
import type { CaOrigin } from "../pki/store.js";
import { writeAtomically } from "../util/fs.js";
import { certificateServices, issueCertificates } from "./certificates.js";
import { restartChassis } from "./refresh.js";
import { deleteChassis } from "./remove.js";
import { startCentral, startStateDb } from "./start.js";

/** How often, and how far apart, each server's Raft state is read before deciding. */
const SAMPLES = 3;
const SAMPLE_INTERVAL_MS = 1_000;
const NEW_CLUSTER_TIMEOUT_MS = 30_000;

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
  /** The member that stays (this one). */
  member: string;
  /** Every other member: all of them leave the cluster for good. */
  lost: string[];
  /**
   * The backup dir of a recovery that made the new database clusters but
   * stopped before the end: this one finishes it.
   */
  unfinished?: string;
}

interface UnfinishedRecovery {
  lost: string[];
  backup: string;
  previousCa: CaOrigin;
}

/** What an unfinished recovery left in DIR/data/recovery.json. */
async function unfinishedRecovery(rt: MemberRuntime): Promise<UnfinishedRecovery | undefined> {
  try {
    return JSON.parse(
      await readFile(rt.state.unfinishedRecoveryPath, "utf8"),
    ) as UnfinishedRecovery;
  } catch {
    return undefined;
  }
}

/**
 * Whether this member may recover the cluster, and what recovery would
 * remove; throws with the reason when it may not. Changes nothing.
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
    return { member: config.name, lost: unfinished.lost, unfinished: unfinished.backup };
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
  return {
    member: config.name,
    lost: rt.layout.members.filter((m) => m.name !== config.name).map((m) => m.name),
  };
}

export interface RecoveryResult extends RecoveryPlan {
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

/** A new CA, kept only here, and this member's certificates from it. */
async function replaceCa(rt: MemberRuntime, backup: string): Promise<void> {
  // Kept once: finishing an unfinished recovery must not put its own CA there.
  await cp(rt.state.pkiDir, join(backup, relative(rt.state.root, rt.state.pkiDir)), {
    recursive: true,
    force: false,
  });
  const { createCa } = await import("../pki/x509.js");
  const ca = await createCa();
  await rt.pki.writeCa(ca);
  await rt.pki.commitCa(ca.certPem, "generated");
  await issueCertificates(rt, certificateServices(rt.requireConfig().services));
  await rt.tlsChanged();
}

/** The state database keeps this member's row only, and no join token. */
async function keepOnlyThisMember(rt: MemberRuntime, name: string): Promise<void> {
  const client = await connectStateDb(rt);
  try {
    const txn = client.transaction();
    txn.delete("Member", [["name", "!=", name]]);
    txn.delete("Join_Token", []);
    await txn.commit();
  } finally {
    client.close();
  }
  await recordMember(rt);
}

/** `cluster recover`: see the top of this file. */
export async function recover(rt: MemberRuntime): Promise<RecoveryResult> {
  const plan = await planRecovery(rt);
  const databases = raftDatabases(rt);
  let unfinished = await unfinishedRecovery(rt);
  if (!unfinished) {
    unfinished = {
      lost: plan.lost,
      backup: rt.state.backupDir(),
      previousCa: await rt.pki.caOrigin(),
    };
    await reformDatabases(rt, databases, unfinished.backup);
    // From here on the old clusters are gone: a failure is finished, not undone.
    await writeAtomically(
      rt.state.unfinishedRecoveryPath,
      `${JSON.stringify(unfinished)}\n`,
      0o600,
    );
  }
  const { backup, previousCa } = unfinished;
  try {
    const done = await finishRecovery(rt, databases, backup);
    await rm(rt.state.unfinishedRecoveryPath, { force: true });
    return { ...plan, backup, previousCa, ...done };
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
  backup: string,
): Promise<Pick<RecoveryResult, "clusterIds" | "chassisDeleted">> {
  const config = rt.requireConfig();
  const lost = rt.layout.members.filter((m) => m.name !== config.name);
  await replaceCa(rt, backup);
  await rt.saveLayout(
    normalizeLayout(
      rt.layout.members.filter((m) => m.name === config.name),
      rt.layout.config,
    ),
  );
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
  await keepOnlyThisMember(rt, config.name);
  const chassisDeleted: string[] = [];
  for (const m of lost.filter((m) => m.services.includes("chassis"))) {
    await deleteChassis(rt, m.name);
    chassisDeleted.push(m.name);
  }
  if (rt.supervisor.get("ovn-controller")) await restartChassis(rt);
  return { clusterIds, chassisDeleted };
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
