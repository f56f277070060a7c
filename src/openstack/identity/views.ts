/**
 * Users, projects, roles and the domain as Keystone v3 shows them, made
 * from the identity store's rows. One place, so a token's `user` and a
 * `GET /v3/users/{id}` never disagree.
 */
import type { IdentityProject, IdentityRole, IdentityUser } from "../../ovsdb/models/microovn.js";
import { DOMAIN, type IdentityView } from "../auth/identity-view.js";

export function userView(row: IdentityUser, view: IdentityView, base: string) {
  const project = row.default_project ? view.projectByUuid(row.default_project) : undefined;
  return {
    id: row.user_id,
    name: row.name,
    domain_id: DOMAIN.id,
    enabled: row.enabled,
    password_expires_at: null,
    options: {},
    ...(project ? { default_project_id: project.project_id } : {}),
    links: { self: `${base}/v3/users/${row.user_id}` },
  };
}

export function projectView(row: IdentityProject, base: string) {
  return {
    id: row.project_id,
    name: row.name,
    domain_id: row.domain,
    description: row.description,
    enabled: row.enabled,
    parent_id: row.domain,
    is_domain: false,
    tags: [],
    options: {},
    links: { self: `${base}/v3/projects/${row.project_id}` },
  };
}

export function roleView(row: IdentityRole, base: string) {
  return {
    id: row.role_id,
    name: row.name,
    domain_id: null,
    description: null,
    options: {},
    links: { self: `${base}/v3/roles/${row.role_id}` },
  };
}

export function domainView(base: string) {
  return {
    id: DOMAIN.id,
    name: DOMAIN.name,
    description: "The default domain",
    enabled: true,
    tags: [],
    options: {},
    links: { self: `${base}/v3/domains/${DOMAIN.id}` },
  };
}

/** A collection's `links`, as Keystone adds them to every list. */
export function listLinks(base: string, path: string) {
  return { self: `${base}${path}`, previous: null, next: null };
}
