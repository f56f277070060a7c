/**
 * Schema-aware conversion between wire notation and the values this client
 * hands out: scalars as JS primitives, uuids as strings, optional columns as
 * `T | undefined`, sets as arrays, maps as `Map`. A string written to a uuid
 * column that is not a UUID is taken as a named-uuid (a row inserted earlier
 * in the same transaction).
 *
 * Decoders are compiled once per column so that decoding a large monitor
 * reply does no per-value type dispatch beyond one closure call.
 */
import { OvsdbError } from "../errors.js";
import {
  isNamedUuid,
  isUuid,
  type WireAtom,
  type WireRow,
  type WireValue,
} from "../wire/notation.js";
import {
  columnShape,
  getColumn,
  type Atom,
  type BaseType,
  type ColumnSchema,
  type ColumnType,
  type TableSchema,
} from "./schema.js";

/** A decoded column value. */
export type Value = Atom | undefined | Atom[] | Map<Atom, Atom>;
/** What callers may write into a map column. */
export type MapInput<K extends Atom = Atom, V extends Atom = Atom> =
  ReadonlyMap<K, V> | (K extends string ? Readonly<Record<K, V>> : never);

function badValue(where: string, expected: string, got: unknown): never {
  const shown = JSON.stringify(got, (_k, v: unknown): unknown =>
    v instanceof Map ? (Object.fromEntries(v) as unknown) : v,
  );
  throw new OvsdbError(
    "OVSDB_SCHEMA",
    `${where}: expected ${expected}, got ${shown === undefined ? String(got) : shown}`,
  );
}

export function encodeAtom(where: string, base: BaseType, value: unknown): WireAtom {
  switch (base.type) {
    case "string":
      if (typeof value !== "string") badValue(where, "a string", value);
      return value;
    case "integer":
      if (typeof value !== "number" || !Number.isInteger(value)) {
        badValue(where, "an integer", value);
      }
      return value;
    case "real":
      if (typeof value !== "number" || !Number.isFinite(value)) badValue(where, "a number", value);
      return value;
    case "boolean":
      if (typeof value !== "boolean") badValue(where, "a boolean", value);
      return value;
    case "uuid":
      if (typeof value === "string") {
        if (isUuid(value)) return ["uuid", value];
        if (isNamedUuid(value)) return ["named-uuid", value];
      }
      return badValue(where, "a UUID or the name of a row inserted in this transaction", value);
  }
}

function decodeAtom(base: BaseType): (atom: WireAtom) => Atom {
  if (base.type === "uuid") return (atom) => (atom as [string, string])[1];
  return (atom) => atom as Atom;
}

function encodeSetOf(where: string, base: BaseType, value: unknown): WireValue {
  if (value === undefined || value === null) return ["set", []];
  if (Array.isArray(value) || value instanceof Set) {
    const atoms: WireAtom[] = [];
    for (const v of value as Iterable<unknown>) atoms.push(encodeAtom(where, base, v));
    return ["set", atoms];
  }
  // A single atom stands for a one-element set.
  return encodeAtom(where, base, value);
}

function mapEntries(where: string, value: unknown): Iterable<[unknown, unknown]> {
  if (value instanceof Map) return value as Map<unknown, unknown>;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return Object.entries(value);
  }
  return badValue(where, "a Map or an object", value);
}

/** Encodes a value of the column's full type (insert, update, `==` conditions). */
export function encodeValue(where: string, type: ColumnType, value: unknown): WireValue {
  const shape = columnShape(type);
  if (shape === "scalar") return encodeAtom(where, type.key, value);
  if (shape === "map") {
    const valueType = type.value!;
    const pairs: [WireAtom, WireAtom][] = [];
    for (const [k, v] of mapEntries(where, value)) {
      pairs.push([
        encodeAtom(`${where} key`, type.key, k),
        encodeAtom(`${where} value`, valueType, v),
      ]);
    }
    return ["map", pairs];
  }
  return encodeSetOf(where, type.key, value);
}

/** Encodes keys only, for a map `delete` mutation given a list of keys. */
export function encodeKeySet(where: string, type: ColumnType, keys: unknown): WireValue {
  return encodeSetOf(where, type.key, keys);
}

export type Decoder = (wire: WireValue) => Value;

/** Compiles the decoder for one column type. */
export function compileDecoder(type: ColumnType): Decoder {
  const atom = decodeAtom(type.key);
  switch (columnShape(type)) {
    case "scalar":
      return type.key.type === "uuid" ? (w) => (w as [string, string])[1] : (w) => w as Atom;
    case "optional":
      return (w) => {
        if (Array.isArray(w) && w[0] === "set") {
          const atoms = w[1];
          return atoms.length === 0 ? undefined : atom(atoms[0]!);
        }
        return atom(w as WireAtom);
      };
    case "set":
      if (type.key.type !== "uuid") {
        // Atoms other than uuids arrive as they are: keep the parsed array.
        return (w) => (Array.isArray(w) && w[0] === "set" ? (w[1] as Atom[]) : [w as Atom]);
      }
      return (w) => {
        if (Array.isArray(w) && w[0] === "set") {
          const atoms = w[1];
          const out = new Array<Atom>(atoms.length);
          for (let i = 0; i < atoms.length; i++) out[i] = atom(atoms[i]!);
          return out;
        }
        return [atom(w as WireAtom)];
      };
    case "map": {
      const value = decodeAtom(type.value!);
      return (w) => {
        const pairs = (w as [string, [WireAtom, WireAtom][]])[1];
        const out = new Map<Atom, Atom>();
        for (let i = 0; i < pairs.length; i++) {
          const pair = pairs[i]!;
          out.set(atom(pair[0]), value(pair[1]));
        }
        return out;
      };
    }
  }
}

/** The default value a column has when a row omits it (RFC 7047 §5.2.1). */
export function defaultValue(type: ColumnType): Value {
  switch (columnShape(type)) {
    case "optional":
      return undefined;
    case "set":
      return [];
    case "map":
      return new Map();
    case "scalar":
      switch (type.key.type) {
        case "integer":
        case "real":
          return 0;
        case "boolean":
          return false;
        case "string":
          return "";
        case "uuid":
          return "00000000-0000-0000-0000-000000000000";
      }
  }
}

export type Row = Record<string, Value>;

/** Compiled decoders for a table, reused for every row of that table. */
export class TableCodec {
  readonly table: TableSchema;
  private readonly decoders = new Map<string, Decoder>();

  constructor(table: TableSchema) {
    this.table = table;
    for (const column of table.columns.values()) {
      this.decoders.set(column.name, compileDecoder(column.type));
    }
  }

  column(name: string): ColumnSchema {
    return getColumn(this.table, name);
  }

  decoder(name: string): Decoder {
    // Every column has a decoder, so a miss is an unknown column, which column() reports.
    return this.decoders.get(name) ?? compileDecoder(this.column(name).type);
  }

  /** Decodes the columns present in a wire row into `into` (or a new object). */
  decodeRow(wire: WireRow, into: Row = {}): Row {
    for (const name in wire) {
      const d = this.decoders.get(name);
      // Columns unknown to our schema copy (a newer server) are skipped.
      if (d) into[name] = d(wire[name]!);
    }
    return into;
  }

  /**
   * The part of `row` that this table's schema has columns for. A program
   * newer than the server's schema may know columns the server lacks: they
   * cannot be written (encodeRow refuses them) until the database is
   * converted, and a row written without them is one every older member
   * reads.
   */
  knownColumns<R extends object>(row: R): Partial<R> {
    const out: Partial<R> = {};
    for (const name of Object.keys(row) as (keyof R & string)[]) {
      if (this.table.columns.has(name)) out[name] = row[name];
    }
    return out;
  }

  /** Encodes a partial row for insert or update. */
  encodeRow(row: Record<string, unknown>): WireRow {
    const out: WireRow = {};
    for (const name in row) {
      const v = row[name];
      if (v === undefined && columnShape(this.column(name).type) !== "optional") continue;
      out[name] = encodeValue(`${this.table.name}.${name}`, this.column(name).type, v);
    }
    return out;
  }
}
