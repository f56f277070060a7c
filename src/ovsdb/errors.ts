/**
 * Typed errors of the OVSDB client. Every one carries a stable `code`, and
 * where they apply the JSON-RPC method, the remote it went to, and the error
 * string and details the server gave.
 */
import { MicroOvnError } from "../errors.js";

export type OvsdbErrorCode =
  /** The server answered the request with a JSON-RPC error. */
  | "OVSDB_RPC_ERROR"
  /** A transaction reached the server; one of its operations (or the commit) failed. */
  | "OVSDB_TRANSACTION_FAILED"
  /** The connection was lost (a sent request other than transact gets this too). */
  | "OVSDB_DISCONNECTED"
  /** A transaction was sent but the connection closed before the reply: it may or may not have committed. */
  | "OVSDB_OUTCOME_UNKNOWN"
  /** No usable server could be reached within the allowed time. */
  | "OVSDB_NOT_CONNECTED"
  /** The caller aborted the request; a `cancel` was sent to the server. */
  | "OVSDB_CANCELLED"
  | "OVSDB_TIMEOUT"
  /** The peer broke the protocol (invalid JSON, oversized message, unknown reply id). */
  | "OVSDB_PROTOCOL"
  /** A table, column or value does not fit the schema. */
  | "OVSDB_SCHEMA"
  /** The server lacks a feature the call needs (e.g. conditions on a server without monitor_cond). */
  | "OVSDB_UNSUPPORTED"
  /** A remote string could not be understood. */
  | "OVSDB_BAD_REMOTE"
  | "OVSDB_CLOSED";

export interface OvsdbErrorDetails {
  method?: string;
  remote?: string;
  /** The server's error string, e.g. "constraint violation". */
  serverError?: string;
  serverDetails?: string;
  cause?: unknown;
}

export class OvsdbError extends MicroOvnError {
  declare readonly code: OvsdbErrorCode;
  readonly method: string | undefined;
  readonly remote: string | undefined;
  readonly serverError: string | undefined;
  readonly serverDetails: string | undefined;

  constructor(code: OvsdbErrorCode, message: string, details: OvsdbErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.method = details.method;
    this.remote = details.remote;
    this.serverError = details.serverError;
    this.serverDetails = details.serverDetails;
  }
}

/** One failed operation of a transaction, named by its index and op. */
export class TransactionError extends OvsdbError {
  /** Index into the operations sent; equal to their count for a commit-time failure. */
  readonly operationIndex: number;
  /** The op name ("insert", "wait", …) or "commit" for a failure after all operations. */
  readonly operation: string;
  /** Every result the server returned, for callers that want the rest. */
  readonly results: readonly unknown[];

  constructor(args: {
    operationIndex: number;
    operation: string;
    serverError: string;
    serverDetails?: string;
    remote?: string;
    results: readonly unknown[];
  }) {
    const where =
      args.operation === "commit"
        ? "the commit"
        : `operation ${args.operationIndex} (${args.operation})`;
    const details = args.serverDetails ? `: ${args.serverDetails}` : "";
    super(
      "OVSDB_TRANSACTION_FAILED",
      `transaction failed at ${where}: ${args.serverError}${details}`,
      {
        method: "transact",
        remote: args.remote,
        serverError: args.serverError,
        serverDetails: args.serverDetails,
      },
    );
    this.operationIndex = args.operationIndex;
    this.operation = args.operation;
    this.results = args.results;
  }
}
