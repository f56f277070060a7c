/**
 * The identity store as the API reads it: from the state database's
 * replica, never by a round trip, so checking a token costs no database
 * request and every member sees a change (a revoked role or token, a new
 * password) within the replica's delay.
 */
import { DEFAULT_DOMAIN } from "../../identity/names.js";
import { tokenKey, type TokenKey } from "../../identity/token-keys.js";
import type {
  IdentityProject,
  IdentityRole,
  IdentityUser,
  MicroOVNDatabase,
} from "../../ovsdb/models/microovn.js";
import type { ReplicaTable } from "../../ovsdb/replica/replica.js";

/** What the view reads: a replica of the state database, or tables a test fills. */
export interface IdentityTables {
  table<K extends keyof MicroOVNDatabase>(name: K): ReplicaTable<MicroOVNDatabase[K]>;
}

/** Keystone's one domain; its name is "Default", its id "default". */
export const DOMAIN = { id: DEFAULT_DOMAIN, name: "Default" } as const;

/** Whether a domain given by name or id in a request means the Default domain. */
export function isDefaultDomain(domain: { id?: string; name?: string } | undefined): boolean {
  if (domain === undefined) return true;
  if (domain.id !== undefined) return domain.id === DOMAIN.id;
  return domain.name === undefined || domain.name.toLowerCase() === DOMAIN.name.toLowerCase();
}

export class IdentityView {
  constructor(private readonly tables: IdentityTables) {}

  user(id: string): IdentityUser | undefined {
    return this.tables.table("Identity_User").lookup({ user_id: id });
  }

  userByName(name: string): IdentityUser | undefined {
    return this.tables.table("Identity_User").lookup({ name });
  }

  userByUuid(uuid: string): IdentityUser | undefined {
    return this.tables.table("Identity_User").get(uuid);
  }

  users(): IdentityUser[] {
    return [...this.tables.table("Identity_User").values()];
  }

  project(id: string): IdentityProject | undefined {
    return this.tables.table("Identity_Project").lookup({ project_id: id });
  }

  projectByName(name: string): IdentityProject | undefined {
    return this.tables.table("Identity_Project").lookup({ name });
  }

  projectByUuid(uuid: string): IdentityProject | undefined {
    return this.tables.table("Identity_Project").get(uuid);
  }

  projects(): IdentityProject[] {
    return [...this.tables.table("Identity_Project").values()];
  }

  role(id: string): IdentityRole | undefined {
    return this.tables.table("Identity_Role").lookup({ role_id: id });
  }

  roleByName(name: string): IdentityRole | undefined {
    return this.tables.table("Identity_Role").lookup({ name });
  }

  roleByUuid(uuid: string): IdentityRole | undefined {
    return this.tables.table("Identity_Role").get(uuid);
  }

  roles(): IdentityRole[] {
    return [...this.tables.table("Identity_Role").values()];
  }

  /** Every role assignment, by row UUIDs of user, project and role. */
  assignments(): { user: string; project: string; role: string }[] {
    return [...this.tables.table("Identity_Assignment").values()];
  }

  /** Names of the roles `user` holds on `project` (row UUIDs), as assigned (not implied). */
  roleNames(userUuid: string, projectUuid: string): string[] {
    return this.assignments()
      .filter((a) => a.user === userUuid && a.project === projectUuid)
      .map((a) => this.roleByUuid(a.role)?.name)
      .filter((n): n is string => n !== undefined);
  }

  /** Projects on which `user` holds any role, by name. */
  projectsOf(userUuid: string): IdentityProject[] {
    const uuids = new Set(
      this.assignments()
        .filter((a) => a.user === userUuid)
        .map((a) => a.project),
    );
    return [...uuids]
      .map((u) => this.projectByUuid(u))
      .filter((p): p is IdentityProject => p !== undefined)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  tokenKeys(): TokenKey[] {
    return [...this.tables.table("Identity_Token_Key").values()].map(tokenKey);
  }

  tokenKey(id: string): TokenKey | undefined {
    const row = this.tables.table("Identity_Token_Key").lookup({ key_id: id });
    return row && tokenKey(row);
  }

  /** Whether any of a token's audit ids was revoked. */
  revoked(auditIds: readonly string[]): boolean {
    const table = this.tables.table("Identity_Revoked_Token");
    return auditIds.some((audit_id) => table.lookup({ audit_id }) !== undefined);
  }
}
