/**
 * Held-back schema conversion of NB and SB, run by microovnd on members
 * that run central. Nothing converts a database when a process starts: a
 * member whose OVN ships a newer schema keeps running the old one. Every
 * so often (and when the members change) the coordinator asks every member
 * which versions it expects; once all answer with the same version, newer
 * than the one the database runs, one member converts the database online
 * (`ovsdb-client convert` through its own server, which hands it to the Raft
 * leader), under a lease in the state database so nobody else tries at the
 * same time. A failed conversion is tried again with a growing pause.
 *
 * ovn-northd and ovn-controller stay connected: the server sends its
 * clients the new schema and they carry on (OVN's IDL rereads it).
 */
import type { LayoutMember } from "../cluster/layout.js";
import {
  activeSchemaVersion,
  convertOnline,
  expectedSchemaVersion,
  readableOvnSchemaFile,
  type CentralDatabase,
} from "../ovn/schemas.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { compareVersions, schemaVerdict } from "./decision.js";
import { gatherExpectations } from "./expectations.js";
import { connectStateDb } from "../membership/member-row.js";
import { releaseLease, takeLease, type LeaseTaker } from "./lease.js";
import { CONVERSION_ELECTION_TIMER_MS, withElectionTimer } from "../ovn/election-timer.js";
import { readClusterStatus } from "../ovn/raft.js";

/**
 * Runs a conversion of `db`. By default the election timer is raised to
 * CONVERSION_ELECTION_TIMER_MS before `convert` and put back after, so a
 * long conversion cannot make the Raft servers miss heartbeats and flap;
 * tests may give another.
 */
export type AroundConversion = (db: CentralDatabase, convert: () => Promise<void>) => Promise<void>;

export interface SchemaUpgradeOptions {
  /** The members to ask (the state database's view). */
  members: () => readonly Pick<LayoutMember, "name" | "address">[];
  log: (message: string) => void;
  /** Between two checks. Default 10 s. */
  intervalMs?: number;
  /** How long one `ovsdb-client convert` may take. Default 5 min. */
  convertTimeoutMs?: number;
  /** Default: convert with the election timer raised (this member's server leads `db`). */
  around?: AroundConversion;
}

const DATABASES: readonly CentralDatabase[] = ["nb", "sb"];
const FIRST_CHECK_MS = 2_000;
const MIN_RETRY_MS = 5_000;
const MAX_RETRY_MS = 5 * 60_000;

export class SchemaUpgrades {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  /** Per database (or "round"): the last thing said about it (said again only when it changes). */
  private readonly said = new Map<CentralDatabase | "round", string>();
  private readonly failures = new Map<CentralDatabase, { count: number; retryAt: number }>();
  private readonly interval: number;
  private readonly convertTimeout: number;
  private readonly around: AroundConversion;

  constructor(
    private readonly rt: MemberRuntime,
    private readonly options: SchemaUpgradeOptions,
  ) {
    this.interval = options.intervalMs ?? 10_000;
    this.convertTimeout = options.convertTimeoutMs ?? 5 * 60_000;
    this.around =
      options.around ??
      ((db, convert) => {
        const central = this.rt.central();
        const server = {
          controlSocket: central.controlSocket(db),
          database: central.databaseName(db),
        };
        return withElectionTimer(server, CONVERSION_ELECTION_TIMER_MS, convert);
      });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(FIRST_CHECK_MS);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Checks soon (the members changed). */
  poke(): void {
    if (!this.stopped) this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }

  /** One round; a round asked for while one runs follows it. */
  private async check(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .catch((e: Error) => this.say("round", `schema check failed: ${e.message}`))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        this.schedule(this.again ? 0 : this.interval);
        this.again = false;
      });
    await this.running;
  }

  private say(db: CentralDatabase | "round", message: string): void {
    if (this.said.get(db) === message) return;
    this.said.set(db, message);
    this.options.log(message);
  }

  private async round(): Promise<void> {
    const config = this.rt.config;
    if (!config?.services.includes("central")) return;
    const members = this.options.members();
    if (members.length === 0) return;
    const expectations = await gatherExpectations(this.rt, members);
    this.said.delete("round");
    for (const db of DATABASES) {
      const failure = this.failures.get(db);
      if (failure && Date.now() < failure.retryAt) continue;
      const title = db.toUpperCase();
      const active = await activeSchemaVersion(this.rt.central().unixSocket(db), db);
      const verdict = schemaVerdict(active, expectations[db]);
      if (verdict.kind === "ok") {
        this.say(db, `${title} runs schema ${active}, as every member expects`);
        this.failures.delete(db);
        continue;
      }
      if (verdict.kind === "hold") {
        this.say(db, `${title} stays on schema ${active}: ${verdict.reason}`);
        continue;
      }
      try {
        await this.convert(db, active, verdict.to);
        this.failures.delete(db);
      } catch (e) {
        const count = (failure?.count ?? 0) + 1;
        const pause = Math.min(MIN_RETRY_MS * 2 ** (count - 1), MAX_RETRY_MS);
        this.failures.set(db, { count, retryAt: Date.now() + pause });
        this.options.log(
          `converting ${title} to schema ${verdict.to} failed (attempt ${count}; next in ` +
            `${pause / 1000} s): ${(e as Error).message}`,
        );
      }
    }
  }

  private async convert(db: CentralDatabase, active: string, to: string): Promise<void> {
    const title = db.toUpperCase();
    const taker: LeaseTaker = {
      me: this.rt.requireConfig().name,
      connect: () => connectStateDb(this.rt),
    };
    const file = await readableOvnSchemaFile(db);
    // The members answered a moment ago; this member's files must still be the ones it reported.
    const mine = await expectedSchemaVersion(db);
    if (mine !== to) throw new Error(`this member's ${file} is ${mine} now, not ${to}`);
    // The leader's member converts: only there can the election timer be
    // raised around it (withElectionTimer), and its conversion needs no hop.
    const raft = await readClusterStatus(
      this.rt.central().controlSocket(db),
      this.rt.central().databaseName(db),
    );
    if (raft?.role !== "leader") {
      this.say(db, `${title}: the member whose server leads ${title} converts it to schema ${to}`);
      return;
    }
    // Longer than a conversion may take: a holder that dies lets another go on after this.
    if (!(await takeLease(taker, db, this.convertTimeout + 60_000))) {
      this.say(db, `${title}: another member is converting it to schema ${to}`);
      return;
    }
    try {
      const socket = this.rt.central().unixSocket(db);
      // Someone may have converted it between our check and the lease.
      const now = await activeSchemaVersion(socket, db);
      if (compareVersions(now, to) >= 0) return;
      this.options.log(`converting ${title} from schema ${active} to ${to}`);
      const started = Date.now();
      await this.around(db, () => convertOnline(socket, file, this.convertTimeout));
      this.say(db, `converted ${title} to schema ${to} in ${(Date.now() - started) / 1000} s`);
    } finally {
      await releaseLease(taker, db).catch((e: Error) =>
        this.options.log(`could not give up the ${title} conversion lease: ${e.message}`),
      );
    }
  }
}
