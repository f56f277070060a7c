/**
 * Transaction operations and results on the wire (RFC 7047 §5.2, plus the
 * optional `uuid` of insert that ovsdb-server accepts since OVS 2.14).
 */
import type { WireRow, WireUuid, WireValue } from "./notation.js";

export type ConditionFunction = "==" | "!=" | "<" | "<=" | ">" | ">=" | "includes" | "excludes";
export type ArithmeticMutator = "+=" | "-=" | "*=" | "/=" | "%=";
export type Mutator = ArithmeticMutator | "insert" | "delete";

export type WireCondition = [string, ConditionFunction, WireValue] | boolean;
export type WireMutation = [string, Mutator, WireValue];

export type Operation =
  | { op: "insert"; table: string; row: WireRow; "uuid-name"?: string; uuid?: string }
  | { op: "select"; table: string; where: WireCondition[]; columns?: string[] }
  | { op: "update"; table: string; where: WireCondition[]; row: WireRow }
  | { op: "mutate"; table: string; where: WireCondition[]; mutations: WireMutation[] }
  | { op: "delete"; table: string; where: WireCondition[] }
  | {
      op: "wait";
      table: string;
      where: WireCondition[];
      columns: string[];
      until: "==" | "!=";
      rows: WireRow[];
      timeout?: number;
    }
  | { op: "commit"; durable: boolean }
  | { op: "abort" }
  | { op: "comment"; comment: string }
  | { op: "assert"; lock: string };

/** One element of a transact reply; null for operations never reached. */
export interface OperationResult {
  uuid?: WireUuid;
  rows?: WireRow[];
  count?: number;
  error?: string;
  details?: string;
}
