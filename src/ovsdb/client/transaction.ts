/**
 * The typed transaction builder. It turns calls like
 * `txn.insert("Logical_Switch", { name: "sw0" })` into RFC 7047 operations,
 * encoding values with the schema, and reads the reply back. It does no I/O:
 * `commit()` hands the operations to the function the client gave it.
 */
import { OvsdbError, TransactionError } from "../errors.js";
import { getTable, type Atom, type DatabaseSchema } from "../schema/schema.js";
import { TableCodec, encodeKeySet, encodeValue, encodeAtom, type Row } from "../schema/codec.js";
import type {
  ArithmeticMutator,
  ConditionFunction,
  Operation,
  OperationResult,
  WireCondition,
  WireMutation,
} from "../wire/operations.js";
import type { WireRow } from "../wire/notation.js";

/** A database's tables, as generated models describe them: table name → row type. */
export type Tables = object;
/** The default when no generated model is given: any table, any column. */
export type AnyTables = Record<string, Record<string, unknown>>;
export type TableName<T extends Tables> = keyof T & string;
export type RowOf<T extends Tables, K extends TableName<T>> = T[K];
export type ColumnOf<R> = keyof R & string;

type ElementOf<V> = V extends readonly (infer E)[] ? E : V extends Map<infer K, unknown> ? K : V;

/** What may be written to a column of type V. */
export type Input<V> =
  V extends Map<infer K, infer W>
    ? ReadonlyMap<K, W> | (K extends string ? Readonly<Record<K, W>> : never)
    : V extends readonly (infer E)[]
      ? readonly E[]
      : V;

export type WritableRow<R> = {
  [C in keyof R as C extends "_uuid" | "_version" ? never : C]?: Input<R[C]>;
};

/** `[column, function, value]`; a set column also accepts one element for includes/excludes. */
export type Condition<R> =
  | {
      [C in ColumnOf<R>]: [
        C,
        ConditionFunction,
        Input<NonNullable<R[C]>> | ElementOf<R[C]> | undefined,
      ];
    }[ColumnOf<R>]
  | boolean;

export type Mutation<R> = {
  [C in ColumnOf<R>]:
    | [C, ArithmeticMutator, number]
    | [C, "insert", Input<NonNullable<R[C]>> | ElementOf<R[C]>]
    | [C, "delete", Input<NonNullable<R[C]>> | ElementOf<R[C]> | readonly ElementOf<R[C]>[]];
}[ColumnOf<R>];

export function encodeConditions(
  codec: TableCodec,
  where: readonly Condition<Record<string, unknown>>[],
): WireCondition[] {
  return where.map((c) => {
    if (typeof c === "boolean") return c;
    const [column, fn, value] = c;
    const type = codec.column(column).type;
    const where = `${codec.table.name}.${column} (condition ${fn})`;
    // includes/excludes and set equality take the column's full type; a lone
    // element is accepted as a one-element set by encodeValue.
    return [column, fn, encodeValue(where, type, value)];
  });
}

export function encodeMutations(
  codec: TableCodec,
  mutations: readonly Mutation<Record<string, unknown>>[],
): WireMutation[] {
  return mutations.map(([column, mutator, value]) => {
    const type = codec.column(column).type;
    const where = `${codec.table.name}.${column} (mutation ${mutator})`;
    if (mutator === "insert" || mutator === "delete") {
      const asSet = { ...type, min: 0, max: Infinity };
      if (
        type.value &&
        mutator === "delete" &&
        (Array.isArray(value) || typeof value !== "object")
      ) {
        return [column, mutator, encodeKeySet(where, asSet, value)];
      }
      return [column, mutator, encodeValue(where, asSet, value)];
    }
    // Arithmetic applies to every element; range and enum constraints do not apply.
    return [column, mutator, encodeAtom(where, { type: type.key.type }, value)];
  });
}

export interface WaitOptions<R> {
  where: readonly Condition<R>[];
  columns: readonly ColumnOf<R>[];
  until: "==" | "!=";
  rows: readonly WritableRow<R>[];
  /**
   * How long the server may hold the transaction for the rows to become as
   * expected. Default 0: an optimistic check that fails at once. (RFC 7047
   * waits forever when the timeout is left out; pass Infinity for that.)
   */
  timeoutMs?: number;
}

interface Step {
  table?: string;
  op: Operation["op"];
  columns?: readonly string[];
}

export type Committer = (operations: Operation[]) => Promise<(OperationResult | null)[]>;

export class Transaction<T extends Tables = AnyTables> {
  private readonly operations: Operation[] = [];
  private readonly steps: Step[] = [];
  private readonly codecs = new Map<string, TableCodec>();
  private nameCounter = 0;
  private committed = false;

  constructor(
    readonly schema: DatabaseSchema,
    private readonly committer: Committer,
    private readonly codecCache?: (table: string) => TableCodec,
  ) {}

  private codec(table: string): TableCodec {
    if (this.codecCache) return this.codecCache(table);
    let c = this.codecs.get(table);
    if (!c) {
      c = new TableCodec(getTable(this.schema, table));
      this.codecs.set(table, c);
    }
    return c;
  }

  private refuseIfCommitted(): void {
    if (this.committed) {
      throw new OvsdbError(
        "OVSDB_CLOSED",
        "this transaction was already committed; start a new one",
      );
    }
  }

  private add(op: Operation, step: Step): number {
    this.refuseIfCommitted();
    this.operations.push(op);
    this.steps.push(step);
    return this.operations.length - 1;
  }

  /** Number of operations so far. */
  get size(): number {
    return this.operations.length;
  }

  /**
   * Drops the operations added after the first `size`, for a caller that
   * built part of a transaction and gave that part up. Their uuid-names go
   * with them (names are never handed out twice).
   */
  rollbackTo(size: number): void {
    this.refuseIfCommitted();
    if (!Number.isInteger(size) || size < 0 || size > this.operations.length) {
      throw new RangeError(`rollbackTo(${size}): the transaction has ${this.size} operations`);
    }
    this.operations.length = size;
    this.steps.length = size;
  }

  /**
   * Inserts a row and returns its uuid-name, which later operations of this
   * transaction may use wherever a uuid goes (references and `_uuid`
   * conditions). Pass `uuid` to choose the new row's UUID yourself.
   */
  insert<K extends TableName<T>>(
    table: K,
    row: WritableRow<T[K]>,
    options: { uuidName?: string; uuid?: string } = {},
  ): string {
    const name = options.uuidName ?? `row${++this.nameCounter}`;
    const op: Operation = {
      op: "insert",
      table,
      row: this.codec(table).encodeRow(row),
      "uuid-name": name,
    };
    if (options.uuid) op.uuid = options.uuid;
    this.add(op, { table, op: "insert" });
    return name;
  }

  update<K extends TableName<T>>(
    table: K,
    where: readonly Condition<T[K]>[],
    row: WritableRow<T[K]>,
  ): number {
    const codec = this.codec(table);
    return this.add(
      {
        op: "update",
        table,
        where: encodeConditions(codec, where),
        row: codec.encodeRow(row),
      },
      { table, op: "update" },
    );
  }

  mutate<K extends TableName<T>>(
    table: K,
    where: readonly Condition<T[K]>[],
    mutations: readonly Mutation<T[K]>[],
  ): number {
    const codec = this.codec(table);
    return this.add(
      {
        op: "mutate",
        table,
        where: encodeConditions(codec, where),
        mutations: encodeMutations(codec, mutations),
      },
      { table, op: "mutate" },
    );
  }

  delete<K extends TableName<T>>(table: K, where: readonly Condition<T[K]>[]): number {
    return this.add(
      {
        op: "delete",
        table,
        where: encodeConditions(this.codec(table), where),
      },
      { table, op: "delete" },
    );
  }

  select<K extends TableName<T>>(
    table: K,
    where: readonly Condition<T[K]>[],
    columns?: readonly ColumnOf<T[K]>[],
  ): number {
    const op: Operation = {
      op: "select",
      table,
      where: encodeConditions(this.codec(table), where),
    };
    if (columns) op.columns = [...columns];
    return this.add(op, columns ? { table, op: "select", columns } : { table, op: "select" });
  }

  /**
   * An optimistic check: the transaction fails unless the rows still look
   * as expected (or come to within `timeoutMs`).
   */
  wait<K extends TableName<T>>(table: K, options: WaitOptions<T[K]>): number {
    const codec = this.codec(table);
    const op: Operation = {
      op: "wait",
      table,
      where: encodeConditions(codec, options.where),
      columns: [...options.columns],
      until: options.until,
      rows: options.rows.map((r) => codec.encodeRow(r as Record<string, unknown>)),
    };
    const timeout = options.timeoutMs ?? 0;
    if (timeout !== Infinity) op.timeout = timeout;
    return this.add(op, { table, op: "wait" });
  }

  comment(text: string): number {
    return this.add({ op: "comment", comment: text }, { op: "comment" });
  }

  assert(lock: string): number {
    return this.add({ op: "assert", lock }, { op: "assert" });
  }

  /** Makes the whole transaction fail with "aborted" (useful for dry runs). */
  abort(): number {
    return this.add({ op: "abort" }, { op: "abort" });
  }

  /** Waits until the change is durable on disk before the reply. */
  durable(): number {
    return this.add({ op: "commit", durable: true }, { op: "commit" });
  }

  /** The raw operations, for inspection or for sending by other means. */
  toOperations(): readonly Operation[] {
    return this.operations;
  }

  async commit(): Promise<TransactionResult> {
    this.refuseIfCommitted();
    this.committed = true;
    if (this.operations.length === 0)
      return new TransactionResult([], [], new Map(), () => undefined);
    // The committer throws a TransactionError naming any failed operation.
    const results = await this.committer(this.operations);
    const names = new Map<string, string>();
    results.forEach((r, i) => {
      const op = this.operations[i];
      if (op?.op === "insert" && r?.uuid) names.set(op["uuid-name"]!, r.uuid[1]);
    });
    return new TransactionResult(results, this.steps, names, (t) => this.codec(t));
  }
}

/** Finds the first failed operation, or a failure after all of them (the commit). */
export function findFailure(
  operations: readonly { op: string }[],
  results: readonly (OperationResult | null)[],
  remote?: string,
): TransactionError | undefined {
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r && typeof r.error === "string") {
      return new TransactionError({
        operationIndex: i,
        operation: i < operations.length ? operations[i]!.op : "commit",
        serverError: r.error,
        ...(r.details === undefined ? {} : { serverDetails: r.details }),
        ...(remote === undefined ? {} : { remote }),
        results,
      });
    }
  }
  return undefined;
}

export class TransactionResult {
  constructor(
    readonly results: readonly (OperationResult | null)[],
    private readonly steps: readonly Step[],
    private readonly names: ReadonlyMap<string, string>,
    private readonly codec: (table: string) => TableCodec | undefined,
  ) {}

  /** The UUID the server gave the row inserted under `uuidName`. */
  uuid(uuidName: string): string {
    const u = this.names.get(uuidName);
    if (u === undefined) {
      throw new OvsdbError(
        "OVSDB_SCHEMA",
        `no row was inserted as "${uuidName}" in this transaction`,
      );
    }
    return u;
  }

  /** Rows matched by update, mutate, delete. */
  count(index: number): number {
    return this.results[index]?.count ?? 0;
  }

  /** Decoded rows returned by a select. */
  rows<R = Row>(index: number): R[] {
    const step = this.steps[index];
    const rows = this.results[index]?.rows ?? [];
    const codec = step?.table ? this.codec(step.table) : undefined;
    if (!codec) return rows as R[];
    return rows.map((r: WireRow) => codec.decodeRow(r) as R);
  }
}

export type { Atom };
