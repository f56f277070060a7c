/**
 * The service's own HTTPS requests, to the systems some auth plugins hand
 * tokens to (oVirt engine's SSO, an external Keystone): JSON answers, a CA
 * file of the operator's choosing, a deadline. Plain HTTP only where the
 * setting allowed it (Keystone on loopback).
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Backend } from "../backend.js";
import { ApiError } from "../errors.js";

export interface OutboundRequest {
  url: string;
  method: "GET" | "POST";
  headers?: Record<string, string>;
  /** Sent as is (a form or JSON text, with its content-type in headers). */
  body?: string;
  /** A PEM file of the CA(s) the server's certificate must chain to; the system's when absent. */
  caFile?: string;
  timeoutMs?: number;
}

export interface OutboundAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined when the body was not JSON. */
  json: unknown;
}

export async function callOut(options: OutboundRequest): Promise<OutboundAnswer> {
  const url = new URL(options.url);
  const ca = options.caFile ? await readFile(options.caFile) : undefined;
  const send = url.protocol === "http:" ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method,
        headers: { accept: "application/json", ...options.headers },
        ...(ca ? { ca } : {}),
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url.origin} did not answer in time`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A small cache of answers by key, each kept until its own deadline. */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();

  constructor(private readonly maxEntries = 1000) {}

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.until > now) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, until: number): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, until });
  }
}

/** Where a plugin's outside service is (its URL and CA file settings); 503 while the URL is unset. */
export function serviceSettings(
  backend: Backend,
  plugin: string,
  urlKey: string,
  caKey: string,
): { url: string; caFile?: string } {
  const url = backend.config(urlKey);
  if (url === undefined) {
    throw new ApiError(
      503,
      `the ${plugin} auth plugin has nobody to ask: set \`microovn config set ${urlKey} URL\``,
    );
  }
  const caFile = backend.config(caKey);
  return { url, ...(caFile ? { caFile } : {}) };
}

/** callOut, answering 503 (and logging why) when the service cannot be reached. */
export function askService(
  name: string,
  options: OutboundRequest,
  log: (message: string) => void,
): Promise<OutboundAnswer> {
  return callOut(options).catch((e: unknown) => {
    log(`${name} not reachable at ${new URL(options.url).origin}: ${(e as Error).message}`);
    throw new ApiError(503, `${name} did not answer; try again later.`);
  });
}
