/**
 * Real ovsdb-server processes for integration tests: a standalone server, or
 * a raft cluster of several servers, all on loopback and inside a temporary
 * directory.
 *
 * Every server runs in the foreground (no --detach) as our child, started via
 * spawnDetached so its output goes to a log file in its directory and it
 * holds no pipe to this process. OVS_RUNDIR, OVS_DBDIR and OVS_LOGDIR point
 * into that directory so nothing touches /var/run or /etc.
 *
 * Servers still running when this process exits (normally, or on SIGINT,
 * SIGTERM or SIGHUP) are killed by pid, so a failed test leaves none behind.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { INSTALLED_SCHEMAS } from "../../src/ovsdb/schema/installed.js";
import { parseClusterStatus, type ClusterStatus } from "../../src/ovn/raft.js";
import { run, spawnDetached } from "../../src/process/run.js";
import type { TestPki } from "./pki.js";
import { isAlive, signalPid, trackPid, untrackPid } from "./processes.js";
import { freePort } from "./tmp.js";
import { waitFor } from "./wait.js";

export const SCHEMAS = {
  northbound: INSTALLED_SCHEMAS.northbound.file,
  southbound: INSTALLED_SCHEMAS.southbound.file,
  vswitch: INSTALLED_SCHEMAS.vswitch.file,
} as const;

export interface OvsdbServerHandle {
  /** Directory holding this server's database, sockets, pid file and log. */
  readonly dir: string;
  /** Database name, from the schema's "name" (e.g. "OVN_Northbound"). */
  readonly database: string;
  /** Absolute path of the database file. */
  readonly dbFile: string;
  /** "unix:/abs/path/db.sock" */
  readonly unixRemote: string;
  /** "tcp:127.0.0.1:PORT" when asked for (always set for raft members without PKI). */
  readonly tcpRemote?: string;
  /** "ssl:127.0.0.1:PORT" when a PKI was given. */
  readonly sslRemote?: string;
  /** Absolute path of the unixctl socket, for `ovs-appctl -t`. */
  readonly ctlPath: string;
  /** The server's stdout and stderr (appended across restarts). */
  readonly logFile: string;
  /** Raft members only: this member's raft address ("tcp:…" or "ssl:…"). */
  readonly raftAddress?: string;
  /** Pid of the current (or last) process; changes on restart. */
  pid: number;
  /** SIGTERM, wait until the process is gone (SIGKILL after 5 s). No-op if already dead. */
  stop(): Promise<void>;
  /** SIGKILL and wait until the process is gone. No-op if already dead. */
  kill(): Promise<void>;
  /**
   * (Re)starts the server with the same files, sockets and ports. Resolves
   * once the unix socket accepts connections; rejects (with the log's tail)
   * if the server exits or cannot listen on its ports.
   */
  start(): Promise<void>;
}

export interface StandaloneOptions {
  /** An existing, preferably short, directory (see makeTempDir). */
  dir: string;
  schemaFile: string;
  /** Also listen on tcp:127.0.0.1:PORT. */
  tcp?: boolean;
  /** Also listen on ssl:127.0.0.1:PORT with these certificates. */
  pki?: TestPki;
}

export interface RaftClusterHandle {
  readonly members: OvsdbServerHandle[];
  readonly database: string;
  /** Comma-separated client remotes of all members (tcp:, or ssl: with a PKI). */
  readonly clientRemotes: string;
  /**
   * Index in `members` of the member that reports itself leader (highest term
   * wins), or -1 when no running member does. Note that 0 is a valid index,
   * so wrap it before returning it from a waitFor probe.
   */
  leaderIndex(): Promise<number>;
  /** Stops every member. */
  stop(): Promise<void>;
}

export interface RaftClusterOptions {
  /** An existing, preferably short, directory; member i lives in <dir>/m<i>. */
  dir: string;
  schemaFile: string;
  /** Number of members. Default 3. */
  size?: number;
  /** Raft and client connections use SSL with these certificates. */
  pki?: TestPki;
  /** Raft election timer (ovsdb-tool create-cluster --election-timer). OVS default 1000 ms. */
  electionTimerMs?: number;
}

/* ------------------------------------------------------------------------ */
/* Small utilities                                                           */
/* ------------------------------------------------------------------------ */

/** Node cannot connect to unix socket paths longer than this (sun_path is 108 bytes). */
const MAX_SOCKET_PATH = 100;

function ovsEnv(dir: string): Record<string, string> {
  return { OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir };
}

async function schemaName(schemaFile: string): Promise<string> {
  const schema = JSON.parse(await readFile(schemaFile, "utf8")) as { name?: unknown };
  if (typeof schema.name !== "string") throw new Error(`${schemaFile} has no "name"`);
  return schema.name;
}

/** Resolves when a connection to the unix socket at `path` succeeds. */
function connectUnix(path: string): Promise<void> {
  return new Promise((resolveConnect, reject) => {
    const socket = connect({ path });
    socket.once("connect", () => {
      socket.destroy();
      resolveConnect();
    });
    socket.once("error", (e) => {
      socket.destroy();
      reject(e);
    });
  });
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** What the log holds from byte `from` on. */
async function readLogFrom(path: string, from = 0): Promise<string> {
  try {
    return (await readFile(path)).subarray(from).toString("utf8");
  } catch {
    return "";
  }
}

/** The last `lines` lines of the log, counting only what was written after byte `from`. */
async function logTail(path: string, lines = 15, from = 0): Promise<string> {
  const text = (await readLogFrom(path, from)).trimEnd();
  if (!text) return "(log is empty)";
  return text.split("\n").slice(-lines).join("\n");
}

/* ------------------------------------------------------------------------ */
/* One server process                                                        */
/* ------------------------------------------------------------------------ */

interface ServerConfig {
  dir: string;
  database: string;
  dbFile: string;
  tcpPort?: number;
  sslPort?: number;
  pki?: TestPki;
  raftAddress?: string;
}

/** One run of the server process. */
interface ServerRun {
  pid: number;
  /** Set once the process has exited (and has been reaped). */
  exit?: { exitCode: number | null; signal: NodeJS.Signals | null };
}

class OvsdbServer implements OvsdbServerHandle {
  readonly dir: string;
  readonly database: string;
  readonly dbFile: string;
  readonly unixRemote: string;
  readonly tcpRemote?: string;
  readonly sslRemote?: string;
  readonly ctlPath: string;
  readonly logFile: string;
  readonly raftAddress?: string;
  pid = 0;

  /** The process started last; undefined before the first start(). */
  private current?: ServerRun;
  private readonly socketPath: string;
  private readonly pidFile: string;
  private readonly pki?: TestPki;
  private readonly tcpPort?: number;
  private readonly sslPort?: number;

  constructor(config: ServerConfig) {
    this.dir = config.dir;
    this.database = config.database;
    this.dbFile = config.dbFile;
    this.socketPath = join(config.dir, "db.sock");
    this.unixRemote = `unix:${this.socketPath}`;
    this.ctlPath = join(config.dir, "ovsdb-server.ctl");
    this.pidFile = join(config.dir, "ovsdb-server.pid");
    this.logFile = join(config.dir, "ovsdb-server.log");
    this.pki = config.pki;
    this.tcpPort = config.tcpPort;
    this.sslPort = config.sslPort;
    if (config.tcpPort !== undefined) this.tcpRemote = `tcp:127.0.0.1:${config.tcpPort}`;
    if (config.sslPort !== undefined) this.sslRemote = `ssl:127.0.0.1:${config.sslPort}`;
    if (config.raftAddress !== undefined) this.raftAddress = config.raftAddress;
    if (this.ctlPath.length > MAX_SOCKET_PATH) {
      throw new Error(
        `socket path ${this.ctlPath} is too long for a unix socket; use makeTempDir() for a short directory`,
      );
    }
  }

  private args(): string[] {
    const args = [
      `--pidfile=${this.pidFile}`,
      `--unixctl=${this.ctlPath}`,
      `--remote=punix:${this.socketPath}`,
    ];
    if (this.tcpPort !== undefined) args.push(`--remote=ptcp:${this.tcpPort}:127.0.0.1`);
    if (this.pki) {
      // Needed for the pssl remote and for SSL raft connections alike.
      args.push(
        `--private-key=${this.pki.server.key}`,
        `--certificate=${this.pki.server.cert}`,
        `--ca-cert=${this.pki.caCert}`,
      );
    }
    if (this.sslPort !== undefined) args.push(`--remote=pssl:${this.sslPort}:127.0.0.1`);
    args.push(this.dbFile);
    return args;
  }

  /** Whether the process we started last is still running. */
  private isRunning(): boolean {
    const current = this.current;
    return current !== undefined && current.exit === undefined && isAlive(current.pid);
  }

  async start(): Promise<void> {
    if (this.isRunning()) {
      throw new Error(`ovsdb-server for ${this.dir} is already running as pid ${this.pid}`);
    }
    const logStart = await fileSize(this.logFile);
    const child = await spawnDetached("ovsdb-server", this.args(), {
      logFile: this.logFile,
      env: ovsEnv(this.dir),
      cwd: this.dir,
    });
    const current: ServerRun = { pid: child.pid };
    this.current = current;
    this.pid = current.pid;
    trackPid(current.pid);
    void child.exited.then((result) => {
      current.exit = result;
      untrackPid(current.pid);
    });

    const fail = async (why: string): Promise<never> => {
      await this.kill();
      throw new Error(
        `ovsdb-server (${this.database} in ${this.dir}) ${why}\n--- ${this.logFile} (this run) ---\n` +
          (await logTail(this.logFile, 15, logStart)),
      );
    };

    try {
      // The probe also ends the wait as soon as the process has exited.
      await waitFor(
        `ovsdb-server to accept connections on ${this.socketPath}`,
        async () => {
          if (current.exit) return true;
          await connectUnix(this.socketPath);
          return true;
        },
        { intervalMs: 5 },
      );
    } catch (e) {
      return fail(`did not start: ${(e as Error).message}`);
    }
    if (current.exit) {
      const how = current.exit.signal ?? `exit status ${current.exit.exitCode}`;
      return fail(`exited during startup (${how})`);
    }

    // All remotes are opened together before the server accepts on any of
    // them, so a failed TCP/SSL listen is already in the log by now. The
    // server would keep retrying, but a test is better off failing clearly.
    const newLog = await readLogFrom(this.logFile, logStart);
    const listenError = newLog.split("\n").find((line) => line.includes("listen failed"));
    if (listenError) return fail(`cannot listen: ${listenError}`);
  }

  async stop(): Promise<void> {
    await this.terminate("SIGTERM");
  }

  async kill(): Promise<void> {
    await this.terminate("SIGKILL");
  }

  /**
   * Sends `signal` to the current process unless it is already known to be
   * gone (a pid whose exit we have seen is never signalled: it may belong to
   * someone else by now), then waits until it is gone. SIGTERM escalates to
   * SIGKILL after 5 s.
   */
  private async terminate(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const current = this.current;
    if (!current) return;
    const { pid } = current;
    const gone = (): boolean => current.exit !== undefined || !isAlive(pid);
    const waitGone = async (timeoutMs: number): Promise<boolean> => {
      try {
        await waitFor(`pid ${pid} to exit`, gone, { timeoutMs, intervalMs: 5 });
        return true;
      } catch {
        return false;
      }
    };

    if (!gone()) {
      signalPid(pid, signal);
      let exited = await waitGone(signal === "SIGTERM" ? 5_000 : 10_000);
      if (!exited && signal === "SIGTERM") {
        signalPid(pid, "SIGKILL");
        exited = await waitGone(10_000);
      }
      if (!exited) throw new Error(`ovsdb-server pid ${pid} is still there 10 s after SIGKILL`);
    }
    untrackPid(pid);
  }
}

/* ------------------------------------------------------------------------ */
/* Standalone                                                                */
/* ------------------------------------------------------------------------ */

/**
 * Creates a standalone database from `schemaFile` in `dir` and starts an
 * ovsdb-server for it, listening on a unix socket, plus TCP and/or SSL on
 * 127.0.0.1 when asked. Takes about 20 ms.
 */
export async function startStandalone(opts: StandaloneOptions): Promise<OvsdbServerHandle> {
  const dir = resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const database = await schemaName(opts.schemaFile);
  const dbFile = join(dir, "db.db");
  await run("ovsdb-tool", ["create", dbFile, opts.schemaFile], { env: ovsEnv(dir) });

  const server = new OvsdbServer({
    dir,
    database,
    dbFile,
    tcpPort: opts.tcp ? await freePort() : undefined,
    sslPort: opts.pki ? await freePort() : undefined,
    pki: opts.pki,
  });
  await server.start();
  return server;
}

/* ------------------------------------------------------------------------ */
/* Raft cluster                                                              */
/* ------------------------------------------------------------------------ */

export { parseClusterStatus, type ClusterStatus };

/** cluster/status of one member, or undefined if it does not answer. */
async function clusterStatus(member: OvsdbServerHandle): Promise<ClusterStatus | undefined> {
  const result = await run(
    "ovs-appctl",
    ["-T", "2", "-t", member.ctlPath, "cluster/status", member.database],
    { allowFailure: true, timeoutMs: 3_000 },
  );
  return result.exitCode === 0 ? parseClusterStatus(result.stdout) : undefined;
}

/** Index of the leader with the highest term among those that answer, or -1. */
async function findLeader(members: readonly OvsdbServerHandle[]): Promise<number> {
  const statuses = await Promise.all(members.map(clusterStatus));
  let best = -1;
  let bestTerm = -Infinity;
  statuses.forEach((s, i) => {
    if (s?.role === "leader" && s.term > bestTerm) {
      best = i;
      bestTerm = s.term;
    }
  });
  return best;
}

/**
 * Throws unless every member is a full cluster member and all of them agree
 * on one leader.
 */
async function checkClusterFormed(members: readonly OvsdbServerHandle[]): Promise<true> {
  const statuses = await Promise.all(members.map(clusterStatus));
  const problems: string[] = [];
  const leaders = statuses.filter((s) => s?.role === "leader");
  const leader = leaders.length === 1 ? leaders[0] : undefined;
  if (!leader) problems.push(`${leaders.length} members report being leader`);
  statuses.forEach((s, i) => {
    if (!s) problems.push(`m${i} does not answer cluster/status`);
    else if (s.status !== "cluster member") problems.push(`m${i} status is "${s.status}"`);
    else if (leader && s !== leader && s.leader !== leader.serverId) {
      problems.push(`m${i} sees leader "${s.leader}" instead of ${leader.serverId}`);
    }
  });
  if (problems.length > 0) throw new Error(problems.join("; "));
  return true;
}

/**
 * Creates a raft cluster of `size` members (default 3) for `schemaFile` and
 * starts it. Member i lives in <dir>/m<i> with its own database file, unix
 * socket, control socket, log, raft port and client port, all on 127.0.0.1.
 * Resolves when every member is part of the cluster and all agree on the
 * leader (which is member 0 at that point). Takes about 0.1 s.
 */
export async function startRaftCluster(opts: RaftClusterOptions): Promise<RaftClusterHandle> {
  const size = opts.size ?? 3;
  if (!Number.isInteger(size) || size < 1) throw new Error(`bad cluster size ${size}`);
  const root = resolve(opts.dir);
  const database = await schemaName(opts.schemaFile);
  const scheme = opts.pki ? "ssl" : "tcp";

  const members: OvsdbServer[] = [];
  for (let i = 0; i < size; i++) {
    const dir = join(root, `m${i}`);
    const raftPort = await freePort();
    const clientPort = await freePort();
    members.push(
      new OvsdbServer({
        dir,
        database,
        dbFile: join(dir, "db.db"),
        tcpPort: opts.pki ? undefined : clientPort,
        sslPort: opts.pki ? clientPort : undefined,
        pki: opts.pki,
        raftAddress: `${scheme}:127.0.0.1:${raftPort}`,
      }),
    );
  }
  const first = members[0]!;
  const firstAddress = first.raftAddress!;

  // Database files: member 0 creates the cluster, the others will join it
  // through member 0 once they run. ovsdb-tool needs no running server.
  await Promise.all(
    members.map(async (m, i) => {
      await mkdir(m.dir, { recursive: true });
      const args =
        i === 0
          ? [
              ...(opts.electionTimerMs ? [`--election-timer=${opts.electionTimerMs}`] : []),
              "create-cluster",
              m.dbFile,
              opts.schemaFile,
              firstAddress,
            ]
          : ["join-cluster", m.dbFile, database, m.raftAddress!, firstAddress];
      await run("ovsdb-tool", args, { env: ovsEnv(m.dir) });
    }),
  );

  const cluster: RaftClusterHandle = {
    members,
    database,
    clientRemotes: members.map((m) => m.sslRemote ?? m.tcpRemote).join(","),
    leaderIndex: () => findLeader(members),
    stop: async () => {
      await Promise.all(members.map((m) => m.stop()));
    },
  };

  try {
    // A lone member elects itself at once. Start the others only when it
    // leads, so their first join request finds a leader (a failed attempt
    // costs a one-second reconnect back-off).
    await first.start();
    await waitFor(
      "member 0 to become leader of the new cluster",
      async () => (await clusterStatus(first))?.role === "leader",
      { intervalMs: 10 },
    );
    await Promise.all(members.slice(1).map((m) => m.start()));
    await waitFor(
      `all ${size} members to join the ${database} cluster`,
      () => checkClusterFormed(members),
      { intervalMs: 10 },
    );
  } catch (e) {
    await cluster.stop().catch(() => undefined);
    const logs = await Promise.all(
      members.map(async (m) => `--- ${m.logFile} ---\n${await logTail(m.logFile, 10)}`),
    );
    throw new Error(`${(e as Error).message}\n${logs.join("\n")}`, { cause: e });
  }
  return cluster;
}
