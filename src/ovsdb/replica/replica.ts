/**
 * The replica (what OVS calls an IDL): an in-memory copy of chosen tables and
 * columns of one database, kept current by a monitor. Rows are indexed by
 * uuid and by every schema index whose columns are all monitored; each
 * update message becomes one batch of change events.
 *
 * The monitor is `monitor_cond_since` where the server has it, so that after
 * a reconnect only what changed since the last transaction seen is sent; it
 * falls back to `monitor_cond`, then `monitor`, and after a reconnect without
 * history it reconciles the fresh snapshot with the copy (events only for
 * real differences).
 */
import { EventEmitter } from "node:events";
import type { OvsdbClient } from "../client/client.js";
import {
  encodeConditions,
  type ColumnOf,
  type Condition,
  type TableName,
  type Tables,
  type AnyTables,
} from "../client/transaction.js";
import { OvsdbError } from "../errors.js";
import {
  compileDecoder,
  defaultValue,
  type Row,
  type TableCodec,
  type Value,
} from "../schema/codec.js";
import { columnShape, type Atom, type ColumnType } from "../schema/schema.js";
import { ZERO_UUID, type WireRow, type WireValue } from "../wire/notation.js";

export type MonitorMethod = "monitor_cond_since" | "monitor_cond" | "monitor";

export interface TableSelection<R> {
  /** Columns to copy; all by default. `_uuid` is always there. */
  columns?: readonly ColumnOf<R>[];
  /** Only rows matching all these conditions (needs monitor_cond or newer). */
  where?: readonly Condition<R>[];
}

export type Selection<T extends Tables> = {
  [K in TableName<T>]?: true | TableSelection<T[K]>;
};

export interface RowChange<R = Row> {
  table: string;
  kind: "insert" | "update" | "delete";
  uuid: string;
  /** The row now (for delete, the row as it was). */
  row: R;
  /** For update, the row before the change. */
  old?: R;
}

export interface ReplicaEvents {
  /** One batch per update from the server (or per reconciliation). */
  change: [changes: RowChange[]];
  /** The copy is complete and current again after a (re)connect. */
  synced: [info: { method: MonitorMethod; resumed: boolean; lastTransactionId: string }];
  error: [error: Error];
}

function sameAtoms(a: readonly Atom[], b: readonly Atom[]): boolean {
  if (a.length !== b.length) return false;
  const seen = new Set(a);
  return b.every((x) => seen.has(x));
}

function sameValue(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return sameAtoms(a, b);
  if (a instanceof Map && b instanceof Map) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) if (b.get(k) !== v) return false;
    return true;
  }
  return false;
}

function sameRow(a: Row, b: Row): boolean {
  for (const k in b) if (!sameValue(a[k], b[k])) return false;
  return true;
}

/**
 * The members of a replicated set column's current array, for its next
 * diff (see compileDiff); an array that is no longer current loses its Set.
 */
const SET_MEMBERS = new WeakMap<Atom[], Set<Atom>>();

/** Applies an update2 "modify" diff for one column (RFC 7047 update2 semantics). */
export type DiffApplier = (current: Value, diff: WireValue) => Value;

export function compileDiff(type: ColumnType): DiffApplier {
  const shape = columnShape(type);
  const decode = compileDecoder(type);
  // ovsdb-server sends optional values (sets of at most one) whole, like
  // scalars, not as a difference (measured on OVS 3.1).
  if (shape === "scalar" || shape === "optional") return (_current, diff) => decode(diff);
  if (shape === "map") {
    return (current, diff) => {
      const out = new Map(current as Map<Atom, Atom>);
      for (const [k, v] of decode(diff) as Map<Atom, Atom>) {
        // Same pair: removed; other value: replaced; new key: added.
        if (out.has(k) && out.get(k) === v) out.delete(k);
        else out.set(k, v);
      }
      return out;
    };
  }
  // Sets: the diff is the symmetric difference of old and new. It is
  // usually an atom or two against a set that can be large (a switch's
  // ports, a port group's): the new array is a native copy of the old one
  // with the atoms added or taken out, and membership is answered by a Set
  // that moves from each version of the array to the next (made once, then
  // kept), so a change to a 10,000-port switch costs a copy, not a rebuild.
  return (current, diff) => {
    const atoms = decode(diff) as Atom[];
    if (atoms.length === 0) return current;
    const before = current as Atom[];
    const members = SET_MEMBERS.get(before) ?? new Set(before);
    SET_MEMBERS.delete(before);
    const after = before.slice();
    for (const atom of atoms) {
      if (members.delete(atom)) {
        const i = after.indexOf(atom);
        after[i] = after[after.length - 1]!;
        after.pop();
      } else {
        members.add(atom);
        after.push(atom);
      }
    }
    SET_MEMBERS.set(after, members);
    return after;
  };
}

/** Shared defaults for absent set and map columns; rows are read-only. */
const EMPTY_SET: Atom[] = Object.freeze([]) as unknown as Atom[];
const EMPTY_MAP: Map<Atom, Atom> = (() => {
  const map = new Map<Atom, Atom>();
  const refuse = () => {
    throw new TypeError("replica rows are read-only: copy a value before changing it");
  };
  for (const method of ["set", "delete", "clear"]) {
    Object.defineProperty(map, method, { value: refuse, enumerable: false });
  }
  return map;
})();

function defaultFor(type: ColumnType): Value {
  const shape = columnShape(type);
  if (shape === "map") return EMPTY_MAP;
  if (shape === "set") return EMPTY_SET;
  return defaultValue(type);
}

/** The replicated rows of one table. */
export class ReplicaTable<R = Row> {
  readonly name: string;
  readonly rows = new Map<string, R>();
  /** index key (columns joined by ",") → (value key → row) */
  private readonly indexes = new Map<
    string,
    { columns: readonly string[]; rows: Map<string, R> }
  >();

  constructor(name: string, indexes: readonly (readonly string[])[]) {
    this.name = name;
    for (const columns of indexes) {
      this.indexes.set(columns.join(","), { columns, rows: new Map() });
    }
  }

  get size(): number {
    return this.rows.size;
  }

  get(uuid: string): R | undefined {
    return this.rows.get(uuid);
  }

  values(): IterableIterator<R> {
    return this.rows.values();
  }

  /** Rows for which `predicate` holds. */
  filter(predicate: (row: R) => boolean): R[] {
    const out: R[] = [];
    for (const r of this.rows.values()) if (predicate(r)) out.push(r);
    return out;
  }

  /**
   * Looks a row up by one of the schema's indexes, e.g.
   * `table.lookup({ name: "sw0" })` on Logical_Switch... only where the schema
   * declares that index and its columns are monitored.
   */
  lookup(key: Partial<R>): R | undefined {
    const columns = Object.keys(key).sort();
    for (const index of this.indexes.values()) {
      if (
        index.columns.length === columns.length &&
        [...index.columns].sort().every((c, i) => c === columns[i])
      ) {
        return index.rows.get(indexKey(index.columns, key as Row));
      }
    }
    throw new OvsdbError(
      "OVSDB_SCHEMA",
      `table ${this.name} has no monitored index on (${columns.join(", ")}); ` +
        `indexes: ${[...this.indexes.keys()].map((k) => `(${k})`).join(" ") || "none"}`,
    );
  }

  /** @internal */
  put(uuid: string, row: R, old: R | undefined): void {
    if (old) this.unindex(old);
    this.rows.set(uuid, row);
    for (const index of this.indexes.values())
      index.rows.set(indexKey(index.columns, row as Row), row);
  }

  /** @internal */
  remove(uuid: string): R | undefined {
    const row = this.rows.get(uuid);
    if (row) {
      this.rows.delete(uuid);
      this.unindex(row);
    }
    return row;
  }

  private unindex(row: R): void {
    for (const index of this.indexes.values()) {
      const key = indexKey(index.columns, row as Row);
      if (index.rows.get(key) === row) index.rows.delete(key);
    }
  }

  /** @internal Keeps only the indexes whose columns are all monitored. */
  restrictIndexes(monitored: ReadonlySet<string>): void {
    for (const [name, index] of this.indexes) {
      if (!index.columns.every((c) => monitored.has(c))) this.indexes.delete(name);
    }
  }
}

function indexKey(columns: readonly string[], row: Row): string {
  if (columns.length === 1) {
    const v = row[columns[0]!];
    return typeof v === "string" ? v : JSON.stringify(v);
  }
  return JSON.stringify(columns.map((c) => (row[c] instanceof Map ? [...row[c]] : row[c])));
}

interface TablePlan {
  name: string;
  codec: TableCodec;
  columns: string[];
  request: Record<string, unknown>;
  diffs: Map<string, DiffApplier>;
  /** Every monitored column at its default: rows are spread from it, so all share one shape. */
  template: Row;
  table: ReplicaTable<object>;
}

type TableUpdates2 = Record<string, Record<string, Record<string, WireRow | null> | null>>;
type TableUpdates1 = Record<string, Record<string, { old?: WireRow; new?: WireRow }>>;

let monitorCounter = 0;

function isConnectionLoss(e: unknown): boolean {
  const code = (e as OvsdbError).code;
  return code === "OVSDB_DISCONNECTED" || code === "OVSDB_CLOSED" || code === "OVSDB_NOT_CONNECTED";
}

/** The change record for a row written over `old` (or new). */
function upsert(table: string, uuid: string, row: Row, old: Row | undefined): RowChange {
  return old ? { table, kind: "update", uuid, row, old } : { table, kind: "insert", uuid, row };
}

export class Replica<T extends Tables = AnyTables> extends EventEmitter<ReplicaEvents> {
  private readonly client: OvsdbClient<T>;
  private readonly database: string;
  private readonly plans = new Map<string, TablePlan>();
  private readonly monitorId = `replica-${++monitorCounter}`;
  private method: MonitorMethod = "monitor_cond_since";
  private lastTxnId = ZERO_UUID;
  /** Notifications that arrived while a monitor reply was being applied. */
  private queue: { method: string; params: unknown[] }[] | undefined;
  private closed = false;
  /** The sync under way, if any: only one at a time, so monitors never collide. */
  private syncing: Promise<void> | undefined;
  private syncAgain = false;
  /** The client epoch (connection) our monitor lives on; -1 when it lives nowhere. */
  private monitoredEpoch = -1;
  private hasCopy = false;
  /** After a condition change the history since lastTxnId no longer tells the whole story. */
  private needFullResync = false;
  private readonly onConnected = () =>
    void this.sync().catch((e: Error) => this.reportResyncFailure(e));
  private readonly onNotification = (method: string, params: unknown[]) =>
    this.handle(method, params);

  private constructor(client: OvsdbClient<T>, selection: Selection<T>) {
    super();
    if (client.database === undefined) {
      throw new OvsdbError("OVSDB_SCHEMA", "a replica needs a client opened with { database }");
    }
    this.client = client;
    this.database = client.database;
    for (const [name, choice] of Object.entries(selection) as [
      string,
      true | TableSelection<object>,
    ][]) {
      const codec = client.codec(name);
      const all = [...codec.table.columns.keys()].filter((c) => c !== "_uuid" && c !== "_version");
      const chosen =
        choice === true || !choice.columns ? all : choice.columns.filter((c) => c !== "_uuid");
      const request: Record<string, unknown> = { columns: chosen };
      if (choice !== true && choice.where) {
        request.where = encodeConditions(codec, choice.where);
      }
      const table = new ReplicaTable<object>(name, codec.table.indexes);
      table.restrictIndexes(new Set([...chosen, "_uuid"]));
      const diffs = new Map<string, DiffApplier>();
      const template: Row = { _uuid: "" };
      for (const c of chosen) {
        const column = codec.column(c);
        diffs.set(c, compileDiff(column.type));
        template[c] = defaultFor(column.type);
      }
      this.plans.set(name, {
        name,
        codec,
        columns: chosen,
        request,
        diffs,
        // Built key by key, a wide template is in slow dictionary mode, and
        // spreading from it is ~6x slower; one spread makes it fast.
        template: { ...template },
        table,
      });
    }
  }

  /**
   * Starts replicating and resolves once the copy is complete. Afterwards it
   * follows the client across reconnects by itself.
   */
  static async start<T extends Tables>(
    client: OvsdbClient<T>,
    selection: Selection<T>,
  ): Promise<Replica<T>> {
    const replica = new Replica<T>(client, selection);
    client.on("notification", replica.onNotification);
    client.on("connected", replica.onConnected);
    try {
      await replica.sync();
    } catch (e) {
      replica.close();
      throw e;
    }
    return replica;
  }

  /** The monitor method the server accepted. */
  get monitorMethod(): MonitorMethod {
    return this.method;
  }

  /** The id of the last transaction reflected in the copy (monitor_cond_since only). */
  get lastTransactionId(): string {
    return this.lastTxnId;
  }

  table<K extends TableName<T>>(name: K): ReplicaTable<T[K]> {
    return this.plan(name).table as ReplicaTable<T[K]>;
  }

  private plan(table: string): TablePlan {
    const plan = this.plans.get(table);
    if (!plan) {
      throw new OvsdbError(
        "OVSDB_SCHEMA",
        `table ${table} is not replicated; add it to the selection`,
      );
    }
    return plan;
  }

  /** Changes the conditions of one table (monitor_cond_change); the copy follows. */
  async setConditions<K extends TableName<T>>(
    table: K,
    where: readonly Condition<T[K]>[],
  ): Promise<void> {
    const plan = this.plan(table);
    if (this.method === "monitor") {
      throw new OvsdbError(
        "OVSDB_UNSUPPORTED",
        "this server has no monitor_cond, so the replica cannot filter rows with conditions",
      );
    }
    plan.request.where = encodeConditions(plan.codec, where);
    // Should the connection drop around this change, a resumed monitor would
    // miss rows that start to match without changing: resync in full instead.
    this.needFullResync = true;
    await this.client.monitorCondChange(this.monitorId, this.monitorId, {
      [table]: [{ where: plan.request.where }],
    });
  }

  /** Stops replicating; the copy stays as it was. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.off("notification", this.onNotification);
    this.client.off("connected", this.onConnected);
    if (this.client.isConnected) this.client.monitorCancel(this.monitorId).catch(() => undefined);
  }

  private requests(method: MonitorMethod): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const plan of this.plans.values()) {
      if (method === "monitor") {
        if (plan.request.where) {
          throw new OvsdbError(
            "OVSDB_UNSUPPORTED",
            `the server has no monitor_cond, so table ${plan.name} cannot be filtered with "where"`,
          );
        }
        out[plan.name] = { columns: plan.columns };
      } else {
        out[plan.name] = [plan.request];
      }
    }
    return out;
  }

  /**
   * Brings the monitor up on the current connection. Calls while one is under
   * way join it and make it check once more when done, so a reconnect during
   * start() or during a resync never sends a second monitor with our id.
   */
  private sync(): Promise<void> {
    if (this.syncing) {
      this.syncAgain = true;
      return this.syncing;
    }
    const run = async () => {
      try {
        do {
          this.syncAgain = false;
          if (this.closed) return;
          if (this.client.isConnected && this.monitoredEpoch === this.client.epoch) continue;
          try {
            await this.resyncOnce();
          } catch (e) {
            // The connection went while we asked; the new one brings us back here.
            if (this.syncAgain && isConnectionLoss(e)) continue;
            throw e;
          }
        } while (this.syncAgain);
      } finally {
        this.syncing = undefined;
      }
    };
    this.syncing = run();
    return this.syncing;
  }

  /** Sends the monitor (newest method first) and applies its reply. */
  private async resyncOnce(): Promise<void> {
    const resume = this.hasCopy && !this.needFullResync;
    this.queue = [];
    try {
      for (;;) {
        try {
          let resumed = false;
          if (this.method === "monitor_cond_since") {
            const [found, lastId, updates] = await this.client.monitorCondSince(
              this.database,
              this.monitorId,
              this.requests(this.method),
              resume ? this.lastTxnId : ZERO_UUID,
            );
            resumed = resume && found;
            if (resumed) this.applyUpdates2(updates as TableUpdates2);
            else this.replaceAll(updates as TableUpdates2, 2);
            this.lastTxnId = lastId;
          } else if (this.method === "monitor_cond") {
            const updates = await this.client.monitorCond(
              this.database,
              this.monitorId,
              this.requests(this.method),
            );
            this.replaceAll(updates as TableUpdates2, 2);
          } else {
            const updates = await this.client.monitor(
              this.database,
              this.monitorId,
              this.requests(this.method),
            );
            this.replaceAll(updates as TableUpdates1, 1);
          }
          this.monitoredEpoch = this.client.epoch;
          this.hasCopy = true;
          this.needFullResync = false;
          this.finishSync(resumed);
          return;
        } catch (e) {
          if (
            e instanceof OvsdbError &&
            e.code === "OVSDB_RPC_ERROR" &&
            e.serverError === "unknown method" &&
            this.method !== "monitor"
          ) {
            this.method = this.method === "monitor_cond_since" ? "monitor_cond" : "monitor";
            continue;
          }
          throw e;
        }
      }
    } finally {
      const queued = this.queue ?? [];
      this.queue = undefined;
      for (const n of queued) this.handle(n.method, n.params);
    }
  }

  /**
   * A sync that failed because the connection dropped is retried on the next
   * `connected`; anything else goes to `error` listeners, or becomes a
   * process warning when there are none (never an uncaught exception).
   */
  private reportResyncFailure(e: Error): void {
    if (isConnectionLoss(e)) return;
    if (this.listenerCount("error") > 0) this.emit("error", e);
    else process.emitWarning(`replica of ${this.database} stopped following: ${e.message}`);
  }

  private finishSync(resumed: boolean): void {
    this.emit("synced", { method: this.method, resumed, lastTransactionId: this.lastTxnId });
  }

  private handle(method: string, params: unknown[]): void {
    if (this.closed || params[0] !== this.monitorId) return;
    if (this.queue) {
      this.queue.push({ method, params });
      return;
    }
    if (method === "update3") {
      this.lastTxnId = params[1] as string;
      this.applyUpdates2(params[2] as TableUpdates2);
    } else if (method === "update2") {
      this.applyUpdates2(params[1] as TableUpdates2);
    } else if (method === "update") {
      this.applyUpdates1(params[1] as TableUpdates1);
    } else if (method === "monitor_canceled") {
      // The server dropped the monitor (its schema changed): start over.
      this.monitoredEpoch = -1;
      this.needFullResync = true;
      this.sync().catch((e: Error) => this.reportResyncFailure(e));
    }
  }

  private applyUpdates2(updates: TableUpdates2): void {
    const changes: RowChange[] = [];
    for (const tableName in updates) {
      const plan = this.plans.get(tableName);
      if (!plan) continue;
      const table = plan.table as ReplicaTable<Row>;
      const rows = updates[tableName]!;
      for (const uuid in rows) {
        const update = rows[uuid] as Record<string, WireRow | null>;
        const old = table.get(uuid);
        if ("delete" in update) {
          if (table.remove(uuid))
            changes.push({ table: tableName, kind: "delete", uuid, row: old! });
          continue;
        }
        const initial = update.initial ?? update.insert;
        if (initial) {
          const row = plan.codec.decodeRow(initial, this.blankRow(plan, uuid));
          table.put(uuid, row, old);
          changes.push(upsert(tableName, uuid, row, old));
          continue;
        }
        const diff = update.modify;
        if (diff && old) {
          const row: Row = { ...old };
          for (const column in diff) {
            const apply = plan.diffs.get(column);
            if (apply) row[column] = apply(old[column], diff[column]!);
          }
          table.put(uuid, row, old);
          changes.push({ table: tableName, kind: "update", uuid, row, old });
        }
      }
    }
    if (changes.length > 0) this.emit("change", changes);
  }

  private applyUpdates1(updates: TableUpdates1): void {
    const changes: RowChange[] = [];
    for (const tableName in updates) {
      const plan = this.plans.get(tableName);
      if (!plan) continue;
      const table = plan.table as ReplicaTable<Row>;
      for (const uuid in updates[tableName]!) {
        const update = updates[tableName][uuid]!;
        const old = table.get(uuid);
        if (!update.new) {
          if (table.remove(uuid))
            changes.push({ table: tableName, kind: "delete", uuid, row: old! });
          continue;
        }
        const row = plan.codec.decodeRow(update.new, old ? { ...old } : this.blankRow(plan, uuid));
        table.put(uuid, row, old);
        changes.push(upsert(tableName, uuid, row, old));
      }
    }
    if (changes.length > 0) this.emit("change", changes);
  }

  /** A row holding every monitored column's default, which the server omits. */
  private blankRow(plan: TablePlan, uuid: string): Row {
    // Spreading a template gives V8 fast, same-shaped objects; adding the
    // columns one by one would leave wide rows in slow dictionary mode.
    const row = { ...plan.template };
    row._uuid = uuid;
    return row;
  }

  /** Replaces the copy with a full snapshot, emitting only real differences. */
  private replaceAll(updates: TableUpdates1 | TableUpdates2, version: 1 | 2): void {
    const changes: RowChange[] = [];
    const tracking = this.listenerCount("change") > 0;
    for (const plan of this.plans.values()) {
      const table = plan.table as ReplicaTable<Row>;
      const fresh =
        (updates as Record<string, Record<string, Record<string, WireRow>>>)[plan.name] ?? {};
      const wasEmpty = table.size === 0;
      const seen = new Set<string>();
      for (const uuid in fresh) {
        const entry = fresh[uuid]!;
        const wire = version === 2 ? (entry.initial ?? entry.insert) : entry.new;
        if (!wire) continue;
        const row = plan.codec.decodeRow(wire, this.blankRow(plan, uuid));
        if (wasEmpty) {
          // The first snapshot: nothing to compare with or to remove.
          table.put(uuid, row, undefined);
          if (tracking) changes.push({ table: plan.name, kind: "insert", uuid, row });
          continue;
        }
        seen.add(uuid);
        const old = table.get(uuid);
        if (old && sameRow(old, row)) continue;
        table.put(uuid, row, old);
        changes.push(upsert(plan.name, uuid, row, old));
      }
      if (!wasEmpty && seen.size !== table.size) {
        for (const uuid of [...table.rows.keys()]) {
          if (!seen.has(uuid)) {
            changes.push({ table: plan.name, kind: "delete", uuid, row: table.remove(uuid)! });
          }
        }
      }
    }
    if (changes.length > 0) this.emit("change", changes);
  }
}
