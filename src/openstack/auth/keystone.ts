/**
 * The `keystone` plugin: an external Keystone v3 checks every token. The
 * token validates itself (`GET /v3/auth/tokens` with it as both X-Auth-Token
 * and X-Subject-Token: Keystone's default policy lets a token's owner check
 * it), so this API needs no service account there. An answer is kept for
 * at most 30 s and never past the token's expiry, so a token revoked in
 * Keystone stops working here within that time.
 */
import {
  OPENSTACK_API_KEYSTONE_CA_FILE,
  OPENSTACK_API_KEYSTONE_URL,
} from "../../cluster/config-keys.js";
import type { Backend } from "../backend.js";
import { ApiError } from "../errors.js";
import { effectiveRoles, type Authenticator, type Caller } from "./caller.js";
import { askService, ExpiringCache, serviceSettings } from "./outbound.js";
import { unauthorized } from "./plugins.js";

const CACHE_MS = 30_000;

/** The part of Keystone's token body a caller is made of. */
export interface KeystoneToken {
  expires_at?: string;
  user?: { id?: string; name?: string };
  project?: { id?: string; name?: string };
  roles?: { name?: string }[];
}

/** The caller a validated Keystone token stands for; undefined when the body lacks a user. */
export function callerOfKeystoneToken(token: KeystoneToken): Caller | undefined {
  if (typeof token.user?.id !== "string") return undefined;
  return {
    userId: token.user.id,
    userName: token.user.name ?? token.user.id,
    projectId: token.project?.id,
    projectName: token.project?.name,
    roles: effectiveRoles(
      (token.roles ?? []).map((r) => r.name).filter((n): n is string => typeof n === "string"),
    ),
  };
}

/** Keystone's v3 token URL from the configured URL (with or without /v3). */
export function tokensUrl(configured: string): string {
  return `${configured.replace(/\/+$/, "").replace(/\/v3$/, "")}/v3/auth/tokens?nocatalog`;
}

export class KeystoneAuthenticator implements Authenticator {
  private readonly cache = new ExpiringCache<Caller>();

  constructor(
    private readonly backend: Backend,
    private readonly log: (message: string) => void,
  ) {}

  async authenticate(token: string | undefined): Promise<Caller> {
    if (token === undefined || token === "") throw unauthorized();
    const now = Date.now();
    const cached = this.cache.get(token, now);
    if (cached) return cached;
    const { url, caFile } = serviceSettings(
      this.backend,
      "keystone",
      OPENSTACK_API_KEYSTONE_URL,
      OPENSTACK_API_KEYSTONE_CA_FILE,
    );
    const answer = await askService(
      "Keystone",
      {
        url: tokensUrl(url),
        method: "GET",
        headers: { "x-auth-token": token, "x-subject-token": token },
        ...(caFile ? { caFile } : {}),
      },
      this.log,
    );
    if (answer.status === 401 || answer.status === 403 || answer.status === 404) {
      throw unauthorized();
    }
    const body = (answer.json as { token?: KeystoneToken } | undefined)?.token;
    const caller = answer.status === 200 && body ? callerOfKeystoneToken(body) : undefined;
    if (!caller) {
      this.log(`keystone: unexpected answer ${answer.status} from ${url}`);
      throw new ApiError(503, "Keystone's answer could not be read; see the service's log.");
    }
    const expires = Date.parse(body?.expires_at ?? "");
    this.cache.set(
      token,
      caller,
      Math.min(now + CACHE_MS, Number.isNaN(expires) ? Infinity : expires),
    );
    return caller;
  }
}
