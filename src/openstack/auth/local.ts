/**
 * The `local` auth plugin: users and roles of the cluster's identity store,
 * tokens signed with the state database's keys (tokens.ts). Issuing checks
 * a password (or an earlier token) and signs; validating checks signature
 * and expiry, then reads from the replica whether the token was revoked and
 * whether its user, project and roles still are, so that a deleted user, a
 * new password or a revoked role ends a token at once on every member.
 */
import {
  DEFAULT_TOKEN_EXPIRATION_S,
  OPENSTACK_API_TOKEN_EXPIRATION,
} from "../../cluster/config-keys.js";
import { hashPassword, verifyPassword } from "../../identity/password.js";
import {
  revokeToken,
  rotateTokenKeys,
  rotationDue,
  signingKey,
  tokenKey,
  type TokenKey,
} from "../../identity/token-keys.js";
import type { IdentityProject, IdentityUser } from "../../ovsdb/models/microovn.js";
import type { Backend } from "../backend.js";
import { effectiveRoles, type Authenticator, type Caller } from "./caller.js";
import { IdentityView } from "./identity-view.js";
import { unauthorized } from "./plugins.js";
import { newAuditId, signToken, TokenRejected, verifyToken, type TokenPayload } from "./tokens.js";

/** A new key signs once the current one is this old; the old one validates on. */
export const KEY_ROTATION_MS = 24 * 3600 * 1000;

/** A token whose payload checked out, with who it stands for now. */
export interface ValidToken {
  payload: TokenPayload;
  caller: Caller;
  user: IdentityUser;
  project: IdentityProject | undefined;
}

/**
 * Who a verified token stands for, read from the identity store as it is
 * now; throws TokenInvalid saying why it no longer stands for anyone.
 */
export function resolveToken(payload: TokenPayload, view: IdentityView): ValidToken {
  if (view.revoked(payload.aud)) throw new TokenInvalid("revoked");
  const user = view.user(payload.uid);
  if (!user || !user.enabled) throw new TokenInvalid("no such user, or disabled");
  if (payload.iat < user.password_changed_at) {
    throw new TokenInvalid("issued before the user's password changed");
  }
  let project: IdentityProject | undefined;
  let roles: string[] = [];
  if (payload.pid !== undefined) {
    project = view.project(payload.pid);
    if (!project || !project.enabled) throw new TokenInvalid("no such project, or disabled");
    roles = effectiveRoles(view.roleNames(user._uuid, project._uuid));
    if (roles.length === 0) throw new TokenInvalid("no role on the project any more");
  }
  return {
    payload,
    user,
    project,
    caller: {
      userId: user.user_id,
      userName: user.name,
      projectId: project?.project_id,
      projectName: project?.name,
      roles,
    },
  };
}

export class TokenInvalid extends Error {
  constructor(readonly why: string) {
    super(`token refused: ${why}`);
    this.name = "TokenInvalid";
  }
}

/** What a new token is for: a user, a project (none: unscoped), how the user got it. */
export interface TokenRequest {
  user: IdentityUser;
  project: IdentityProject | undefined;
  methods: string[];
  /** The token it is made from (token method): it expires no later and shares its audit chain. */
  parent?: TokenPayload;
}

export class LocalTokens implements Authenticator {
  readonly view: IdentityView;
  private rotating: Promise<TokenKey> | undefined;
  /** A hash to check passwords of unknown users against. */
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly log: (message: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.view = new IdentityView(backend.stateReplica);
  }

  /** openstack-api.token-expiration, in milliseconds. */
  lifetimeMs(): number {
    const set = Number(this.backend.config(OPENSTACK_API_TOKEN_EXPIRATION));
    return (Number.isSafeInteger(set) && set > 0 ? set : DEFAULT_TOKEN_EXPIRATION_S) * 1000;
  }

  /** The user with that name (or id) and password; undefined when either is wrong. */
  async checkPassword(
    who: { id?: string; name?: string },
    password: string,
  ): Promise<IdentityUser | undefined> {
    const user =
      who.id !== undefined
        ? this.view.user(who.id)
        : who.name !== undefined
          ? this.view.userByName(who.name)
          : undefined;
    // The same scrypt cost whether or not the user exists, so timing does not tell.
    this.decoy ??= hashPassword(newAuditId());
    const matches = await verifyPassword(password, user?.password_hash ?? (await this.decoy));
    return user && user.enabled && matches ? user : undefined;
  }

  async issue(request: TokenRequest): Promise<{ token: string; payload: TokenPayload }> {
    const key = await this.signingKey();
    const now = this.now();
    const exp = Math.min(now + this.lifetimeMs(), request.parent?.exp ?? Infinity);
    const payload: TokenPayload = {
      kid: key.id,
      uid: request.user.user_id,
      ...(request.project ? { pid: request.project.project_id } : {}),
      m: request.methods,
      iat: now,
      exp,
      // As Keystone: its own audit id, then that of the chain's first token.
      aud: [newAuditId(), ...(request.parent ? request.parent.aud.slice(-1) : [])],
    };
    return { token: signToken(payload, key), payload };
  }

  /** The token's payload and caller; throws ApiError 401 when it is not (or no longer) valid. */
  validate(token: string | undefined): ValidToken {
    if (token === undefined || token === "") throw unauthorized();
    try {
      const payload = verifyToken(token, (id) => this.view.tokenKey(id), this.now());
      return resolveToken(payload, this.view);
    } catch (e) {
      if (e instanceof TokenRejected || e instanceof TokenInvalid) {
        throw unauthorized("The request you have made requires authentication.");
      }
      throw e;
    }
  }

  async authenticate(token: string | undefined): Promise<Caller> {
    return Promise.resolve(this.validate(token).caller);
  }

  /** Revokes a token on every member (by its audit id), until it would have expired anyway. */
  async revoke(payload: TokenPayload): Promise<void> {
    await revokeToken(this.backend.state, payload.aud[0]!, payload.exp, this.now());
  }

  /**
   * The key to sign with, after adding a new one if the current one is due
   * for rotation (or there is none yet). Concurrent requests of this server
   * share one rotation; another server's rotation wins over ours.
   */
  private signingKey(): Promise<TokenKey> {
    const keys = this.view.tokenKeys();
    const current = signingKey(keys);
    if (current && !rotationDue(keys, this.now(), KEY_ROTATION_MS)) return Promise.resolve(current);
    this.rotating ??= this.rotate(keys).finally(() => (this.rotating = undefined));
    return this.rotating;
  }

  private async rotate(seen: TokenKey[]): Promise<TokenKey> {
    const won = await rotateTokenKeys(this.backend.state, seen, this.now(), this.lifetimeMs());
    if (won) this.log("token signing: a new key signs from now on");
    // Ours or the winner's: read it from the database, which the replica may not show yet.
    const rows = await this.backend.state.select("Identity_Token_Key");
    const key = signingKey(rows.map(tokenKey));
    if (!key) throw new Error("no token signing key after a rotation");
    return key;
  }
}
