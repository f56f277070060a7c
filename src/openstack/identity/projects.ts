/**
 * `/v3/projects`: listed, shown, created, changed and deleted as Keystone
 * answers, through the identity store (unique names; a project with role
 * assignments is not deleted). Administration needs the admin role; a
 * caller may see the project its token is scoped to.
 */
import { Type } from "typebox";
import {
  addProject,
  deleteProject,
  updateProject,
  type ProjectChange,
} from "../../identity/store.js";
import type { IdentityProject } from "../../ovsdb/models/microovn.js";
import type { ApiApp } from "../http.js";
import {
  adminOf,
  adminOr,
  ById,
  listed,
  ListQuery,
  notFound,
  storeChange,
  type IdentityContext,
} from "./context.js";
import { listLinks, projectView } from "./views.js";

const DOMAIN_ID = Type.Optional(Type.String({ enum: ["default"] }));

const ProjectFields = {
  name: Type.String(),
  description: Type.Optional(Type.String()),
  enabled: Type.Optional(Type.Boolean()),
  domain_id: DOMAIN_ID,
  parent_id: DOMAIN_ID,
  is_domain: Type.Optional(Type.Boolean({ const: false })),
  tags: Type.Optional(Type.Array(Type.String(), { maxItems: 0 })),
  options: Type.Optional(Type.Object({}, { additionalProperties: false })),
};

const CreateProject = Type.Object(
  { project: Type.Object(ProjectFields, { additionalProperties: false }) },
  { additionalProperties: false },
);

const UpdateProject = Type.Object(
  {
    project: Type.Object(
      {
        name: Type.Optional(Type.String()),
        description: Type.Optional(Type.String()),
        enabled: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export function projectRow(context: IdentityContext, id: string): IdentityProject {
  const row = context.tokens.view.project(id);
  if (!row) throw notFound("project", id);
  return row;
}

export function projectRoutes(app: ApiApp, context: IdentityContext, base: string): void {
  const tags = ["projects"];
  const { view } = context.tokens;
  const db = context.backend.state;

  app.get(
    "/v3/projects",
    { schema: { summary: "List projects (admin)", tags, querystring: ListQuery } },
    async (request) => {
      await adminOf(context, request);
      const rows = listed(view.projects(), request.query);
      return {
        projects: rows.map((p) => projectView(p, base)),
        links: listLinks(base, "/v3/projects"),
      };
    },
  );
  app.get(
    "/v3/projects/:id",
    { schema: { summary: "Show a project (admin, or a token scoped to it)", tags, params: ById } },
    async (request) => {
      await adminOr(context, request, (c) => c.projectId === request.params.id);
      return { project: projectView(projectRow(context, request.params.id), base) };
    },
  );
  app.post(
    "/v3/projects",
    { schema: { summary: "Create a project (admin)", tags, body: CreateProject } },
    async (request, reply) => {
      await adminOf(context, request);
      const { name, description, enabled } = request.body.project;
      const added = await storeChange(() => addProject(db, name, description ?? "", enabled));
      return reply.code(201).send({ project: projectView(view.project(added.id)!, base) });
    },
  );
  app.patch(
    "/v3/projects/:id",
    { schema: { summary: "Change a project (admin)", tags, params: ById, body: UpdateProject } },
    async (request) => {
      await adminOf(context, request);
      const row = projectRow(context, request.params.id);
      const change: ProjectChange = request.body.project;
      await storeChange(() => updateProject(db, row.name, change));
      return { project: projectView(projectRow(context, request.params.id), base) };
    },
  );
  app.delete(
    "/v3/projects/:id",
    {
      schema: { summary: "Delete a project without role assignments (admin)", tags, params: ById },
    },
    async (request, reply) => {
      await adminOf(context, request);
      const row = projectRow(context, request.params.id);
      await storeChange(() => deleteProject(db, row.name));
      return reply.code(204).send();
    },
  );
}
