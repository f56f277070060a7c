/**
 * Who makes a request, as every route sees it once the token is checked:
 * the contract between the auth plugins (local tokens, a static token,
 * noauth, an external Keystone, oVirt engine) and the APIs' policy.
 */

/** Role names as Keystone and Neutron's default policy know them. */
export const ADMIN_ROLE = "admin";
export const MEMBER_ROLE = "member";
export const READER_ROLE = "reader";

export interface Caller {
  userId: string;
  userName: string;
  /** The project the token is scoped to; undefined for an unscoped token. */
  projectId: string | undefined;
  projectName: string | undefined;
  /** Effective roles on that project: admin implies member, member implies reader. */
  roles: readonly string[];
}

/** Whether the caller may see and change every project's resources. */
export function isAdmin(caller: Caller): boolean {
  return caller.roles.includes(ADMIN_ROLE);
}

/** Whether the caller may change resources (of its project): admin or member. */
export function mayWrite(caller: Caller): boolean {
  return caller.roles.includes(ADMIN_ROLE) || caller.roles.includes(MEMBER_ROLE);
}

/** The roles implied by `roles` (admin ⇒ member ⇒ reader), without duplicates. */
export function effectiveRoles(roles: Iterable<string>): string[] {
  const out = new Set(roles);
  if (out.has(ADMIN_ROLE)) out.add(MEMBER_ROLE);
  if (out.has(MEMBER_ROLE)) out.add(READER_ROLE);
  return [...out];
}

/**
 * Turns a request's `X-Auth-Token` into a caller. Throws ApiError 401 when
 * the token is missing, unknown, expired or revoked.
 */
export interface Authenticator {
  authenticate(token: string | undefined): Promise<Caller>;
}
