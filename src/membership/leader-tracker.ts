/**
 * Following the Raft leaders of NB and SB, to help OVN's own clients after
 * a leader is lost. ovn-northd and ovn-controller back off (1, 2, 4, 8 s)
 * while they look for a new leader; a fresh connection list makes them try
 * every server at once. So each daemon keeps a leader-only client of SB
 * (and, on centrals, of NB) — our client finds a new leader within tens of
 * milliseconds of its election — and reports where the leader went: the
 * member then puts the leader first in ovn-remote (ovn-controller
 * reconnects at once) and starts ovn-northd again (a new process tries
 * every server without backoff).
 */
import { EventEmitter } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import type { CentralDatabase } from "../ovn/central.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";

export interface LeaderEvents {
  /** The leader of `db` is now at `remote` (after having been elsewhere). */
  moved: [db: CentralDatabase, remote: string];
}

const DATABASE_NAMES: Record<CentralDatabase, string> = {
  nb: INSTALLED_SCHEMAS.northbound.database,
  sb: INSTALLED_SCHEMAS.southbound.database,
};

export class LeaderTracker extends EventEmitter<LeaderEvents> {
  private readonly clients = new Map<CentralDatabase, OvsdbClient>();
  /** Where each leader was last seen, e.g. "ssl:10.0.0.2:6642". */
  private readonly leaders = new Map<CentralDatabase, string>();
  private remotesKey = "";
  private generation = 0;

  constructor(private readonly rt: MemberRuntime) {
    super();
  }

  /** Starts following (again, if the databases' addresses changed). */
  follow(): void {
    const central = this.rt.config?.services.includes("central") ?? false;
    const dbs: CentralDatabase[] = central ? ["nb", "sb"] : ["sb"];
    const key = JSON.stringify([dbs, this.rt.nbRemotes(), this.rt.sbRemotes()]);
    if (key === this.remotesKey) return;
    this.stop();
    this.remotesKey = key;
    const generation = ++this.generation;
    for (const db of dbs) void this.track(db, generation);
  }

  private async track(db: CentralDatabase, generation: number): Promise<void> {
    const remotes = db === "nb" ? this.rt.nbRemotes() : this.rt.sbRemotes();
    if (remotes.length === 0) return;
    for (let attempt = 0; generation === this.generation; attempt++) {
      try {
        const client = await OvsdbClient.connect({
          remotes,
          database: DATABASE_NAMES[db],
          leaderOnly: true,
          tls: this.rt.pki.tlsFiles("client"),
          backoff: { initialMs: 20, maxMs: 500 },
          waitForConnectionMs: 30_000,
        });
        if (generation !== this.generation) {
          client.close();
          return;
        }
        this.clients.set(db, client);
        this.leaders.set(db, client.currentRemote ?? "");
        client.on("connected", ({ remote }) => {
          const before = this.leaders.get(db);
          this.leaders.set(db, remote);
          if (remote !== before) this.emit("moved", db, remote);
        });
        return;
      } catch {
        await delay(Math.min(500 * 2 ** attempt, 5000));
      }
    }
  }

  stop(): void {
    this.generation++;
    this.remotesKey = "";
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
