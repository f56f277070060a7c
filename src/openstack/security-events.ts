/**
 * What the OpenStack API tells the member's security log: every token asked
 * of the Identity API (issued or refused, with the user name and the
 * caller's address) and every other request refused with 401 or 403. Taken
 * from each answer as it is sent (http.ts's onSend hook), so no route has to
 * remember to record, and the token itself — in a header of the answer — is
 * never seen here.
 *
 * The service runs apart from microovnd but writes the same file: its
 * settings file lives in DIR/data/, which names the state dir. It follows
 * the cluster-wide `security-log` setting from its own replica of the
 * Config table, line by line; microovnd records the switch itself.
 */
import { dirname } from "node:path";
import { SECURITY_LOG } from "../cluster/config-keys.js";
import { StateDir } from "../member/state-dir.js";
import {
  recordSecurityEvent,
  setSecurityLogEnabled,
  type SecurityEvent,
} from "../security/security-log.js";
import { securityLogWanted } from "../security/switch.js";
import type { Backend } from "./backend.js";
import { callerAddress } from "../util/address.js";

export type SecurityRecorder = (e: SecurityEvent) => void;

/** A recorder for the member whose settings file is `settingsPath` (DIR/data/openstack-api.json). */
export function openstackSecurityLog(settingsPath: string, backend: Backend): SecurityRecorder {
  const state = new StateDir(dirname(dirname(settingsPath)));
  return (e) => {
    try {
      setSecurityLogEnabled(state, securityLogWanted(backend.config(SECURITY_LOG)));
    } catch {
      // The replica is between connections (the cluster's members changed): the last value holds.
    }
    recordSecurityEvent(state, e);
  };
}

/** Where tokens are asked for (v3 and v2.0), without a trailing slash. */
const LOGIN_PATHS = new Set(["/v3/auth/tokens", "/v2.0/tokens"]);

function pathOf(url: string): string {
  return url.split("?")[0]!.replace(/\/+$/, "") || "/";
}

/** The user a token request names, and how it authenticates; never the password. */
function loginOf(body: unknown): { user?: string; method?: string } {
  const auth = (body as { auth?: Record<string, unknown> } | undefined)?.auth;
  if (typeof auth !== "object" || auth === null) return {};
  const identity = auth.identity as
    { methods?: unknown; password?: { user?: { name?: unknown; id?: unknown } } } | undefined;
  if (identity) {
    const given = identity.password?.user;
    const user = typeof given?.name === "string" ? given.name : given?.id;
    const methods = Array.isArray(identity.methods) ? identity.methods.join(",") : undefined;
    return {
      ...(typeof user === "string" ? { user } : {}),
      ...(methods ? { method: methods } : {}),
    };
  }
  const v2 = auth.passwordCredentials as { username?: unknown } | undefined;
  if (typeof v2?.username === "string") return { user: v2.username, method: "password" };
  return auth.token !== undefined ? { method: "token" } : {};
}

/**
 * The event an answer makes, if any: a token request (issued or refused),
 * or another request refused with 401 or 403.
 */
export function authOutcome(
  request: { method: string; url: string; ip: string | undefined; body?: unknown },
  status: number,
): SecurityEvent | undefined {
  const path = pathOf(request.url);
  const remote = request.ip !== undefined ? callerAddress(request.ip) : undefined;
  if (request.method === "POST" && LOGIN_PATHS.has(path)) {
    const outcome = status >= 200 && status < 300 ? "success" : "failure";
    return { event: "openstack.login", outcome, ...loginOf(request.body), remote, status };
  }
  if (status !== 401 && status !== 403) return undefined;
  return {
    event: "openstack.refused",
    outcome: "failure",
    remote,
    method: request.method,
    path,
    status,
  };
}
