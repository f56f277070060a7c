/**
 * The OVSDB client: a connection to one of several remotes that comes back by
 * itself. It finds a usable server (with `leaderOnly`, the Raft leader of the
 * database, read from `_Server.Database` and watched so that the client moves
 * when leadership does), reconnects with exponential backoff and jitter, and
 * offers every RFC 7047 method plus a typed transaction API.
 *
 * Requests made while no connection is up wait for one, at most
 * `waitForConnectionMs`, then fail with OVSDB_NOT_CONNECTED. A transaction
 * whose connection drops after it was sent fails with OVSDB_OUTCOME_UNKNOWN;
 * the client never resends it, so nothing is applied twice.
 */
import { EventEmitter } from "node:events";
import { OvsdbError } from "../errors.js";
import { TableCodec } from "../schema/codec.js";
import { getTable, parseSchema, type DatabaseSchema } from "../schema/schema.js";
import type { Operation, OperationResult } from "../wire/operations.js";
import { Connection, deliver, type ConnectionOptions, type RequestOptions } from "./connection.js";
import { formatRemote, parseRemotes, type Remote } from "./remote.js";
import {
  Transaction,
  encodeConditions,
  findFailure,
  type ColumnOf,
  type Condition,
  type TableName,
  type Tables,
  type AnyTables,
} from "./transaction.js";

export interface BackoffOptions {
  /** First delay after every remote failed once. Default 50 ms. */
  initialMs?: number;
  /** Ceiling of the doubling delay. Default 2 s. */
  maxMs?: number;
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. Default 0.25. */
  jitter?: number;
}

export interface ClientOptions extends ConnectionOptions {
  /** One remote, a comma-separated list, or an array (a cluster's members). */
  remotes: string | readonly string[];
  /** The database this client works on; needed for the typed API and leaderOnly. */
  database?: string;
  /** Talk only to the Raft leader of `database` (ignored for standalone DBs). Default true. */
  leaderOnly?: boolean;
  /** Use this schema instead of asking the server for it. */
  schema?: DatabaseSchema;
  backoff?: BackoffOptions;
  /** How long a request waits for a connection before failing. Default 10 s. */
  waitForConnectionMs?: number;
  /** Default reply timeout for every request; none by default. */
  requestTimeoutMs?: number;
}

export interface ClientEvents {
  /** A connection is ready (schema known, leader checked). `reconnected` is false the first time. */
  connected: [info: { remote: string; reconnected: boolean }];
  disconnected: [error: OvsdbError | undefined];
  /** Every notification from the server (update, update2, update3, locked, stolen, …). */
  notification: [method: string, params: unknown[]];
  locked: [lock: string];
  stolen: [lock: string];
}

const SERVER_WATCH_ID = "microovn-server-watch";

/** A row of `_Server.Database`, as the leader watch reads it. */
interface DatabaseState {
  name?: string;
  model?: string;
  connected?: boolean;
  leader?: boolean;
}

/** Why a server cannot serve `db` to a leader-only client, or undefined when it can. */
function notUsable(db: string, row: DatabaseState | undefined): string | undefined {
  if (!row) return `it does not serve database ${db}`;
  if (row.model !== "clustered" || (row.connected && row.leader)) return undefined;
  return row.connected
    ? `it is not the leader of ${db}`
    : `it is not the leader of ${db} (it is not connected to its cluster)`;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export class OvsdbClient<T extends Tables = AnyTables> extends EventEmitter<ClientEvents> {
  private remoteList: readonly Remote[];
  readonly database: string | undefined;
  private readonly options: ClientOptions;
  private readonly leaderOnly: boolean;
  private schemaValue: DatabaseSchema | undefined;
  private readonly codecs = new Map<string, TableCodec>();
  private connection: Connection | undefined;
  private nextRemote = 0;
  private everConnected = false;
  private connecting: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private lastError: OvsdbError | undefined;
  /** Connections in a row that closed soon after they were made (a flapping server). */
  private shortLivedInARow = 0;
  private epochValue = 0;

  private constructor(options: ClientOptions) {
    super();
    this.options = options;
    this.remoteList = parseRemotes(options.remotes);
    this.database = options.database;
    this.leaderOnly = options.leaderOnly ?? true;
    this.schemaValue = options.schema;
    // Start from a random member so that many clients spread over a cluster.
    this.nextRemote = Math.floor(Math.random() * this.remoteList.length);
  }

  /**
   * Connects to the first usable remote. Rejects with OVSDB_NOT_CONNECTED
   * (naming the last failure) if none is usable within `waitForConnectionMs`.
   */
  static async connect<T extends Tables = AnyTables>(
    options: ClientOptions,
  ): Promise<OvsdbClient<T>> {
    const client = new OvsdbClient<T>(options);
    try {
      await client.waitForConnection();
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /** The schema of `database` (fetched from the server on first connect). */
  /** Where the client connects, in the order it tries them. */
  get remotes(): readonly Remote[] {
    return this.remoteList;
  }

  /**
   * Another list of remotes (a cluster gained or lost members). The current
   * connection stays when its remote is still listed; otherwise it is
   * dropped and the client connects to one of the new remotes.
   */
  setRemotes(remotes: string | readonly string[]): void {
    const list = parseRemotes(remotes);
    if (list.length === 0) throw new OvsdbError("OVSDB_BAD_REMOTE", "give at least one remote");
    this.remoteList = list;
    this.nextRemote = Math.floor(Math.random() * list.length);
    const current = this.currentRemote;
    if (current !== undefined && !list.some((r) => formatRemote(r) === current)) {
      this.dropConnection();
    }
  }

  get schema(): DatabaseSchema {
    if (!this.schemaValue) {
      throw new OvsdbError("OVSDB_SCHEMA", "this client was opened without a database");
    }
    return this.schemaValue;
  }

  get isConnected(): boolean {
    return this.connection?.isOpen ?? false;
  }

  /** The remote in use, or undefined while reconnecting. */
  get currentRemote(): string | undefined {
    return this.connection?.isOpen ? this.connection.remote : undefined;
  }

  codec(table: string): TableCodec {
    let codec = this.codecs.get(table);
    if (!codec) {
      codec = new TableCodec(getTable(this.schema, table));
      this.codecs.set(table, codec);
    }
    return codec;
  }

  /** Closes the connection for good; pending and waiting requests fail. */
  close(): void {
    this.stop.abort();
    this.connection?.close();
    this.connection = undefined;
  }

  /** Drops the current connection (as if the server went away); the client reconnects. */
  dropConnection(): void {
    this.connection?.drop("asked to by dropConnection()");
  }

  /** Counts connections made so far: tells a new connection from the one a monitor was set up on. */
  get epoch(): number {
    return this.epochValue;
  }

  // ---- connection management -------------------------------------------------

  /** The open connection, waiting (at most `waitForConnectionMs`) for one if needed. */
  private async waitForConnection(method?: string): Promise<Connection> {
    const what = method === undefined ? "cannot connect" : `cannot send ${method}`;
    const limit = this.options.waitForConnectionMs ?? 10_000;
    const deadline = Date.now() + limit;
    for (;;) {
      if (this.stop.signal.aborted) {
        throw new OvsdbError("OVSDB_CLOSED", `${what}: this client was closed`, {
          ...(method === undefined ? {} : { method }),
        });
      }
      if (this.connection?.isOpen) return this.connection;
      const left = deadline - Date.now();
      if (left <= 0) {
        const why = this.lastError ? `; last error: ${this.lastError.message}` : "";
        throw new OvsdbError(
          "OVSDB_NOT_CONNECTED",
          `${what}: no usable server among ` +
            `${this.remotes.map(formatRemote).join(",")} within ${limit} ms${why}`,
          {
            ...(method === undefined ? {} : { method }),
            ...(this.lastError ? { cause: this.lastError } : {}),
          },
        );
      }
      this.connecting ??= this.connectLoop().finally(() => (this.connecting = undefined));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.connecting,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, left))),
      ]);
      clearTimeout(timer);
    }
  }

  private async connectLoop(): Promise<void> {
    const backoff = this.options.backoff ?? {};
    const initial = backoff.initialMs ?? 50;
    const max = backoff.maxMs ?? 2000;
    const jitter = backoff.jitter ?? 0.25;
    const delayFor = (round: number) =>
      Math.min(max, initial * 2 ** round) * (1 + jitter * (2 * Math.random() - 1));
    // A server that accepts and then hangs up at once must not be hammered:
    // such drops count as failures; one after a long-lived connection (a
    // leader change) is retried at once.
    if (this.shortLivedInARow > 0) {
      await sleep(delayFor(this.shortLivedInARow - 1), this.stop.signal);
    }
    let round = this.shortLivedInARow;
    while (!this.stop.signal.aborted) {
      for (let i = 0; i < this.remotes.length && !this.stop.signal.aborted; i++) {
        const remote = this.remotes[this.nextRemote]!;
        this.nextRemote = (this.nextRemote + 1) % this.remotes.length;
        let connection: Connection | undefined;
        try {
          connection = await Connection.open(remote, this.options);
          await this.prepare(connection);
          if (this.stop.signal.aborted) {
            connection.close();
            return;
          }
          this.adopt(connection);
          return;
        } catch (e) {
          connection?.close();
          this.lastError =
            e instanceof OvsdbError
              ? e
              : new OvsdbError("OVSDB_NOT_CONNECTED", (e as Error).message, { cause: e });
        }
      }
      await sleep(delayFor(round++), this.stop.signal);
    }
  }

  /** Readies a fresh connection: schema, and for leaderOnly a leader check plus a watch. */
  private async prepare(connection: Connection): Promise<void> {
    const db = this.database;
    if (db === undefined) return;
    if (this.leaderOnly) {
      // Listen before asking: an update may come in the same chunk as the reply.
      connection.on("notification", (method, params) => {
        if (method === "update" && params[0] === SERVER_WATCH_ID) {
          this.onServerUpdate(db, connection, params[1]);
        }
      });
      const reply = (await connection.request(
        "monitor",
        [
          "_Server",
          SERVER_WATCH_ID,
          { Database: { columns: ["name", "model", "connected", "leader"] } },
        ],
        { timeoutMs: this.options.connectTimeoutMs ?? 5000 },
      )) as { Database?: Record<string, { new?: DatabaseState }> } | null;
      const row = Object.values(reply?.Database ?? {}).find((u) => u.new?.name === db)?.new;
      const problem = notUsable(db, row);
      if (problem) {
        throw new OvsdbError("OVSDB_NOT_CONNECTED", `${connection.remote}: ${problem}`, {
          remote: connection.remote,
        });
      }
    }
    if (!this.schemaValue) {
      this.schemaValue = parseSchema(
        await connection.request("get_schema", [db], {
          timeoutMs: this.options.connectTimeoutMs ?? 5000,
        }),
      );
    }
  }

  private adopt(connection: Connection): void {
    this.connection = connection;
    this.lastError = undefined;
    connection.on("notification", (method, params) => {
      if (params[0] === SERVER_WATCH_ID) return;
      if (method === "locked" && typeof params[0] === "string") this.emit("locked", params[0]);
      if (method === "stolen" && typeof params[0] === "string") this.emit("stolen", params[0]);
      this.emit("notification", method, params);
    });
    const adoptedAt = Date.now();
    connection.once("close", (error) => {
      if (this.connection === connection) this.connection = undefined;
      const lived = Date.now() - adoptedAt;
      this.shortLivedInARow =
        lived >= (this.options.backoff?.maxMs ?? 2000) ? 0 : this.shortLivedInARow + 1;
      this.emit("disconnected", error);
      if (!this.stop.signal.aborted) {
        this.lastError = error;
        this.connecting ??= this.connectLoop().finally(() => (this.connecting = undefined));
        this.connecting.catch(() => undefined);
      }
    });
    const reconnected = this.everConnected;
    this.everConnected = true;
    this.epochValue++;
    deliver(() => this.emit("connected", { remote: connection.remote, reconnected }));
  }

  /**
   * Watches `_Server.Database` (plain `monitor`: rows come whole in `new`,
   * and a deleted row only in `old`): when our database loses its leader
   * here, or the server its cluster, the connection is dropped and the
   * client finds the new leader.
   */
  private onServerUpdate(db: string, connection: Connection, update: unknown): void {
    type Change = { old?: DatabaseState; new?: DatabaseState };
    const rows = (update as { Database?: Record<string, Change> } | null)?.Database;
    for (const change of Object.values(rows ?? {})) {
      if ((change.new ?? change.old)?.name !== db) continue;
      const problem = notUsable(db, change.new);
      if (problem) connection.drop(problem);
      return;
    }
  }

  // ---- raw methods (RFC 7047 §4.1) ---------------------------------------------

  /** Sends any method on the current connection (waiting for one if needed). */
  async request(method: string, params: unknown[], options: RequestOptions = {}): Promise<unknown> {
    const connection = await this.waitForConnection(method);
    return connection.request(method, params, this.withDefaultTimeout(options));
  }

  private withDefaultTimeout(options: RequestOptions): RequestOptions {
    const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
    return timeoutMs === undefined ? options : { ...options, timeoutMs };
  }

  async listDbs(): Promise<string[]> {
    return (await this.request("list_dbs", [])) as string[];
  }

  async getSchema(database: string): Promise<DatabaseSchema> {
    return parseSchema(await this.request("get_schema", [database]));
  }

  /**
   * Sends operations as one transaction and returns the raw results. An
   * operation that failed (or a failed commit) becomes a TransactionError
   * naming it. Aborting `signal` sends `cancel` for it.
   */
  async transact(
    database: string,
    operations: readonly Operation[],
    options: RequestOptions = {},
  ): Promise<(OperationResult | null)[]> {
    const connection = await this.waitForConnection("transact");
    const results = (await connection.request(
      "transact",
      [database, ...operations],
      this.withDefaultTimeout(options),
    )) as (OperationResult | null)[];
    if (!Array.isArray(results)) {
      throw new OvsdbError(
        "OVSDB_PROTOCOL",
        `transact on ${connection.remote} returned a non-array result`,
        {
          method: "transact",
          remote: connection.remote,
        },
      );
    }
    const failure = findFailure(operations, results, connection.remote);
    if (failure) throw failure;
    return results;
  }

  monitor(
    database: string,
    monitorId: unknown,
    requests: Record<string, unknown>,
  ): Promise<unknown> {
    return this.request("monitor", [database, monitorId, requests]);
  }

  monitorCond(
    database: string,
    monitorId: unknown,
    requests: Record<string, unknown>,
  ): Promise<unknown> {
    return this.request("monitor_cond", [database, monitorId, requests]);
  }

  /** Resolves with `[found, lastTransactionId, updates]`. */
  async monitorCondSince(
    database: string,
    monitorId: unknown,
    requests: Record<string, unknown>,
    lastTransactionId: string,
  ): Promise<[boolean, string, unknown]> {
    return (await this.request("monitor_cond_since", [
      database,
      monitorId,
      requests,
      lastTransactionId,
    ])) as [boolean, string, unknown];
  }

  monitorCondChange(
    monitorId: unknown,
    newMonitorId: unknown,
    requests: Record<string, unknown>,
  ): Promise<unknown> {
    return this.request("monitor_cond_change", [monitorId, newMonitorId, requests]);
  }

  monitorCancel(monitorId: unknown): Promise<unknown> {
    return this.request("monitor_cancel", [monitorId]);
  }

  /** Resolves with whether the lock was granted now (else a `locked` event follows). */
  async lock(name: string): Promise<boolean> {
    return ((await this.request("lock", [name])) as { locked: boolean }).locked;
  }

  async steal(name: string): Promise<boolean> {
    return ((await this.request("steal", [name])) as { locked: boolean }).locked;
  }

  async unlock(name: string): Promise<void> {
    await this.request("unlock", [name]);
  }

  async echo(...args: unknown[]): Promise<unknown[]> {
    return (await this.request("echo", args)) as unknown[];
  }

  async setDbChangeAware(aware = true): Promise<void> {
    await this.request("set_db_change_aware", [aware]);
  }

  // ---- typed API ---------------------------------------------------------------

  private boundDatabase(): string {
    if (this.database === undefined) {
      throw new OvsdbError(
        "OVSDB_SCHEMA",
        "open the client with { database } to use the typed API",
      );
    }
    return this.database;
  }

  /** Starts a typed transaction on `database`; nothing is sent until commit(). */
  transaction(options: RequestOptions = {}): Transaction<T> {
    const db = this.boundDatabase();
    return new Transaction<T>(
      this.schema,
      (operations) => this.transact(db, operations, options),
      (table) => this.codec(table),
    );
  }

  /** Reads rows matching `where` (all rows if empty), decoded. */
  async select<K extends TableName<T>, C extends ColumnOf<T[K]> = ColumnOf<T[K]>>(
    table: K,
    where: readonly Condition<T[K]>[] = [],
    columns?: readonly C[],
  ): Promise<Pick<T[K], C | ("_uuid" & keyof T[K])>[]> {
    const db = this.boundDatabase();
    const codec = this.codec(table);
    const op: Operation = {
      op: "select",
      table,
      where: encodeConditions(codec, where),
    };
    if (columns) op.columns = [...new Set(["_uuid", ...columns])];
    const [result] = await this.transact(db, [op]);
    return (result?.rows ?? []).map(
      (r) => codec.decodeRow(r) as unknown as Pick<T[K], C | ("_uuid" & keyof T[K])>,
    );
  }
}
