/**
 * Database schemas (RFC 7047 §3.2): parsed from `.ovsschema` JSON or from a
 * `get_schema` reply into a normalised form where every column type has an
 * explicit key, optional value, min and max. Pure; no I/O.
 */
import { OvsdbError } from "../errors.js";

export type AtomicType = "integer" | "real" | "boolean" | "string" | "uuid";
export type Atom = string | number | boolean;

export interface BaseType {
  readonly type: AtomicType;
  readonly enum?: readonly Atom[];
  readonly minInteger?: number;
  readonly maxInteger?: number;
  readonly minReal?: number;
  readonly maxReal?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly refTable?: string;
  readonly refType?: "strong" | "weak";
}

export interface ColumnType {
  readonly key: BaseType;
  readonly value?: BaseType;
  readonly min: number;
  /** `Infinity` stands for "unlimited". */
  readonly max: number;
}

export interface ColumnSchema {
  readonly name: string;
  readonly type: ColumnType;
  readonly ephemeral: boolean;
  readonly mutable: boolean;
}

export interface TableSchema {
  readonly name: string;
  readonly columns: ReadonlyMap<string, ColumnSchema>;
  readonly indexes: readonly (readonly string[])[];
  readonly isRoot: boolean;
  readonly maxRows?: number;
}

export interface DatabaseSchema {
  readonly name: string;
  readonly version: string;
  readonly cksum?: string;
  readonly tables: ReadonlyMap<string, TableSchema>;
}

/** How a column's values look in rows this client hands out. */
export type ColumnShape = "scalar" | "optional" | "set" | "map";

export function columnShape(type: ColumnType): ColumnShape {
  if (type.value) return "map";
  if (type.min === 1 && type.max === 1) return "scalar";
  if (type.min === 0 && type.max === 1) return "optional";
  return "set";
}

const ATOMIC_TYPES = new Set<string>(["integer", "real", "boolean", "string", "uuid"]);

/** Every table has these two, though schemas do not list them. */
const IMPLICIT_COLUMNS: readonly ColumnSchema[] = [
  {
    name: "_uuid",
    type: { key: { type: "uuid" }, min: 1, max: 1 },
    ephemeral: false,
    mutable: false,
  },
  {
    name: "_version",
    type: { key: { type: "uuid" }, min: 1, max: 1 },
    ephemeral: false,
    mutable: false,
  },
];

function fail(where: string, what: string): never {
  throw new OvsdbError("OVSDB_SCHEMA", `invalid schema at ${where}: ${what}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseEnum(where: string, raw: unknown): Atom[] {
  // Either a single atom or ["set", [atoms…]].
  if (Array.isArray(raw)) {
    if (raw[0] !== "set" || !Array.isArray(raw[1])) fail(where, "enum must be an atom or a set");
    return raw[1] as Atom[];
  }
  if (typeof raw === "string" || typeof raw === "number" || typeof raw === "boolean") return [raw];
  return fail(where, "enum must be an atom or a set");
}

function optionalNumber(
  where: string,
  obj: Record<string, unknown>,
  key: string,
): number | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== "number") fail(where, `${key} must be a number`);
  return v;
}

function parseBaseType(where: string, raw: unknown): BaseType {
  if (typeof raw === "string") {
    if (!ATOMIC_TYPES.has(raw)) fail(where, `unknown atomic type "${raw}"`);
    return { type: raw as AtomicType };
  }
  if (!isRecord(raw) || typeof raw.type !== "string" || !ATOMIC_TYPES.has(raw.type)) {
    return fail(where, 'a base type needs an atomic "type"');
  }
  const base: {
    -readonly [K in keyof BaseType]: BaseType[K];
  } = { type: raw.type as AtomicType };
  if (raw.enum !== undefined) base.enum = parseEnum(where, raw.enum);
  base.minInteger = optionalNumber(where, raw, "minInteger");
  base.maxInteger = optionalNumber(where, raw, "maxInteger");
  base.minReal = optionalNumber(where, raw, "minReal");
  base.maxReal = optionalNumber(where, raw, "maxReal");
  base.minLength = optionalNumber(where, raw, "minLength");
  base.maxLength = optionalNumber(where, raw, "maxLength");
  if (raw.refTable !== undefined) {
    if (typeof raw.refTable !== "string") fail(where, "refTable must be a string");
    base.refTable = raw.refTable;
    base.refType = raw.refType === "weak" ? "weak" : "strong";
  }
  for (const k of Object.keys(base) as (keyof BaseType)[]) {
    if (base[k] === undefined) delete base[k];
  }
  return base;
}

export function parseColumnType(where: string, raw: unknown): ColumnType {
  if (typeof raw === "string") return { key: parseBaseType(where, raw), min: 1, max: 1 };
  if (!isRecord(raw)) return fail(where, "a column type must be a string or an object");
  const key = parseBaseType(`${where}.key`, raw.key);
  const value = raw.value === undefined ? undefined : parseBaseType(`${where}.value`, raw.value);
  const min = raw.min === undefined ? 1 : raw.min;
  const max = raw.max === undefined ? 1 : raw.max === "unlimited" ? Infinity : raw.max;
  if (typeof min !== "number" || min < 0 || min > 1) fail(where, "min must be 0 or 1");
  if (typeof max !== "number" || max < 1)
    fail(where, 'max must be a positive integer or "unlimited"');
  return value ? { key, value, min, max } : { key, min, max };
}

/** Parses a schema from its JSON form (a `.ovsschema` file or a get_schema reply). */
export function parseSchema(raw: unknown): DatabaseSchema {
  if (!isRecord(raw)) return fail("top level", "a schema is a JSON object");
  if (typeof raw.name !== "string") fail("top level", 'missing "name"');
  if (typeof raw.version !== "string") fail(raw.name, 'missing "version"');
  if (!isRecord(raw.tables)) fail(raw.name, 'missing "tables"');
  const tables = new Map<string, TableSchema>();
  for (const [tableName, tableRaw] of Object.entries(raw.tables)) {
    if (!isRecord(tableRaw) || !isRecord(tableRaw.columns)) {
      fail(tableName, 'a table needs "columns"');
    }
    const columns = new Map<string, ColumnSchema>();
    for (const c of IMPLICIT_COLUMNS) columns.set(c.name, c);
    for (const [columnName, columnRaw] of Object.entries(tableRaw.columns)) {
      const where = `${tableName}.${columnName}`;
      if (!isRecord(columnRaw)) fail(where, "a column is an object");
      columns.set(columnName, {
        name: columnName,
        type: parseColumnType(where, columnRaw.type),
        ephemeral: columnRaw.ephemeral === true,
        mutable: columnRaw.mutable !== false,
      });
    }
    const indexes = Array.isArray(tableRaw.indexes) ? (tableRaw.indexes as string[][]) : [];
    for (const index of indexes) {
      for (const col of index) {
        if (!columns.has(col)) fail(tableName, `index names unknown column "${col}"`);
      }
    }
    const table: TableSchema = {
      name: tableName,
      columns,
      indexes,
      isRoot: tableRaw.isRoot === true,
      ...(typeof tableRaw.maxRows === "number" ? { maxRows: tableRaw.maxRows } : {}),
    };
    tables.set(tableName, table);
  }
  return {
    name: raw.name,
    version: raw.version,
    ...(typeof raw.cksum === "string" ? { cksum: raw.cksum } : {}),
    tables,
  };
}

export function getTable(schema: DatabaseSchema, table: string): TableSchema {
  const t = schema.tables.get(table);
  if (!t) {
    throw new OvsdbError(
      "OVSDB_SCHEMA",
      `database ${schema.name} has no table "${table}" (schema version ${schema.version})`,
    );
  }
  return t;
}

export function getColumn(table: TableSchema, column: string): ColumnSchema {
  const c = table.columns.get(column);
  if (!c) throw new OvsdbError("OVSDB_SCHEMA", `table ${table.name} has no column "${column}"`);
  return c;
}
