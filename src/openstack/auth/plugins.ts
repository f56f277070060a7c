/**
 * The auth plugin in force, chosen cluster-wide with `microovn config set
 * openstack-api.auth PLUGIN` and read from the state database's replica on
 * every request, so a change applies on every member at once without a
 * restart.
 */
import {
  AUTH_PLUGINS,
  OPENSTACK_API_AUTH,
  OPENSTACK_API_STATIC_TOKEN,
  type AuthPluginName,
} from "../../cluster/config-keys.js";
import type { Backend } from "../backend.js";
import { ApiError } from "../errors.js";
import { ADMIN_ROLE, effectiveRoles, type Authenticator, type Caller } from "./caller.js";
import { timingSafeEqual } from "node:crypto";

export const UNAUTHORIZED_MESSAGE = "The request you have made requires authentication.";

export function unauthorized(message = UNAUTHORIZED_MESSAGE): ApiError {
  return new ApiError(401, message, "Unauthorized");
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The plugin named in the cluster's settings (local when none is set). */
export function pluginName(backend: Backend): AuthPluginName {
  const value = backend.config(OPENSTACK_API_AUTH);
  return (AUTH_PLUGINS as readonly string[]).includes(value ?? "")
    ? (value as AuthPluginName)
    : "local";
}

/**
 * `static-token`: one shared token (oVirt's provider calls it the magic
 * token) stands for an administrator of the admin project.
 */
export class StaticTokenAuthenticator implements Authenticator {
  constructor(private readonly backend: Backend) {}

  async authenticate(token: string | undefined): Promise<Caller> {
    const expected = this.backend.config(OPENSTACK_API_STATIC_TOKEN);
    if (token === undefined || expected === undefined || !sameSecret(token, expected)) {
      throw unauthorized();
    }
    const project = this.backend.stateReplica.table("Identity_Project").lookup({ name: "admin" });
    return {
      userId: "static-token",
      userName: "static-token",
      projectId: project?.project_id,
      projectName: project?.name,
      roles: effectiveRoles([ADMIN_ROLE]),
    };
  }
}

/** Dispatches each request to the plugin in force at that moment. */
export class PluginAuthenticator implements Authenticator {
  private readonly plugins: Partial<Record<AuthPluginName, Authenticator>>;

  constructor(
    private readonly backend: Backend,
    plugins: Partial<Record<AuthPluginName, Authenticator>>,
  ) {
    this.plugins = { "static-token": new StaticTokenAuthenticator(backend), ...plugins };
  }

  authenticate(token: string | undefined): Promise<Caller> {
    const name = pluginName(this.backend);
    const plugin = this.plugins[name];
    if (!plugin) {
      return Promise.reject(
        new ApiError(503, `the auth plugin ${name} is not available on this server`),
      );
    }
    return plugin.authenticate(token);
  }
}
