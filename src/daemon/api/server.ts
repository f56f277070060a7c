/**
 * The control API: HTTP with JSON bodies on DIR/control.socket (mode 0600,
 * so only root talks to it), versioned paths under /1.0/. A MicroOvnError
 * becomes {"error": {"code", "message"}} with status 400; anything else is a
 * 500 with the message.
 */
import { chmod, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { MicroOvnError } from "../../errors.js";

export const API_VERSION = "1.0";
const MAX_BODY_BYTES = 1 << 20;

export interface ApiRequest {
  params: Record<string, string>;
  body: Record<string, unknown>;
  query: URLSearchParams;
}

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Under /1.0, with :name placeholders, e.g. "/services/:name/enable". */
  path: string;
  handler: (request: ApiRequest) => Promise<unknown>;
  /** Runs after the response has been sent (e.g. the daemon exiting). */
  after?: () => void;
}

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

export class ControlServer {
  private readonly routes: CompiledRoute[];
  private readonly server: Server;

  constructor(routes: readonly Route[]) {
    this.routes = routes.map(compile);
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://control.socket");
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
    try {
      const body = await readBody(req);
      const result = await route.handler({ params, body, query: url.searchParams });
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

  async listen(socketPath: string): Promise<void> {
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      // Created with no access for others, then made explicit.
      const umask = process.umask(0o177);
      this.server.listen(socketPath, () => {
        process.umask(umask);
        this.server.off("error", reject);
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
