/**
 * The `central` service of a member: the OVN Northbound and Southbound
 * databases, always Raft clusters (a single member to begin with, so that
 * later joins need no conversion), served over TLS, and ovn-northd between
 * them. This file knows the programs' flags and files; the supervisor runs
 * them.
 */
import { join } from "node:path";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";
import type { PkiStore } from "../pki/store.js";
import type { StateDir } from "../member/state-dir.js";
import { run } from "../process/run.js";
import type { ProcessSpec } from "../supervisor/supervisor.js";
import { pathExists } from "../util/fs.js";
import { DEFAULT_ELECTION_TIMER_MS } from "./election-timer.js";
import { createClusteredDb } from "./raft.js";
import { readableOvnSchemaFile, type CentralDatabase } from "./schemas.js";

export type { CentralDatabase };

export interface CentralPorts {
  nb: number;
  nbRaft: number;
  sb: number;
  sbRaft: number;
}

export const DEFAULT_CENTRAL_PORTS: CentralPorts = {
  nb: 6641,
  nbRaft: 6643,
  sb: 6642,
  sbRaft: 6644,
};

/** The port a central serves `db`'s clients on. */
export function clientPort(db: CentralDatabase, ports = DEFAULT_CENTRAL_PORTS): number {
  return db === "nb" ? ports.nb : ports.sb;
}

/** The port `db`'s Raft servers talk to each other on. */
export function raftPort(db: CentralDatabase, ports = DEFAULT_CENTRAL_PORTS): number {
  return db === "nb" ? ports.nbRaft : ports.sbRaft;
}

const DATABASES = {
  nb: {
    database: INSTALLED_SCHEMAS.northbound.database,
    base: "ovnnb_db",
    service: "ovnnb",
    globalTable: "NB_Global",
  },
  sb: {
    database: INSTALLED_SCHEMAS.southbound.database,
    base: "ovnsb_db",
    service: "ovnsb",
    globalTable: "SB_Global",
  },
} as const;

function bracketed(address: string): string {
  return address.includes(":") ? `[${address}]` : address;
}

/** Where to connect: "ssl:10.0.0.1:6641" (IPv6 in brackets). */
export function sslTarget(address: string, port: number): string {
  return `ssl:${bracketed(address)}:${port}`;
}

/** Where to listen: "pssl:6641:10.0.0.1" (port first, as OVS writes passive remotes). */
export function psslTarget(address: string, port: number): string {
  return `pssl:${port}:${bracketed(address)}`;
}

export class Central {
  constructor(
    readonly state: StateDir,
    readonly pki: PkiStore,
    /** This member's address, where the databases listen and Raft peers reach them. */
    readonly address: string,
    readonly ports: CentralPorts = DEFAULT_CENTRAL_PORTS,
  ) {}

  databaseName(db: CentralDatabase): string {
    return DATABASES[db].database;
  }

  dbFile(db: CentralDatabase): string {
    return join(this.state.centralDbDir, `${DATABASES[db].base}.db`);
  }

  unixSocket(db: CentralDatabase): string {
    return this.state.socket(`${DATABASES[db].base}.sock`);
  }

  controlSocket(db: CentralDatabase): string {
    return this.state.socket(`${DATABASES[db].base}.ctl`);
  }

  clientPort(db: CentralDatabase): number {
    return clientPort(db, this.ports);
  }

  raftPort(db: CentralDatabase): number {
    return raftPort(db, this.ports);
  }

  raftTarget(db: CentralDatabase): string {
    return sslTarget(this.address, this.raftPort(db));
  }

  /**
   * Creates the database, unless it exists: as a new one-member Raft
   * cluster, or, given the Raft addresses of the other centrals, as a server
   * that joins theirs when it starts.
   */
  async createDb(db: CentralDatabase, peers: readonly string[] = []): Promise<void> {
    if (await pathExists(this.dbFile(db))) return;
    // The schema of the OVN installed here (MICROOVN_OVN_SCHEMA_DIR), checked
    // before anything is made; a joining server takes the cluster's instead.
    const schema = peers.length === 0 ? await readableOvnSchemaFile(db) : "";
    const kind = { schema, database: DATABASES[db].database };
    await createClusteredDb(
      this.dbFile(db),
      kind,
      this.raftTarget(db),
      peers,
      DEFAULT_ELECTION_TIMER_MS,
    );
  }

  private tlsArgs(service: "ovnnb" | "ovnsb" | "ovn-northd", short = false): string[] {
    const files = this.pki.tlsFiles(service);
    return short
      ? ["-p", files.privateKey, "-c", files.certificate, "-C", files.caCert]
      : [
          `--private-key=${files.privateKey}`,
          `--certificate=${files.certificate}`,
          `--ca-cert=${files.caCert}`,
        ];
  }

  private env(): Record<string, string> {
    const run = this.state.runDir;
    return { OVS_RUNDIR: run, OVN_RUNDIR: run, OVS_DBDIR: this.state.centralDbDir };
  }

  /** ovsdb-server for one database: unix socket for local tools, TLS remotes from the DB. */
  dbServerSpec(db: CentralDatabase): ProcessSpec {
    const d = DATABASES[db];
    const pidFile = this.state.socket(`${d.base}.pid`);
    return {
      name: `ovsdb-server-${db}`,
      program: "ovsdb-server",
      args: [
        this.dbFile(db),
        `--pidfile=${pidFile}`,
        `--unixctl=${this.controlSocket(db)}`,
        `--remote=punix:${this.unixSocket(db)}`,
        // Each central listens on its own address; the connections table is
        // replicated to every central, so it only holds what operators add.
        `--remote=${psslTarget(this.address, this.clientPort(db))}`,
        `--remote=db:${d.database},${d.globalTable},connections`,
        ...this.tlsArgs(d.service),
      ],
      pidFile,
      logFile: this.state.log(`ovsdb-server-${db}`),
      env: this.env(),
    };
  }

  /** ovn-northd, given every central's NB and SB client remotes. */
  northdSpec(nbRemotes: readonly string[], sbRemotes: readonly string[]): ProcessSpec {
    const pidFile = this.state.socket("ovn-northd.pid");
    return {
      name: "ovn-northd",
      program: "ovn-northd",
      args: [
        `--ovnnb-db=${nbRemotes.join(",")}`,
        `--ovnsb-db=${sbRemotes.join(",")}`,
        ...this.tlsArgs("ovn-northd", true),
        `--pidfile=${pidFile}`,
        `--unixctl=${this.northdControlSocket}`,
      ],
      pidFile,
      logFile: this.state.log("ovn-northd"),
      env: this.env(),
    };
  }

  get northdControlSocket(): string {
    return this.state.socket("ovn-northd.ctl");
  }

  /** ovn-northd's `status`: "active", "standby" or "paused"; undefined when it does not answer. */
  async northdStatus(): Promise<string | undefined> {
    const result = await run("ovn-appctl", ["-T", "2", "-t", this.northdControlSocket, "status"], {
      allowFailure: true,
      timeoutMs: 3_000,
    });
    const m = /^Status: (\S+)/m.exec(result.stdout);
    return result.exitCode === 0 ? m?.[1] : undefined;
  }

  /** This member's client remote for a database. */
  clientRemote(db: CentralDatabase): string {
    return sslTarget(this.address, this.clientPort(db));
  }
}
