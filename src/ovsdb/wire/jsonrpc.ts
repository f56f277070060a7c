/**
 * JSON-RPC 1.0 as OVSDB uses it (RFC 7047 §4): requests carry an id,
 * notifications carry `"id": null`, responses carry `result` and `error`
 * (one of them null). This module only classifies and builds messages.
 */
import { FramingError } from "./framing.js";

export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  kind: "request";
  method: string;
  params: unknown[];
  id: JsonRpcId;
}

export interface JsonRpcNotification {
  kind: "notification";
  method: string;
  params: unknown[];
}

export interface JsonRpcResponse {
  kind: "response";
  id: JsonRpcId;
  result: unknown;
  /** Non-null when the server refused the whole request. */
  error: unknown;
}

export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Turns a parsed JSON value into a typed message, or throws a FramingError. */
export function classifyMessage(value: unknown): JsonRpcMessage {
  if (!isObject(value)) {
    throw new FramingError("the server sent a JSON value that is not a JSON-RPC object");
  }
  const { id } = value;
  if (typeof value.method === "string") {
    const params = Array.isArray(value.params) ? (value.params as unknown[]) : [];
    if (id === null || id === undefined) {
      return { kind: "notification", method: value.method, params };
    }
    if (typeof id !== "string" && typeof id !== "number") {
      throw new FramingError(`the server sent a request with an unusable id ${JSON.stringify(id)}`);
    }
    return { kind: "request", method: value.method, params, id };
  }
  if ("result" in value || "error" in value) {
    if (typeof id !== "string" && typeof id !== "number") {
      throw new FramingError(
        `the server sent a response with an unusable id ${JSON.stringify(id)}`,
      );
    }
    return { kind: "response", id, result: value.result ?? null, error: value.error ?? null };
  }
  throw new FramingError("the server sent a JSON object that is neither request nor response");
}

export function encodeRequest(method: string, params: unknown[], id: JsonRpcId): string {
  return JSON.stringify({ method, params, id });
}

export function encodeResponse(id: JsonRpcId, result: unknown, error: unknown = null): string {
  return JSON.stringify({ id, result, error });
}
