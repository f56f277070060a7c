/**
 * The `ovirt` auth plugin (oVirt engine's SSO, as ovirt-provider-ovn uses
 * it): a v2.0 password token request is passed to the engine's password
 * grant (`/ovirt-engine/sso/oauth/token`) and the engine's access token is
 * the token; each request's token is checked with the engine's token info
 * (`/ovirt-engine/sso/oauth/token-info`, with this API's SSO client id and
 * secret), the answer kept briefly. A token is admitted, as an
 * administrator of the admin project, when its user is the configured user
 * name, or belongs to the configured group, or holds the configured role.
 */
import {
  OPENSTACK_API_OVIRT_ADMIN_GROUP,
  OPENSTACK_API_OVIRT_ADMIN_ROLE,
  OPENSTACK_API_OVIRT_ADMIN_USER,
  OPENSTACK_API_OVIRT_CA_FILE,
  OPENSTACK_API_OVIRT_CLIENT_ID,
  OPENSTACK_API_OVIRT_CLIENT_SECRET,
  OPENSTACK_API_OVIRT_URL,
} from "../../cluster/config-keys.js";
import type { Backend } from "../backend.js";
import { ApiError } from "../errors.js";
import { ADMIN_ROLE, effectiveRoles, type Authenticator, type Caller } from "./caller.js";
import { askService, ExpiringCache, serviceSettings } from "./outbound.js";
import { pluginName, unauthorized } from "./plugins.js";

export const SSO_TOKEN_PATH = "/ovirt-engine/sso/oauth/token";
export const SSO_TOKEN_INFO_PATH = "/ovirt-engine/sso/oauth/token-info";
/** The scope ovirt-provider-ovn asks the engine for. */
export const SSO_SCOPE = "ovirt-app-api";
/** How long a token-info answer is trusted before the engine is asked again. */
const INFO_CACHE_MS = 30_000;

/** What the engine's token info tells about a token, as far as admission reads it. */
export interface TokenInfo {
  active?: boolean;
  user_id?: string;
  /** Expiry, milliseconds since the epoch (the engine sends a number or a numeric string). */
  exp?: number | string;
  ovirt?: { group_ids?: string[]; groups?: string[]; roles?: string[] };
}

export interface Admission {
  userName?: string;
  group?: string;
  role?: string;
}

/** Whether the token info's user is admitted: by name, by group (name or id), or by role. */
export function admitted(info: TokenInfo, rule: Admission): boolean {
  if (info.active === false || info.user_id === undefined) return false;
  const groups = [...(info.ovirt?.groups ?? []), ...(info.ovirt?.group_ids ?? [])];
  return (
    (rule.userName !== undefined && info.user_id === rule.userName) ||
    (rule.group !== undefined && groups.includes(rule.group)) ||
    (rule.role !== undefined && (info.ovirt?.roles ?? []).includes(rule.role))
  );
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

export class OvirtAuthenticator implements Authenticator {
  private readonly cache = new ExpiringCache<TokenInfo>();

  constructor(
    private readonly backend: Backend,
    private readonly log: (message: string) => void,
  ) {}

  /** Whether this plugin is the one in force. */
  active(): boolean {
    return pluginName(this.backend) === "ovirt";
  }

  private engine(): { url: string; caFile?: string } {
    return serviceSettings(
      this.backend,
      "ovirt",
      OPENSTACK_API_OVIRT_URL,
      OPENSTACK_API_OVIRT_CA_FILE,
    );
  }

  /** A password grant at the engine's SSO: its access token and when it expires (ms). */
  async passwordToken(
    username: string,
    password: string,
  ): Promise<{ token: string; expires: number }> {
    const { url, caFile } = this.engine();
    const answer = await askService(
      "oVirt engine's SSO",
      {
        url: `${url}${SSO_TOKEN_PATH}`,
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form({ grant_type: "password", scope: SSO_SCOPE, username, password }),
        ...(caFile ? { caFile } : {}),
      },
      this.log,
    );
    const body = answer.json as { access_token?: string; exp?: number | string } | undefined;
    if (answer.status !== 200 || typeof body?.access_token !== "string") {
      this.log(`ovirt: engine SSO refused a password for ${username} (HTTP ${answer.status})`);
      throw unauthorized();
    }
    const exp = Number(body.exp);
    return {
      token: body.access_token,
      expires: Number.isFinite(exp) && exp > 0 ? exp : Date.now() + 3600_000,
    };
  }

  private async tokenInfo(token: string): Promise<TokenInfo> {
    const now = Date.now();
    const cached = this.cache.get(token, now);
    if (cached) return cached;
    const { url, caFile } = this.engine();
    const id = this.backend.config(OPENSTACK_API_OVIRT_CLIENT_ID) ?? "";
    const secret = this.backend.config(OPENSTACK_API_OVIRT_CLIENT_SECRET) ?? "";
    const answer = await askService(
      "oVirt engine's SSO",
      {
        url: `${url}${SSO_TOKEN_INFO_PATH}`,
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`,
        },
        body: form({ token }),
        ...(caFile ? { caFile } : {}),
      },
      this.log,
    );
    const info = (answer.status === 200 ? answer.json : undefined) as TokenInfo | undefined;
    if (!info || info.active !== true) throw unauthorized();
    const exp = Number(info.exp);
    this.cache.set(
      token,
      info,
      Math.min(now + INFO_CACHE_MS, Number.isFinite(exp) && exp > 0 ? exp : Infinity),
    );
    return info;
  }

  async authenticate(token: string | undefined): Promise<Caller> {
    if (token === undefined || token === "") throw unauthorized();
    const info = await this.tokenInfo(token);
    const rule: Admission = {};
    const userName = this.backend.config(OPENSTACK_API_OVIRT_ADMIN_USER);
    const group = this.backend.config(OPENSTACK_API_OVIRT_ADMIN_GROUP);
    const role = this.backend.config(OPENSTACK_API_OVIRT_ADMIN_ROLE);
    if (userName !== undefined) rule.userName = userName;
    if (group !== undefined) rule.group = group;
    if (role !== undefined) rule.role = role;
    if (!admitted(info, rule)) {
      this.log(
        `ovirt: ${info.user_id ?? "a token"} is not admitted (not the admin user, group or role)`,
      );
      throw new ApiError(
        403,
        "You are not authorized to use this API: ask for the admin user, group or role of oVirt.",
        "Forbidden",
      );
    }
    const project = this.backend.stateReplica.table("Identity_Project").lookup({ name: "admin" });
    return {
      userId: info.user_id!,
      userName: info.user_id!,
      projectId: project?.project_id,
      projectName: project?.name,
      roles: effectiveRoles([ADMIN_ROLE]),
    };
  }
}
