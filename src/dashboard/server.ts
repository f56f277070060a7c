/**
 * The dashboard's routes (fastify, fed by the HTTPS server of
 * dashboard.ts): the page and its bundled script and style (built into
 * dist/web/ by `npm run build`; no other origin is ever asked for
 * anything), login and logout, and the data the page reads —
 * the cluster view, the topology and their live stream — to logged-in
 * sessions only. Every answer carries a strict Content-Security-Policy (no
 * inline script) and data is never cached.
 */
import cookie from "@fastify/cookie";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { ClusterView, Topology } from "./view-types.js";
import type { LiveHub } from "./live.js";
import type { SecurityEvent } from "../security/security-log.js";
import {
  ABSOLUTE_LIMIT_MS,
  SESSION_COOKIE,
  type FailureLimiter,
  type IdentityCheck,
  type Session,
  type SessionStore,
} from "./sessions.js";

/** Where `npm run build` puts the page, its script and its style. */
export const WEB_DIR = fileURLToPath(new URL("../web/", import.meta.url));

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const ASSETS: Record<string, string> = {
  "/": "index.html",
  "/dashboard.js": "dashboard.js",
  "/dashboard.css": "dashboard.css",
};
const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

export interface DashboardServerOptions {
  sessions: SessionStore;
  identity: IdentityCheck;
  /** Whether the identity store has been read (logins wait for it). */
  identityReady(): boolean;
  limiter: FailureLimiter;
  hub: LiveHub;
  clusterView(): Promise<ClusterView>;
  topology(): Promise<Topology>;
  record(event: SecurityEvent): void;
}

/** The routes; the member's HTTPS server (dashboard.ts) hands them its requests. */
export type DashboardApp = FastifyInstance;

async function loadAssets(): Promise<Map<string, Buffer>> {
  const assets = new Map<string, Buffer>();
  for (const [path, file] of Object.entries(ASSETS)) {
    try {
      assets.set(path, await readFile(`${WEB_DIR}${file}`));
    } catch {
      // Run from the sources without a build: the page says what to do.
    }
  }
  return assets;
}

export async function buildDashboardApp(o: DashboardServerOptions): Promise<DashboardApp> {
  const assets = await loadAssets();
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });
  await app.register(cookie);

  app.addHook("onSend", async (_request, reply) => {
    reply.header("content-security-policy", CSP);
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("strict-transport-security", "max-age=31536000");
    reply.header("cross-origin-opener-policy", "same-origin");
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
  });

  for (const [path, file] of Object.entries(ASSETS)) {
    app.get(path, async (_request, reply) => {
      const body = assets.get(path);
      if (!body) {
        return reply
          .code(503)
          .type("text/plain")
          .send("The dashboard's page is not built: run `npm run build`, then restart microovnd.");
      }
      return reply
        .type(TYPES[file.split(".").pop()!]!)
        .header("cache-control", "no-cache")
        .send(body);
    });
  }

  const session = (request: FastifyRequest): Session | undefined =>
    o.sessions.touch(request.cookies[SESSION_COOKIE]);
  /** The session, or a 401 sent and undefined. */
  const requireSession = (request: FastifyRequest, reply: FastifyReply): Session | undefined => {
    const s = session(request);
    if (!s) {
      void reply.code(401).send({ error: "not logged in: log in again" });
    }
    return s;
  };

  app.post<{ Body: { user?: unknown; password?: unknown } }>(
    "/api/login",
    {
      schema: {
        body: {
          type: "object",
          required: ["user", "password"],
          properties: {
            user: { type: "string", minLength: 1, maxLength: 64 },
            password: { type: "string", minLength: 1, maxLength: 4096 },
          },
        },
      },
    },
    async (request, reply) => {
      const user = String(request.body.user);
      const remote = request.ip;
      const keys = [`ip:${remote}`, `user:${user}`];
      const wait = o.limiter.retryAfter(keys);
      if (wait > 0) {
        o.record({
          event: "dashboard.login",
          outcome: "failure",
          user,
          remote,
          reason: "rate limited",
        });
        return reply
          .code(429)
          .header("retry-after", String(wait))
          .send({ error: `too many failed logins: try again in ${wait} s` });
      }
      if (!o.identityReady()) {
        return reply
          .code(503)
          .header("retry-after", "2")
          .send({ error: "the identity store has not been read yet: try again in a moment" });
      }
      const result = await o.identity.login(user, String(request.body.password));
      if (!result.ok) {
        o.limiter.fail(keys);
        o.record({
          event: "dashboard.login",
          outcome: "failure",
          user,
          remote,
          reason: result.reason,
        });
        return reply.code(401).send({
          error:
            result.reason === "bad credentials"
              ? "wrong user name or password"
              : "this user holds no role on the admin project: an administrator can give one with " +
                `\`microovn user grant ${user} --project admin --role reader\``,
        });
      }
      const s = o.sessions.create(result.user, result.roles);
      o.record({
        event: "dashboard.login",
        outcome: "success",
        user: result.user,
        remote,
        // The strongest role it holds on the admin project.
        role: ["admin", "member", "reader"].find((r) => result.roles.includes(r)),
      });
      return reply
        .setCookie(SESSION_COOKIE, s.id, {
          path: "/",
          httpOnly: true,
          secure: true,
          sameSite: "strict",
          maxAge: ABSOLUTE_LIMIT_MS / 1000,
        })
        .send({ user: result.user, roles: result.roles });
    },
  );

  app.post("/api/logout", async (request, reply) => {
    const ended = o.sessions.end(request.cookies[SESSION_COOKIE]);
    if (ended) {
      o.hub.endSession(ended.id);
      o.record({
        event: "dashboard.logout",
        outcome: "success",
        user: ended.user,
        remote: request.ip,
      });
    }
    return reply.clearCookie(SESSION_COOKIE, { path: "/" }).code(204).send();
  });

  app.get("/api/session", async (request, reply) => {
    const s = requireSession(request, reply);
    return s && { user: s.user, roles: s.roles };
  });

  app.get("/api/cluster", async (request, reply) => {
    const s = requireSession(request, reply);
    return s && o.clusterView();
  });

  app.get("/api/topology", async (request, reply) => {
    const s = requireSession(request, reply);
    return s && o.topology();
  });

  app.get("/api/events", async (request, reply) => {
    const s = requireSession(request, reply);
    if (!s) return reply;
    reply.hijack();
    o.hub.add(reply.raw, s.id);
    return reply;
  });

  await app.ready();
  return app;
}
