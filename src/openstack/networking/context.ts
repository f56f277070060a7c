/**
 * What every Networking route set is given, and the caller of a request.
 * Apart from api.ts so that resource files (listed there) import it without
 * importing api.ts back.
 */
import type { FastifyRequest } from "fastify";
import type { Authenticator, Caller } from "../auth/caller.js";
import type { Backend } from "../backend.js";
import type { ApiApp } from "../http.js";

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

/**
 * A resource's route set, registered under /v2.0 in a scope whose request
 * validation is Neutron's (validation.ts); `baseUrl` is the port's own
 * URL, for the links of paged lists.
 */
export type ResourceRoutes = (app: ApiApp, context: NetworkingContext, baseUrl: string) => void;
