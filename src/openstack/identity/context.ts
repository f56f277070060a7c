/**
 * What every Identity route shares: the backend, the plugin in force, the
 * local tokens, who the caller is (from X-Auth-Token, through the plugin),
 * Keystone's default policy (administration is for admins), and how the
 * identity store's refusals become Keystone's answers.
 */
import type { FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { MicroOvnError } from "../../errors.js";
import { DEFAULT_DOMAIN } from "../../identity/names.js";
import { isAdmin, type Authenticator, type Caller } from "../auth/caller.js";
import type { LocalTokens } from "../auth/local.js";
import type { OvirtAuthenticator } from "../auth/ovirt.js";
import type { Backend } from "../backend.js";
import { ApiError } from "../errors.js";

export interface IdentityContext {
  backend: Backend;
  /** The plugin in force (openstack-api.auth): checks X-Auth-Token. */
  auth: Authenticator;
  /** The local plugin's tokens: issued here for password and token methods. */
  tokens: LocalTokens;
  /** oVirt engine's SSO, which issues v2.0 tokens while the ovirt plugin is in force. */
  ovirt: OvirtAuthenticator;
  /** The member address, for the catalog's endpoints. */
  address: string;
  log: (message: string) => void;
}

export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The caller of a request, from its X-Auth-Token; ApiError 401 without a valid one. */
export function callerOf(context: IdentityContext, request: FastifyRequest): Promise<Caller> {
  return context.auth.authenticate(header(request, "x-auth-token"));
}

export function forbidden(): ApiError {
  return new ApiError(
    403,
    "You are not authorized to perform the requested action: it needs the admin role.",
    "Forbidden",
  );
}

/** The caller, if it holds the admin role (Keystone's default policy for administration). */
export async function adminOf(context: IdentityContext, request: FastifyRequest): Promise<Caller> {
  const caller = await callerOf(context, request);
  if (!isAdmin(caller)) throw forbidden();
  return caller;
}

export function notFound(kind: string, id: string): ApiError {
  return new ApiError(404, `Could not find ${kind}: ${id}.`, "NotFound");
}

const STATUS_OF_CODE: Record<string, number> = {
  UNKNOWN_USER: 404,
  UNKNOWN_PROJECT: 404,
  UNKNOWN_ROLE: 404,
  USER_EXISTS: 409,
  PROJECT_EXISTS: 409,
  PROJECT_IN_USE: 409,
  LAST_ADMIN: 409,
  BAD_NAME: 400,
  BAD_REQUEST: 400,
  EMPTY_PASSWORD: 400,
  PASSWORD_TOO_LONG: 400,
  STATE_DB_SCHEMA_TOO_OLD: 503,
};

/**
 * Runs a change through the identity store (the rules the CLI obeys hold
 * here too), its refusals answered as Keystone answers them.
 */
export async function storeChange<R>(change: () => Promise<R>): Promise<R> {
  try {
    return await change();
  } catch (e) {
    if (e instanceof MicroOvnError && STATUS_OF_CODE[e.code] !== undefined) {
      throw new ApiError(STATUS_OF_CODE[e.code]!, e.message);
    }
    throw e;
  }
}

/** A path naming a user, project or role by id. */
export const ById = Type.Object({ id: Type.String() });

/** The filters Keystone's user and project lists take. */
export const ListQuery = Type.Object({
  name: Type.Optional(Type.String()),
  domain_id: Type.Optional(Type.String()),
  enabled: Type.Optional(Type.String()),
});

/** Rows that pass a list's filters (all in the Default domain), by name. */
export function listed<R extends { name: string; enabled: boolean }>(
  rows: R[],
  query: Static<typeof ListQuery>,
): R[] {
  const { name, domain_id, enabled } = query;
  return rows
    .filter((r) => name === undefined || r.name === name)
    .filter(() => domain_id === undefined || domain_id === DEFAULT_DOMAIN)
    .filter((r) => enabled === undefined || String(r.enabled) === enabled.toLowerCase())
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The caller, if it is an admin or `own` says the resource is its own. */
export async function adminOr(
  context: IdentityContext,
  request: FastifyRequest,
  own: (caller: Caller) => boolean,
): Promise<Caller> {
  const caller = await callerOf(context, request);
  if (!isAdmin(caller) && !own(caller)) throw forbidden();
  return caller;
}
