/**
 * What the identity store accepts as a name, the Keystone-style ids of its
 * rows, and the fixed roles.
 */
import { randomUUID } from "node:crypto";
import { MicroOvnError } from "../errors.js";

/** The roles every cluster has; Neutron's default policy knows these three. */
export const ROLES = ["admin", "member", "reader"] as const;
export type RoleName = (typeof ROLES)[number];

/** The domain every project and user is in: Keystone's default, the only one here. */
export const DEFAULT_DOMAIN = "default";

export const MAX_NAME_LENGTH = 64;

/**
 * A user or project name as given, or an error saying what a name may be:
 * 1–64 characters, none of them a control character, and not only spaces.
 */
export function checkName(kind: "user" | "project", name: string): string {
  const length = [...name].length;
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f]/.test(name);
  if (length === 0 || length > MAX_NAME_LENGTH || control || name.trim() === "") {
    throw new MicroOvnError(
      "BAD_NAME",
      `${JSON.stringify(name)} is not a ${kind} name: use 1 to ${MAX_NAME_LENGTH} characters, ` +
        "no control characters and not only spaces",
    );
  }
  return name;
}

export function checkRole(role: string): RoleName {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new MicroOvnError(
      "UNKNOWN_ROLE",
      `"${role}" is not a role; choose one of ${ROLES.join(", ")}`,
    );
  }
  return role as RoleName;
}

/** A new id as Keystone writes them: 32 lowercase hex digits. */
export function newId(): string {
  return randomUUID().replaceAll("-", "");
}
