/**
 * Logging in to the dashboard: users of the cluster's identity store
 * (`microovn user …`) holding a role on the `admin` project, the project
 * whose roles reach the whole cloud, as the dashboard shows the whole
 * cluster (every project's switches and routers). Any role will do, since
 * each implies `reader` and the dashboard only reads.
 *
 * Sessions live in this daemon's memory: a random id in a cookie, ended by
 * logging out, by an idle or an absolute limit, or by a daemon restart
 * (the browser is then asked to log in again). Failed logins are counted
 * per source address and per user name; past the limit, logins answer 429
 * until the window has passed.
 */
import { randomBytes } from "node:crypto";
import { hashPassword, verifyPassword } from "../identity/password.js";
import { ADMIN } from "../identity/store.js";
import { effectiveRoles, READER_ROLE } from "../openstack/auth/caller.js";
import { IdentityView, type IdentityTables } from "../openstack/auth/identity-view.js";

export const SESSION_COOKIE = "microovn_dashboard";
export const IDLE_LIMIT_MS = 30 * 60 * 1000;
export const ABSOLUTE_LIMIT_MS = 12 * 60 * 60 * 1000;
/** Failures allowed per source address, and per user name, within the window. */
export const MAX_FAILURES = 5;
export const FAILURE_WINDOW_MS = 5 * 60 * 1000;

export interface Session {
  id: string;
  user: string;
  roles: string[];
  createdAt: number;
  lastSeen: number;
}

export type LoginResult =
  | { ok: true; user: string; roles: string[] }
  | { ok: false; reason: "bad credentials" | "no role on the admin project" };

/**
 * Checks a user name and password against the identity store. The same
 * scrypt work is done for unknown users, so timing does not tell which
 * names exist.
 */
export class IdentityCheck {
  private readonly view: IdentityView;
  private decoy: Promise<string> | undefined;

  constructor(tables: IdentityTables) {
    this.view = new IdentityView(tables);
  }

  async login(name: string, password: string): Promise<LoginResult> {
    const user = this.view.userByName(name);
    this.decoy ??= hashPassword(randomBytes(16).toString("hex"));
    const matches = await verifyPassword(password, user?.password_hash ?? (await this.decoy));
    if (!user || !user.enabled || !matches) return { ok: false, reason: "bad credentials" };
    const roles = this.rolesOf(user.name);
    if (!roles.includes(READER_ROLE)) return { ok: false, reason: "no role on the admin project" };
    return { ok: true, user: user.name, roles };
  }

  /** Effective roles of `name` on the admin project now (none for a deleted or disabled user). */
  rolesOf(name: string): string[] {
    const user = this.view.userByName(name);
    const project = this.view.projectByName(ADMIN);
    if (!user || !user.enabled || !project || !project.enabled) return [];
    return effectiveRoles(this.view.roleNames(user._uuid, project._uuid));
  }
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly now: () => number = Date.now) {}

  create(user: string, roles: string[]): Session {
    const at = this.now();
    const session = {
      id: randomBytes(32).toString("base64url"),
      user,
      roles,
      createdAt: at,
      lastSeen: at,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id (its idle clock restarted), or undefined. */
  touch(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const at = this.now();
    if (at - s.lastSeen > IDLE_LIMIT_MS || at - s.createdAt > ABSOLUTE_LIMIT_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastSeen = at;
    return s;
  }

  end(id: string | undefined): Session | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    this.sessions.delete(id);
    return s;
  }

  /** Ends every session of a user who may no longer log in. */
  endWhere(stillAllowed: (s: Session) => boolean): Session[] {
    const ended = [...this.sessions.values()].filter((s) => !stillAllowed(s));
    for (const s of ended) this.sessions.delete(s.id);
    return ended;
  }

  get size(): number {
    return this.sessions.size;
  }
}

/** Failed logins per key (a source address, a user name) within a sliding window. */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  private recent(key: string): number[] {
    const since = this.now() - FAILURE_WINDOW_MS;
    const kept = (this.failures.get(key) ?? []).filter((t) => t > since);
    if (kept.length > 0) this.failures.set(key, kept);
    else this.failures.delete(key);
    return kept;
  }

  /** Seconds until one of `keys` may try again, or 0 when all may. */
  retryAfter(keys: readonly string[]): number {
    let wait = 0;
    for (const key of keys) {
      const times = this.recent(key);
      if (times.length >= MAX_FAILURES) {
        const freed = times[times.length - MAX_FAILURES]! + FAILURE_WINDOW_MS;
        wait = Math.max(wait, Math.ceil((freed - this.now()) / 1000));
      }
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    for (const key of keys) this.failures.set(key, [...this.recent(key), this.now()]);
  }
}
