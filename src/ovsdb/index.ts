/**
 * The OVSDB client (RFC 7047): wire format in wire/, schemas and value codec
 * in schema/, connections, transactions and the reconnecting client in
 * client/, the in-memory replica in replica/, generated table types in
 * models/. See docs/ovsdb.md.
 */
export {
  OvsdbClient,
  type ClientOptions,
  type ClientEvents,
  type BackoffOptions,
} from "./client/client.js";
export {
  Connection,
  type ConnectionOptions,
  type RequestOptions,
  type TlsFiles,
} from "./client/connection.js";
export { parseRemote, parseRemotes, formatRemote, type Remote } from "./client/remote.js";
export {
  Transaction,
  TransactionResult,
  type AnyTables,
  type Condition,
  type Mutation,
  type Tables,
  type WritableRow,
} from "./client/transaction.js";
export {
  Replica,
  ReplicaTable,
  type RowChange,
  type Selection,
  type TableSelection,
  type MonitorMethod,
} from "./replica/replica.js";
export { OvsdbError, TransactionError, type OvsdbErrorCode } from "./errors.js";
export {
  parseSchema,
  type DatabaseSchema,
  type TableSchema,
  type ColumnSchema,
  type ColumnType,
} from "./schema/schema.js";
export type { Operation, OperationResult } from "./wire/operations.js";
