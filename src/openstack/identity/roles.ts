/**
 * Roles and who holds them: `/v3/roles` (the fixed admin, member and
 * reader), grants on a project (`PUT|HEAD|DELETE
 * /v3/projects/{p}/users/{u}/roles/{r}`, through the identity store, so the
 * last administrator stays) and `/v3/role_assignments` with Keystone's
 * filters. `effective` adds the implied roles (admin ⇒ member ⇒ reader).
 */
import { Type } from "typebox";
import { grantRole, revokeRole } from "../../identity/store.js";
import type { IdentityRole } from "../../ovsdb/models/microovn.js";
import { effectiveRoles } from "../auth/caller.js";
import { DOMAIN } from "../auth/identity-view.js";
import type { ApiApp } from "../http.js";
import { adminOf, callerOf, notFound, storeChange, type IdentityContext } from "./context.js";
import { projectRow } from "./projects.js";
import { userRow } from "./users.js";
import { listLinks, roleView } from "./views.js";

const Grant = Type.Object({ project: Type.String(), user: Type.String(), role: Type.String() });

const AssignmentQuery = Type.Object({
  "user.id": Type.Optional(Type.String()),
  "scope.project.id": Type.Optional(Type.String()),
  "role.id": Type.Optional(Type.String()),
  effective: Type.Optional(Type.String()),
  include_names: Type.Optional(Type.String()),
});

/** A flag as Keystone reads it from a query: present and not false/0. */
function flag(value: string | undefined): boolean {
  return value !== undefined && !["false", "0"].includes(value.toLowerCase());
}

function roleRow(context: IdentityContext, id: string): IdentityRole {
  const row = context.tokens.view.role(id);
  if (!row) throw notFound("role", id);
  return row;
}

export function roleRoutes(app: ApiApp, context: IdentityContext, base: string): void {
  const tags = ["roles"];
  const { view } = context.tokens;
  const db = context.backend.state;

  app.get(
    "/v3/roles",
    {
      schema: {
        summary: "List the roles",
        tags,
        querystring: Type.Object({ name: Type.Optional(Type.String()) }),
      },
    },
    async (request) => {
      await callerOf(context, request);
      const rows = view
        .roles()
        .filter((r) => request.query.name === undefined || r.name === request.query.name)
        .sort((a, b) => a.name.localeCompare(b.name));
      return { roles: rows.map((r) => roleView(r, base)), links: listLinks(base, "/v3/roles") };
    },
  );
  app.get(
    "/v3/roles/:id",
    { schema: { summary: "Show a role", tags, params: Type.Object({ id: Type.String() }) } },
    async (request) => {
      await callerOf(context, request);
      return { role: roleView(roleRow(context, request.params.id), base) };
    },
  );

  const grantPath = "/v3/projects/:project/users/:user/roles/:role";
  const target = (params: { project: string; user: string; role: string }) => ({
    project: projectRow(context, params.project).name,
    user: userRow(context, params.user).name,
    role: roleRow(context, params.role).name,
  });
  app.put(
    grantPath,
    { schema: { summary: "Grant a role on a project (admin)", tags, params: Grant } },
    async (request, reply) => {
      await adminOf(context, request);
      const grant = target(request.params);
      await storeChange(() => grantRole(db, grant));
      return reply.code(204).send();
    },
  );
  app.head(
    grantPath,
    {
      schema: { summary: "Whether a user holds a role on a project (admin)", tags, params: Grant },
    },
    async (request, reply) => {
      await adminOf(context, request);
      const grant = target(request.params);
      const held = view.roleNames(
        view.userByName(grant.user)!._uuid,
        view.projectByName(grant.project)!._uuid,
      );
      if (!held.includes(grant.role))
        throw notFound("role grant", `${grant.user} ${grant.role} on ${grant.project}`);
      return reply.code(204).send();
    },
  );
  app.delete(
    grantPath,
    { schema: { summary: "Revoke a role on a project (admin)", tags, params: Grant } },
    async (request, reply) => {
      await adminOf(context, request);
      const grant = target(request.params);
      if (!(await storeChange(() => revokeRole(db, grant)))) {
        throw notFound("role grant", `${grant.user} ${grant.role} on ${grant.project}`);
      }
      return reply.code(204).send();
    },
  );
  app.get(
    "/v3/projects/:project/users/:user/roles",
    {
      schema: {
        summary: "The roles a user holds on a project (admin)",
        tags,
        params: Type.Object({ project: Type.String(), user: Type.String() }),
      },
    },
    async (request) => {
      await adminOf(context, request);
      const project = projectRow(context, request.params.project);
      const user = userRow(context, request.params.user);
      const roles = view.roleNames(user._uuid, project._uuid).map((n) => view.roleByName(n)!);
      return {
        roles: roles.map((r) => roleView(r, base)),
        links: listLinks(base, `/v3/projects/${project.project_id}/users/${user.user_id}/roles`),
      };
    },
  );

  app.get(
    "/v3/role_assignments",
    { schema: { summary: "List role assignments (admin)", tags, querystring: AssignmentQuery } },
    async (request) => {
      await adminOf(context, request);
      const q = request.query;
      const names = flag(q.include_names);
      const out = [];
      for (const a of view.assignments()) {
        const user = view.userByUuid(a.user);
        const project = view.projectByUuid(a.project);
        const role = view.roleByUuid(a.role);
        if (!user || !project || !role) continue;
        if (q["user.id"] !== undefined && user.user_id !== q["user.id"]) continue;
        if (q["scope.project.id"] !== undefined && project.project_id !== q["scope.project.id"])
          continue;
        const roles = flag(q.effective) ? effectiveRoles([role.name]) : [role.name];
        for (const name of roles) {
          const r = view.roleByName(name);
          if (!r || (q["role.id"] !== undefined && r.role_id !== q["role.id"])) continue;
          const link = `${base}/v3/projects/${project.project_id}/users/${user.user_id}/roles/${r.role_id}`;
          out.push({
            role: names ? { id: r.role_id, name: r.name, domain: null } : { id: r.role_id },
            user: names
              ? { id: user.user_id, name: user.name, domain: DOMAIN }
              : { id: user.user_id },
            scope: {
              project: names
                ? { id: project.project_id, name: project.name, domain: DOMAIN }
                : { id: project.project_id },
            },
            links: { assignment: link },
          });
        }
      }
      // Effective roles implied by more than one assignment appear once.
      const unique = [...new Map(out.map((o) => [o.links.assignment, o])).values()];
      return { role_assignments: unique, links: listLinks(base, "/v3/role_assignments") };
    },
  );
}
