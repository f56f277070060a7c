/**
 * The Networking API (Neutron v2.0): its version documents without a token,
 * everything under /v2.0 for a caller whose token checks out. Each resource
 * registers its own routes (networks.ts, subnets.ts, …).
 */
import type { FastifyRequest } from "fastify";
import type { Authenticator, Caller } from "../auth/caller.js";
import type { Backend } from "../backend.js";
import { ApiError, NEUTRON_ERRORS } from "../errors.js";
import { baseUrl, type ApiApp, type ApiDefinition } from "../http.js";
import { IDENTITY_PORTS } from "../service.js";
import { NETWORKING_VERSION_ROUTES } from "./versions.js";

export interface NetworkingContext {
  backend: Backend;
  auth: Authenticator;
  /** The member address, for the Identity URL named to callers without a token. */
  address: string;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set for every /v2.0 request once its token is checked. */
    caller?: Caller;
  }
}

/** The caller of a /v2.0 request (the auth hook has run). */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error(`no caller for ${request.method} ${request.url}`);
  return request.caller;
}

/** Resource route sets, each registering its routes under /v2.0. */
export type ResourceRoutes = (app: ApiApp, context: NetworkingContext) => void;

const RESOURCES: readonly ResourceRoutes[] = [];

export function networkingApi(context: NetworkingContext): ApiDefinition {
  const identityUrl = baseUrl(context.address, IDENTITY_PORTS[0]);
  return {
    title: "Networking",
    errors: NEUTRON_ERRORS,
    routes: [...NETWORKING_VERSION_ROUTES],
    register(app) {
      app.addHook("onRequest", async (request) => {
        // The version documents answer anyone; resources need a token.
        const path = request.url.split("?", 1)[0]!;
        if (!path.startsWith("/v2.0/") || path === "/v2.0/") return;
        try {
          request.caller = await context.auth.authenticate(
            request.headers["x-auth-token"] as string | undefined,
          );
        } catch (e) {
          // Keystone-aware clients learn where to get a token.
          if (e instanceof ApiError && e.status === 401) {
            throw new ApiError(401, e.message, e.type, {
              ...e.headers,
              "www-authenticate": `Keystone uri="${identityUrl}"`,
            });
          }
          throw e;
        }
      });
      for (const resource of RESOURCES) resource(app, context);
    },
  };
}
