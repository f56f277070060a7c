/**
 * What `microovn status` shows, gathered by the daemon: the member and its
 * services, NB and SB health (schema running vs installed, Raft state),
 * processes that crashed or wait to restart, certificate problems, and
 * chassis settings that cannot work (Geneve tunnels that have no way out).
 */
import { readFile } from "node:fs/promises";
import { certificateServices } from "../lifecycle/certificates.js";
import { removalEvidence } from "../lifecycle/recover.js";
import type { CentralDatabase } from "../ovn/central.js";
import { readClusterStatus, type ClusterStatus } from "../ovn/raft.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import type { TlsFiles } from "../ovsdb/client/connection.js";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import { stateSchemaFile } from "../cluster/state-schema.js";
import type { ProcessStatus } from "../supervisor/supervisor.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { describeMembers, type MemberRow, type MemberView } from "../cluster/members.js";
import { normalizeLayout, type LayoutMember } from "../cluster/layout.js";
import { INTEGRATION_BRIDGE, encapsulationIp } from "../member/config.js";
import { readLinks, tunnelProblem } from "../ovn/underlay.js";
import { ovnSchemaFile } from "../ovn/schemas.js";
import type { MemberExpectation } from "../upgrade/decision.js";
import { gatherExpectations } from "../upgrade/expectations.js";
import { VERSION } from "../version.js";

/** A member; fingerprint and status only when the state database could be read. */
export type MemberSummary = LayoutMember & Partial<Pick<MemberView, "fingerprint" | "status">>;

export interface DatabaseSummary {
  /** "OVN Northbound" or "OVN Southbound". */
  title: string;
  database: string;
  /** The schema version the running server has, when it answered. */
  runningSchema?: string;
  /** The schema version installed on this machine. */
  installedSchema?: string;
  /** NB and SB: the schema version every member expects (held-back upgrades). */
  expected?: MemberExpectation[];
  raft?: ClusterStatus;
  /**
   * Whether the server that answered is in touch with a majority of its
   * Raft cluster (`_Server.Database.connected`): when it is not, there is
   * no leader and writes fail.
   */
  quorum?: boolean;
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
  /** This member's name and the program's version (for machines reading `status --json`). */
  member?: string;
  version?: string;
  /** For a machine that is not a member: where a member it once was keeps its data. */
  formerMember?: string;
  members: MemberSummary[];
  databases: DatabaseSummary[];
  processes: ProcessSummary[];
  certificates: CertificateProblem[];
  /** Settings of this member that cannot work, each saying what to do. */
  problems: string[];
  /** What would be a problem once another chassis joins (tunnels from a lone chassis). */
  beforeOthersJoin?: string[];
  /** Addresses of the external OVN central (`ovn.central-ips`), when one is used. */
  externalCentral?: string[];
  /** Why this member seems to have been removed from its cluster (e.g. by a recovery). */
  removed?: string;
}

const DATABASES: Record<CentralDatabase, { title: string; database: string }> = {
  nb: { title: "OVN Northbound", database: INSTALLED_SCHEMAS.northbound.database },
  sb: { title: "OVN Southbound", database: INSTALLED_SCHEMAS.southbound.database },
};

async function installedSchemaVersion(file: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(file, "utf8")) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

interface SummarySource {
  title: string;
  database: string;
  schemaFile: string;
  /** Where to ask for the running schema. */
  remotes: string | string[];
  /** TLS files, for ssl remotes. */
  tls?: TlsFiles;
  /** The local server's control socket, for its Raft state. */
  controlSocket?: string;
}

/** Schema versions (running and installed) and, for a local server, its Raft state. */
async function databaseSummary(source: SummarySource): Promise<DatabaseSummary> {
  const summary: DatabaseSummary = { title: source.title, database: source.database };
  const installed = await installedSchemaVersion(source.schemaFile);
  if (installed) summary.installedSchema = installed;
  let client: OvsdbClient | undefined;
  try {
    client = await OvsdbClient.connect({
      remotes: source.remotes,
      leaderOnly: false,
      waitForConnectionMs: 2_000,
      ...(source.tls ? { tls: source.tls } : {}),
    });
    summary.runningSchema = (await client.getSchema(source.database)).version;
    const [server] = await client.transact("_Server", [
      {
        op: "select",
        table: "Database",
        where: [["name", "==", source.database]],
        columns: ["model", "connected"],
      },
    ]);
    const row = (server as { rows?: { model?: string; connected?: boolean }[] }).rows?.[0];
    if (row?.model === "clustered") summary.quorum = row.connected === true;
  } catch (e) {
    summary.error = (e as Error).message;
  } finally {
    client?.close();
  }
  if (source.controlSocket) {
    const raft = await readClusterStatus(source.controlSocket, source.database);
    if (raft) summary.raft = raft;
    // A server may still call itself connected for a moment after it lost the majority.
    if (raft && (raft.role === "candidate" || raft.leader === "unknown")) summary.quorum = false;
  }
  return summary;
}

/** NB or SB: this member's own server if it is a central, else the centrals' over TLS. */
function centralSummary(rt: MemberRuntime, db: CentralDatabase): Promise<DatabaseSummary> {
  const d = DATABASES[db];
  const base = { title: d.title, database: d.database, schemaFile: ovnSchemaFile(db) };
  if (!rt.requireConfig().services.includes("central")) {
    const remotes = db === "nb" ? rt.nbRemotes() : rt.sbRemotes();
    if (remotes.length === 0) {
      return Promise.resolve({
        title: d.title,
        database: d.database,
        error:
          "no member runs central and no external central is set: run `microovn enable central` " +
          "on a member, or `microovn config set ovn.central-ips IP[,IP…]`",
      });
    }
    return databaseSummary({ ...base, remotes, tls: rt.pki.tlsFiles("client") });
  }
  const central = rt.central();
  return databaseSummary({
    ...base,
    remotes: `unix:${central.unixSocket(db)}`,
    controlSocket: central.controlSocket(db),
  });
}

/** The cluster state database, on voters (other members have no server of it). */
async function stateDbSummary(rt: MemberRuntime): Promise<DatabaseSummary | undefined> {
  if (!rt.isVoter()) return undefined;
  const stateDb = rt.stateDb();
  return databaseSummary({
    title: "MicroOVN cluster state",
    database: STATE_DATABASE,
    schemaFile: stateSchemaFile(),
    remotes: `unix:${stateDb.unixSocket}`,
    controlSocket: stateDb.controlSocket,
  });
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

/**
 * Whether this chassis's Geneve tunnels have a way out: its encapsulation
 * IP must be an address of this machine and, on the userspace datapath,
 * sit on an OVS bridge (see src/ovn/underlay.ts).
 */
async function tunnelProblems(rt: MemberRuntime): Promise<{ problems: string[]; alone: boolean }> {
  const config = rt.requireConfig();
  const alone = !rt.layout.members.some(
    (m) => m.name !== config.name && m.services.includes("chassis"),
  );
  if (!config.services.includes("chassis")) return { problems: [], alone };
  const datapath = await rt.datapathType();
  let bridgeInterfaces = new Set<string>();
  if (datapath === "netdev") {
    try {
      const owners = await rt.vswitch.withClient((c) => rt.vswitch.internalInterfaces(c));
      bridgeInterfaces = new Set(
        [...owners.keys()].filter((i) => owners.get(i) !== INTEGRATION_BRIDGE),
      );
    } catch {
      return { problems: [], alone }; // conf.db does not answer: the process list says why
    }
  }
  let links: Awaited<ReturnType<typeof readLinks>>;
  try {
    links = await readLinks();
  } catch (e) {
    return { problems: [`cannot check the tunnels: ${(e as Error).message}`], alone: false };
  }
  const problem = tunnelProblem({
    encapIp: encapsulationIp(config.chassis, config.address),
    datapath,
    links,
    bridgeInterfaces,
  });
  return { problems: problem ? [problem] : [], alone };
}

/** Every member: from the state database's rows when given, else from the last layout seen. */
function memberSummaries(
  rt: MemberRuntime,
  rows: readonly MemberRow[] | undefined,
  activeStateSchema: string | undefined,
): MemberSummary[] {
  return rows
    ? describeMembers(rows, Date.now(), activeStateSchema)
    : normalizeLayout(rt.layout.members).members;
}

/** Whether a database summary shows a server that takes writes. */
export function isWritable(db: DatabaseSummary): boolean {
  return db.error === undefined && db.runningSchema !== undefined && db.quorum !== false;
}

/**
 * What keeps this member's databases (NB, SB and, on voters, the cluster
 * state) from taking writes; empty when they all can. `waitready` waits for
 * this to be empty.
 */
export async function unwritableDatabases(rt: MemberRuntime): Promise<string[]> {
  if (!rt.config) return [];
  const summaries = await Promise.all([
    centralSummary(rt, "nb"),
    centralSummary(rt, "sb"),
    stateDbSummary(rt),
  ]);
  return summaries
    .filter((db): db is DatabaseSummary => db !== undefined && !isWritable(db))
    .map(
      (db) =>
        `${db.title}: ${db.error ?? "no leader (a majority of its servers is not reachable)"}`,
    );
}

export async function gatherStatus(
  rt: MemberRuntime,
  rows?: readonly MemberRow[],
  /** The state database's schema version, for members' upgrade statuses. */
  activeStateSchema?: string,
): Promise<StatusReport> {
  const config = rt.config;
  if (!config) {
    const former = await rt.state.latestMemberBackup();
    const none = { members: [], databases: [], processes: [], certificates: [], problems: [] };
    return { bootstrapped: false, ...(former ? { formerMember: former } : {}), ...none };
  }
  const members = memberSummaries(rt, rows, activeStateSchema);
  const [nb, sb, state, certificates, tunnels, expectations] = await Promise.all([
    centralSummary(rt, "nb"),
    centralSummary(rt, "sb"),
    stateDbSummary(rt),
    certificateProblems(rt),
    tunnelProblems(rt),
    // An external central is upgraded by whoever runs it: nothing to hold back here.
    rt.externalCentral() ? undefined : gatherExpectations(rt, members),
  ]);
  if (expectations) {
    nb.expected = expectations.nb;
    sb.expected = expectations.sb;
  }
  const external = rt.externalCentral();
  // Only asked when the state database is out of reach: the others are asked then.
  const cutOff = state ? state.raft?.leader === "unknown" : rows === undefined;
  const removed = cutOff ? await removalEvidence(rt) : undefined;
  return {
    bootstrapped: true,
    member: config.name,
    version: VERSION,
    members,
    databases: state ? [nb, sb, state] : [nb, sb],
    processes: rt.supervisor.status().map(processSummary),
    certificates,
    // A lone chassis needs no tunnels yet: not a problem until another one joins.
    ...(tunnels.alone
      ? {
          problems: [],
          ...(tunnels.problems.length > 0 ? { beforeOthersJoin: tunnels.problems } : {}),
        }
      : { problems: tunnels.problems }),
    ...(external ? { externalCentral: external } : {}),
    ...(removed ? { removed } : {}),
  };
}
