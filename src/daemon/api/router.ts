/**
 * HTTP with JSON bodies and versioned paths (/1.0/…), shared by the control
 * API (unix socket) and the member API (mutual TLS). A MicroOvnError becomes
 * {"error": {"code", "message"}} with status 400 (403 for a refused peer);
 * anything else is a 500 with the message.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { MicroOvnError } from "../../errors.js";
import { callerAddress } from "../../util/address.js";

export const API_VERSION = "1.0";
const MAX_BODY_BYTES = 1 << 20;

/** Who is calling over the member API: from its verified client certificate. */
export interface Peer {
  /** The member name (the certificate's CN). */
  name: string;
  /** SHA-256 of the certificate (DER), lowercase hex. */
  fingerprint: string;
}

export interface ApiRequest {
  params: Record<string, string>;
  body: Record<string, unknown>;
  query: URLSearchParams;
  /** Set on the member API when the caller showed a valid certificate. */
  peer?: Peer;
  /** The caller's IP address (member API; the control socket has none). */
  remote?: string;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Under /1.0, with :name placeholders, e.g. "/services/:name/enable". */
  path: string;
  handler: (request: ApiRequest) => Promise<unknown>;
  /** Runs after the response has been sent (e.g. the daemon exiting). */
  after?: () => void;
  /** Member API only: callable without a member certificate (joining). */
  public?: boolean;
}

/** Decides whether a request may reach its route; throws to refuse it. */
export type Guard = (route: Route, req: IncomingMessage) => Promise<Peer | undefined>;

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = `/${API_VERSION}${route.path}`
    .split("/")
    .map((part) => {
      if (!part.startsWith(":")) return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      names.push(part.slice(1));
      return "([^/]+)";
    })
    .join("/");
  return { ...route, pattern: new RegExp(`^${source}$`), names };
}

function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new MicroOvnError("BAD_REQUEST", "request body too large"));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on("end", () => {
      if (chunks.length === 0) return resolve({});
      try {
        const body: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (typeof body !== "object" || body === null || Array.isArray(body)) {
          throw new Error("not an object");
        }
        resolve(body as Record<string, unknown>);
      } catch (e) {
        reject(new MicroOvnError("BAD_REQUEST", `request body is not a JSON object: ${String(e)}`));
      }
    });
    req.on("error", reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export class Router {
  private readonly routes: CompiledRoute[];

  constructor(
    routes: readonly Route[],
    private readonly guard?: Guard,
  ) {
    this.routes = routes.map(compile);
  }

  async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://microovn");
    const candidates = this.routes.filter((r) => r.pattern.test(url.pathname));
    const route = candidates.find((r) => r.method === req.method);
    if (!route) {
      const status = candidates.length > 0 ? 405 : 404;
      send(res, status, {
        error: {
          code: "NOT_FOUND",
          message: `no ${req.method} ${url.pathname} in API ${API_VERSION}`,
        },
      });
      return;
    }
    const match = route.pattern.exec(url.pathname)!;
    const params: Record<string, string> = {};
    route.names.forEach((n, i) => (params[n] = decodeURIComponent(match[i + 1] ?? "")));
    let peer: Peer | undefined;
    try {
      peer = await this.guard?.(route, req);
    } catch (e) {
      const refusal = e instanceof MicroOvnError ? e : new MicroOvnError("FORBIDDEN", String(e));
      send(res, 403, { error: { code: refusal.code, message: refusal.message } });
      req.resume();
      return;
    }
    try {
      const body = await readBody(req);
      const request: ApiRequest = { params, body, query: url.searchParams };
      if (peer) request.peer = peer;
      if (req.socket.remoteAddress) request.remote = callerAddress(req.socket.remoteAddress);
      const result = await route.handler(request);
      send(res, 200, result ?? {});
      if (route.after) res.once("finish", route.after);
    } catch (e) {
      if (e instanceof MicroOvnError) {
        send(res, 400, { error: { code: e.code, message: e.message } });
      } else {
        send(res, 500, { error: { code: "INTERNAL", message: (e as Error).message } });
      }
    }
  }
}
