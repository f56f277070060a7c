/**
 * The daemon's live view of the cluster: a replica of the Member and Config
 * tables of the cluster state database, kept by a monitor. It reports every
 * change of the layout (members, addresses, roles, services, cluster-wide
 * settings) so the member can
 * refresh its OVN settings, writes this member's heartbeat, and answers
 * who is a member (for the member API) and who is online.
 */
import { EventEmitter } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import type { OvsdbClient } from "../ovsdb/client/client.js";
import type { MicroOVNDatabase } from "../ovsdb/models/microovn.js";
import { Replica } from "../ovsdb/replica/replica.js";
import { sameLayout, type ClusterLayout } from "../cluster/layout.js";
import { HEARTBEAT_INTERVAL_MS, layoutFromRows, type MemberRow } from "../cluster/members.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import { connectStateDb } from "./member-row.js";

export interface WatcherEvents {
  /** The layout in the state database differs from the member's. */
  layout: [layout: ClusterLayout];
  /** The state database runs another schema than when the watcher last connected (a conversion). */
  schema: [version: string];
  /** Something went wrong that the watcher recovers from by itself. */
  problem: [message: string];
}

export class ClusterWatcher extends EventEmitter<WatcherEvents> {
  private client: OvsdbClient<MicroOVNDatabase> | undefined;
  private replica: Replica<MicroOVNDatabase> | undefined;
  private remotes = "";
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private connecting: Promise<void> | undefined;
  private activeSchema: string | undefined;
  /** The schema version of the last client connected. */
  private schemaInUse: string | undefined;

  constructor(private readonly rt: MemberRuntime) {
    super();
  }

  /** Starts watching (in the background until the state database answers). */
  start(): void {
    this.stopped = false;
    this.reconnect();
    this.heartbeatTimer ??= setInterval(() => void this.heartbeat(), HEARTBEAT_INTERVAL_MS);
  }

  /** Connects again if where this member reaches the state database changed. */
  followRemotes(): void {
    if (this.rt.stateDbRemotes().join(",") !== this.remotes) this.reconnect();
  }

  private reconnect(): void {
    const previous = this.connecting ?? Promise.resolve();
    this.connecting = previous.then(() => this.connect());
  }

  private async connect(): Promise<void> {
    this.closeClient();
    for (let attempt = 0; !this.stopped; attempt++) {
      const remotes = this.rt.stateDbRemotes();
      this.remotes = remotes.join(",");
      try {
        const client = await connectStateDb(this.rt, remotes);
        if (this.stopped) {
          client.close();
          return;
        }
        const replica = await Replica.start(client, { Member: true, Config: true });
        this.client = client;
        this.replica = replica;
        this.activeSchema = client.schema.version;
        const previous = this.schemaInUse;
        this.schemaInUse = client.schema.version;
        if (previous !== undefined && previous !== this.schemaInUse) {
          this.emit("schema", this.schemaInUse);
        }
        replica.on("change", () => this.check());
        replica.on("synced", () => this.check());
        replica.on("error", (e) => this.emit("problem", `state database monitor: ${e.message}`));
        this.check();
        return;
      } catch (e) {
        if (attempt % 10 === 0) {
          this.emit("problem", `cannot reach the cluster state database: ${(e as Error).message}`);
        }
        await delay(Math.min(1000 * 2 ** attempt, 5000));
      }
    }
  }

  private check(): void {
    const layout = this.changedLayout();
    if (layout) this.emit("layout", layout);
  }

  /**
   * The layout the state database describes now, if it differs from the
   * member's; undefined when it does not, or nothing has been read yet.
   */
  changedLayout(): ClusterLayout | undefined {
    if (!this.replica) return undefined;
    const layout = layoutFromRows(
      this.replica.table("Member").values(),
      this.replica.table("Config").values(),
    );
    return layout.members.length > 0 && !sameLayout(layout, this.rt.layout) ? layout : undefined;
  }

  private async heartbeat(): Promise<void> {
    const name = this.rt.config?.name;
    if (!this.client || !name) return;
    try {
      const txn = this.client.transaction();
      txn.update("Member", [["name", "==", name]], { heartbeat: Date.now() });
      await txn.commit();
    } catch (e) {
      this.emit("problem", `heartbeat not written: ${(e as Error).message}`);
    }
  }

  /** Every member row, or an error when the state database has not been read yet. */
  members(): MemberRow[] {
    const rows = this.knownMembers();
    if (!rows) {
      throw new MicroOvnError(
        "STATE_DB_UNREACHABLE",
        `the cluster state database (${this.remotes || "not known yet"}) has not answered yet; ` +
          "check that the voters run (`microovn status`) and try again",
      );
    }
    return rows;
  }

  /** Every member row, or undefined when the state database has not been read yet. */
  knownMembers(): MemberRow[] | undefined {
    return this.replica ? [...this.replica.table("Member").values()] : undefined;
  }

  /** Whether the certificate holder is a current member (name and fingerprint both match). */
  isMember(name: string, fingerprint: string): boolean {
    const row = this.replica?.table("Member").lookup({ name });
    return row !== undefined && row.fingerprint === fingerprint;
  }

  /**
   * The schema version the state database runs, as last read (undefined
   * before the first read): what `cluster list` compares members' versions
   * with.
   */
  get activeSchemaVersion(): string | undefined {
    return this.activeSchema;
  }

  /**
   * Asks the state database for the schema it runs now. After a conversion
   * the client still encodes with the schema it read when it connected (an
   * older one, which the new one contains): connect afresh, so that the
   * replica and this member's writes use the new one.
   */
  async readActiveSchema(): Promise<string | undefined> {
    const client = this.client;
    if (!client) return undefined;
    const version = (await client.getSchema(STATE_DATABASE)).version;
    this.activeSchema = version;
    if (client === this.client && version !== client.schema.version) this.reconnect();
    return version;
  }

  private closeClient(): void {
    this.replica?.close();
    this.client?.close();
    this.replica = undefined;
    this.client = undefined;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.closeClient();
  }
}
