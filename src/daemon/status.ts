/**
 * What `microovn status` shows, gathered by the daemon: the member and its
 * services, NB and SB health (schema running vs installed, Raft state),
 * processes that crashed or wait to restart, and certificate problems.
 */
import { readFile } from "node:fs/promises";
import { certificateServices } from "../lifecycle/certificates.js";
import type { ServiceName } from "../member/config.js";
import type { CentralDatabase } from "../ovn/central.js";
import { readClusterStatus, type ClusterStatus } from "../ovn/raft.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import { INSTALLED_SCHEMAS, PROJECT_SCHEMAS } from "../ovsdb/schema/installed.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import type { ProcessStatus } from "../supervisor/supervisor.js";
import type { MemberRuntime } from "./runtime.js";
import { memberStatus, type MemberRow, type MemberStatus } from "../cluster/members.js";

export interface MemberSummary {
  name: string;
  address: string;
  services: ServiceName[];
  role?: string;
  /** From heartbeats, when the state database could be read. */
  status?: MemberStatus;
}

export interface DatabaseSummary {
  /** "OVN Northbound" or "OVN Southbound". */
  title: string;
  database: string;
  /** The schema version the running server has, when it answered. */
  runningSchema?: string;
  /** The schema version installed on this machine. */
  installedSchema?: string;
  raft?: ClusterStatus;
  /** Why the database could not be read. */
  error?: string;
}

export interface CertificateProblem {
  name: string;
  path: string;
  problem: string;
}

export interface ProcessSummary extends Omit<ProcessStatus, "lastExit" | "nextStartAt"> {
  lastExit?: { code: number | null; signal: string | null; at: string };
  nextStartAt?: string;
}

export interface StatusReport {
  bootstrapped: boolean;
  members: MemberSummary[];
  databases: DatabaseSummary[];
  processes: ProcessSummary[];
  certificates: CertificateProblem[];
}

const DATABASES: Record<CentralDatabase, { title: string; schema: string; database: string }> = {
  nb: {
    title: "OVN Northbound",
    schema: INSTALLED_SCHEMAS.northbound.file,
    database: INSTALLED_SCHEMAS.northbound.database,
  },
  sb: {
    title: "OVN Southbound",
    schema: INSTALLED_SCHEMAS.southbound.file,
    database: INSTALLED_SCHEMAS.southbound.database,
  },
};

async function installedSchemaVersion(file: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(file, "utf8")) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

async function databaseSummary(rt: MemberRuntime, db: CentralDatabase): Promise<DatabaseSummary> {
  const d = DATABASES[db];
  const summary: DatabaseSummary = {
    title: d.title,
    database: d.database,
  };
  const installed = await installedSchemaVersion(d.schema);
  if (installed) summary.installedSchema = installed;
  const central = rt.central();
  const local = rt.requireConfig().services.includes("central");
  let client: OvsdbClient | undefined;
  try {
    client = await OvsdbClient.connect(
      local
        ? {
            remotes: `unix:${central.unixSocket(db)}`,
            leaderOnly: false,
            waitForConnectionMs: 2_000,
          }
        : {
            remotes: db === "nb" ? rt.nbRemotes() : rt.sbRemotes(),
            leaderOnly: false,
            waitForConnectionMs: 2_000,
            tls: rt.pki.tlsFiles("client"),
          },
    );
    summary.runningSchema = (await client.getSchema(d.database)).version;
  } catch (e) {
    summary.error = (e as Error).message;
  } finally {
    client?.close();
  }
  if (local) {
    const raft = await readClusterStatus(central.controlSocket(db), d.database);
    if (raft) summary.raft = raft;
  }
  return summary;
}

/** The cluster state database, on voters (other members have no server of it). */
async function stateDbSummary(rt: MemberRuntime): Promise<DatabaseSummary | undefined> {
  if (!rt.isVoter()) return undefined;
  const summary: DatabaseSummary = { title: "MicroOVN cluster state", database: STATE_DATABASE };
  const installed = await installedSchemaVersion(PROJECT_SCHEMAS.microovn.file);
  if (installed) summary.installedSchema = installed;
  let client: OvsdbClient | undefined;
  try {
    client = await OvsdbClient.connect({
      remotes: `unix:${rt.stateDb().unixSocket}`,
      leaderOnly: false,
      waitForConnectionMs: 2_000,
    });
    summary.runningSchema = (await client.getSchema(STATE_DATABASE)).version;
  } catch (e) {
    summary.error = (e as Error).message;
  } finally {
    client?.close();
  }
  const raft = await readClusterStatus(rt.stateDb().controlSocket, STATE_DATABASE);
  if (raft) summary.raft = raft;
  return summary;
}

function processSummary(p: ProcessStatus): ProcessSummary {
  const { lastExit, nextStartAt, ...rest } = p;
  const out: ProcessSummary = { ...rest };
  if (lastExit) out.lastExit = { ...lastExit, at: lastExit.at.toISOString() };
  if (nextStartAt) out.nextStartAt = nextStartAt.toISOString();
  return out;
}

async function certificateProblems(rt: MemberRuntime): Promise<CertificateProblem[]> {
  const services = certificateServices(rt.requireConfig().services);
  const soon = Date.now() + 10 * 24 * 60 * 60 * 1000;
  const problems: CertificateProblem[] = [];
  for (const s of await rt.pki.status(services)) {
    const cert = s.cert;
    if (!cert.present) problems.push({ name: s.name, path: cert.path, problem: "missing" });
    else if (cert.problem) problems.push({ name: s.name, path: cert.path, problem: cert.problem });
    else if (cert.notAfter && cert.notAfter.getTime() < Date.now()) {
      problems.push({ name: s.name, path: cert.path, problem: "expired" });
    } else if (cert.notAfter && cert.notAfter.getTime() < soon) {
      problems.push({
        name: s.name,
        path: cert.path,
        problem: `expires ${cert.notAfter.toISOString()}`,
      });
    }
    if (s.key && !s.key.present) {
      problems.push({ name: s.name, path: s.key.path, problem: "private key missing" });
    }
  }
  return problems;
}

/** Every member: from the state database's rows when given, else from the last layout seen. */
function memberSummaries(
  rt: MemberRuntime,
  rows: readonly MemberRow[] | undefined,
): MemberSummary[] {
  const now = Date.now();
  const out: MemberSummary[] = rows
    ? rows.map((r) => ({
        name: r.name,
        address: r.address,
        services: [...r.services].sort(),
        role: r.role,
        status: memberStatus(r, now),
      }))
    : rt.layout.members.map((m) => ({ ...m, services: [...m.services] }));
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function gatherStatus(
  rt: MemberRuntime,
  rows?: readonly MemberRow[],
): Promise<StatusReport> {
  const config = rt.config;
  if (!config) {
    return { bootstrapped: false, members: [], databases: [], processes: [], certificates: [] };
  }
  const [nb, sb, state, certificates] = await Promise.all([
    databaseSummary(rt, "nb"),
    databaseSummary(rt, "sb"),
    stateDbSummary(rt),
    certificateProblems(rt),
  ]);
  return {
    bootstrapped: true,
    members: memberSummaries(rt, rows),
    databases: state ? [nb, sb, state] : [nb, sb],
    processes: rt.supervisor.status().map(processSummary),
    certificates,
  };
}
