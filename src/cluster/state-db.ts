/**
 * The cluster state database (`MicroOVN`, schemas/microovn.ovsschema): a
 * third Raft-clustered ovsdb-server on the voter members, client port 6649
 * and Raft port 6650, TLS only, with this member's API certificate. Other
 * members reach it as TLS clients. This file knows its files and flags; the
 * supervisor runs it.
 */
import { join } from "node:path";
import type { StateDir } from "../member/state-dir.js";
import { psslTarget, sslTarget } from "../ovn/central.js";
import { DEFAULT_ELECTION_TIMER_MS } from "../ovn/election-timer.js";
import { createClusteredDb } from "../ovn/raft.js";
import { PROJECT_SCHEMAS } from "../ovsdb/schema/installed.js";
import type { PkiStore } from "../pki/store.js";
import type { ProcessSpec } from "../supervisor/supervisor.js";
import { stateSchemaFile } from "./state-schema.js";

export const STATE_DB_PORTS = { client: 6649, raft: 6650 } as const;

export const STATE_DATABASE = PROJECT_SCHEMAS.microovn.database;

export class StateDb {
  constructor(
    readonly state: StateDir,
    readonly pki: PkiStore,
    /** This member's address, where the database listens and Raft peers reach it. */
    readonly address: string,
    readonly ports: { client: number; raft: number } = STATE_DB_PORTS,
  ) {}

  get dbFile(): string {
    return join(this.state.stateDbDir, "microovn.db");
  }

  get unixSocket(): string {
    return this.state.socket("microovn_db.sock");
  }

  get controlSocket(): string {
    return this.state.socket("microovn_db.ctl");
  }

  /** This member's client remote, e.g. "ssl:10.0.0.1:6649". */
  get clientRemote(): string {
    return sslTarget(this.address, this.ports.client);
  }

  get raftTarget(): string {
    return sslTarget(this.address, this.ports.raft);
  }

  /**
   * Creates the database, unless it exists: as a new one-member Raft
   * cluster, or, given the other voters' Raft addresses, as a server that
   * joins theirs when it starts.
   */
  async createDb(peers: readonly string[] = []): Promise<void> {
    await createClusteredDb(
      this.dbFile,
      { schema: stateSchemaFile(), database: STATE_DATABASE },
      this.raftTarget,
      peers,
      DEFAULT_ELECTION_TIMER_MS,
    );
  }

  serverSpec(): ProcessSpec {
    const pidFile = this.state.socket("microovn_db.pid");
    const tls = this.pki.tlsFiles("microovn");
    return {
      name: "ovsdb-server-state",
      program: "ovsdb-server",
      args: [
        this.dbFile,
        `--pidfile=${pidFile}`,
        `--unixctl=${this.controlSocket}`,
        `--remote=punix:${this.unixSocket}`,
        // The schema has no connection table: the listener is fixed here.
        `--remote=${psslTarget(this.address, this.ports.client)}`,
        `--private-key=${tls.privateKey}`,
        `--certificate=${tls.certificate}`,
        `--ca-cert=${tls.caCert}`,
      ],
      pidFile,
      logFile: this.state.log("ovsdb-server-state"),
      env: { OVS_RUNDIR: this.state.runDir, OVN_RUNDIR: this.state.runDir },
    };
  }
}
