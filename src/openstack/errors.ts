/**
 * The error bodies each API answers with, as its clients read them. The
 * OpenStack SDK prints `body.<any key>.message`, so both carry a message
 * that says what went wrong. Pure: no server here.
 */
import { STATUS_CODES } from "node:http";
import { Type, type Static, type TSchema } from "typebox";

export const NEUTRON_ERROR_ID = "NeutronError";
export const KEYSTONE_ERROR_ID = "KeystoneError";

/** Neutron's form: `{"NeutronError": {"type", "message", "detail"}}`. */
export const NeutronErrorSchema = Type.Object(
  {
    NeutronError: Type.Object({
      type: Type.String(),
      message: Type.String(),
      detail: Type.String(),
    }),
  },
  { $id: NEUTRON_ERROR_ID },
);
export type NeutronError = Static<typeof NeutronErrorSchema>;

/** Keystone's form: `{"error": {"code", "message", "title"}}`. */
export const KeystoneErrorSchema = Type.Object(
  {
    error: Type.Object({
      code: Type.Integer(),
      message: Type.String(),
      title: Type.String(),
    }),
  },
  { $id: KEYSTONE_ERROR_ID },
);
export type KeystoneError = Static<typeof KeystoneErrorSchema>;

/** "Method Not Allowed" for 405; "Error" for a code HTTP does not name. */
export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? "Error";
}

/**
 * Neutron names errors raised by its HTTP layer after webob's exception
 * classes: HTTPNotFound, HTTPMethodNotAllowed, HTTPBadRequest, …
 */
export function neutronError(status: number, message: string, type?: string): NeutronError {
  return {
    NeutronError: {
      type: type ?? `HTTP${statusTitle(status).replace(/[^A-Za-z]/g, "")}`,
      message,
      detail: "",
    },
  };
}

export function keystoneError(status: number, message: string): KeystoneError {
  return { error: { code: status, message, title: statusTitle(status) } };
}

/** What both APIs say for a path they do not serve, and for a method a path does not take. */
export const NOT_FOUND_MESSAGE = "The resource could not be found.";
export const METHOD_NOT_ALLOWED_MESSAGE = "The method is not allowed for the requested URL.";
/** The only thing a client learns of a fault of ours; the details go to the log. */
export const INTERNAL_ERROR_MESSAGE =
  "The server has either erred or is incapable of performing the requested operation.";

/**
 * An answer other than success, thrown by a route: its status, the message
 * the client shows, and for Neutron the error type (`NetworkNotFound`,
 * `IpAddressInUse`, …). `headers` go out with it (e.g. WWW-Authenticate).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** An API's error form: the body for a status and message, and its schema under its $id. */
export interface ErrorForm {
  body(status: number, message: string, type?: string): unknown;
  schema: TSchema;
  schemaId: string;
}

export const NEUTRON_ERRORS: ErrorForm = {
  body: neutronError,
  schema: NeutronErrorSchema,
  schemaId: NEUTRON_ERROR_ID,
};

export const KEYSTONE_ERRORS: ErrorForm = {
  body: (status, message) => keystoneError(status, message),
  schema: KeystoneErrorSchema,
  schemaId: KEYSTONE_ERROR_ID,
};
