/**
 * `/v3/users`: listed, shown, created (with a password), changed (a new
 * password ends the user's earlier tokens) and deleted as Keystone answers,
 * through the identity store (unique names; the last administrator stays).
 * Administration needs the admin role; a user may see itself.
 */
import { Type } from "typebox";
import { addUser, deleteUser, updateUser, type UserChange } from "../../identity/store.js";
import type { IdentityUser } from "../../ovsdb/models/microovn.js";
import { ApiError } from "../errors.js";
import type { ApiApp } from "../http.js";
import {
  adminOf,
  adminOr,
  ById,
  callerOf,
  forbidden,
  listed,
  ListQuery,
  notFound,
  storeChange,
  type IdentityContext,
} from "./context.js";
import { listLinks, projectView, userView } from "./views.js";

const Strict = { additionalProperties: false } as const;

const UserFields = {
  name: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  enabled: Type.Optional(Type.Boolean()),
  default_project_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  domain_id: Type.Optional(Type.String({ enum: ["default"] })),
  options: Type.Optional(Type.Object({}, Strict)),
};

const CreateUser = Type.Object(
  { user: Type.Object({ ...UserFields, name: Type.String() }, Strict) },
  Strict,
);
const ChangePassword = Type.Object(
  { user: Type.Object({ password: Type.String(), original_password: Type.String() }, Strict) },
  Strict,
);
const UpdateUser = Type.Object({ user: Type.Object(UserFields, Strict) }, Strict);

export function userRow(context: IdentityContext, id: string): IdentityUser {
  const row = context.tokens.view.user(id);
  if (!row) throw notFound("user", id);
  return row;
}

/** The default project named by id, as the store names it (by name); null clears it. */
function defaultProjectName(context: IdentityContext, id: string | null | undefined) {
  if (id === undefined || id === null) return id;
  const project = context.tokens.view.project(id);
  if (!project) throw new ApiError(400, `There is no project ${id} to be the default project.`);
  return project.name;
}

export function userRoutes(app: ApiApp, context: IdentityContext, base: string): void {
  const tags = ["users"];
  const { view } = context.tokens;
  const db = context.backend.state;
  const show = (id: string) => ({ user: userView(userRow(context, id), view, base) });

  app.get(
    "/v3/users",
    { schema: { summary: "List users (admin)", tags, querystring: ListQuery } },
    async (request) => {
      await adminOf(context, request);
      const rows = listed(view.users(), request.query);
      return {
        users: rows.map((u) => userView(u, view, base)),
        links: listLinks(base, "/v3/users"),
      };
    },
  );
  app.get(
    "/v3/users/:id",
    { schema: { summary: "Show a user (admin, or the user itself)", tags, params: ById } },
    async (request) => {
      await adminOr(context, request, (c) => c.userId === request.params.id);
      return show(request.params.id);
    },
  );
  app.post(
    "/v3/users",
    { schema: { summary: "Create a user with a password (admin)", tags, body: CreateUser } },
    async (request, reply) => {
      await adminOf(context, request);
      const { name, password, enabled, default_project_id } = request.body.user;
      if (password === undefined) {
        throw new ApiError(400, "Give the new user a password (user.password).");
      }
      const project = defaultProjectName(context, default_project_id);
      await storeChange(() =>
        addUser(db, {
          name,
          password,
          ...(enabled === false ? { enabled } : {}),
          ...(project ? { defaultProject: project } : {}),
        }),
      );
      return reply.code(201).send({ user: userView(view.userByName(name)!, view, base) });
    },
  );
  app.patch(
    "/v3/users/:id",
    { schema: { summary: "Change a user (admin)", tags, params: ById, body: UpdateUser } },
    async (request) => {
      await adminOf(context, request);
      const row = userRow(context, request.params.id);
      const { name, password, enabled, default_project_id } = request.body.user;
      const project = defaultProjectName(context, default_project_id);
      const change: UserChange = {
        ...(name !== undefined ? { name } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(enabled !== undefined ? { enabled } : {}),
        ...(project !== undefined ? { defaultProject: project } : {}),
      };
      await storeChange(() => updateUser(db, row.name, change));
      return show(request.params.id);
    },
  );
  app.delete(
    "/v3/users/:id",
    { schema: { summary: "Delete a user and its role assignments (admin)", tags, params: ById } },
    async (request, reply) => {
      await adminOf(context, request);
      const row = userRow(context, request.params.id);
      await storeChange(() => deleteUser(db, row.name));
      return reply.code(204).send();
    },
  );
  app.post(
    "/v3/users/:id/password",
    {
      schema: {
        summary: "Change one's own password (the old one is asked)",
        tags,
        params: ById,
        body: ChangePassword,
      },
    },
    async (request, reply) => {
      // Only the user itself, admin or not: Keystone's policy for this call.
      if ((await callerOf(context, request)).userId !== request.params.id) throw forbidden();
      const { password, original_password } = request.body.user;
      const row = userRow(context, request.params.id);
      if (!(await context.tokens.checkPassword({ id: row.user_id }, original_password))) {
        context.log(`identity: password change refused for ${row.name}: wrong original password`);
        throw new ApiError(401, "The original password is not the user's password.");
      }
      await storeChange(() => updateUser(db, row.name, { password }));
      context.log(`identity: ${row.name} changed its password`);
      return reply.code(204).send();
    },
  );
  app.get(
    "/v3/users/:id/projects",
    {
      schema: {
        summary: "The projects a user holds a role on (admin, or the user)",
        tags,
        params: ById,
      },
    },
    async (request) => {
      await adminOr(context, request, (c) => c.userId === request.params.id);
      const row = userRow(context, request.params.id);
      return {
        projects: view.projectsOf(row._uuid).map((p) => projectView(p, base)),
        links: listLinks(base, `/v3/users/${row.user_id}/projects`),
      };
    },
  );
}
