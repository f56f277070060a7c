/**
 * Neutron's `quotas` and `quota_details` extensions: `GET /v2.0/quotas`
 * (projects with limits of their own), `GET/PUT/DELETE
 * /v2.0/quotas/{project}`, `…/{project}/default` and `…/{project}/details`
 * (limit, used, reserved), and `GET /v2.0/quotas/tenant` (or `/project`):
 * which project the caller's token is for. Anyone reads their own project's; only an
 * administrator reads another's or changes any. No project is checked
 * against Identity, as in Neutron: a quota may be set before its project
 * exists.
 */
import { Type } from "typebox";
import { QUOTA_RESOURCES } from "../../../cluster/config-keys.js";
import { isAdmin, type Caller } from "../../auth/caller.js";
import { ApiError } from "../../errors.js";
import { callerOf, type ResourceRoutes } from "../context.js";
import { belowUsage, mergeLimits, requestedLimits, type Limits } from "./limits.js";
import {
  clearProjectLimits,
  clusterDefaults,
  limitsOf,
  projectsWithLimits,
  setProjectLimits,
} from "./store.js";
import { usage } from "./usage.js";

const ProjectParams = Type.Object({ project: Type.String({ minLength: 1, maxLength: 255 }) });
const UpdateBody = Type.Object(
  { quota: Type.Record(Type.String(), Type.Unknown()) },
  { additionalProperties: false },
);

function refused(action: string, why: string): ApiError {
  return new ApiError(
    403,
    `(rule:${action}_quota) is disallowed by policy: ${why}`,
    "PolicyNotAuthorized",
  );
}

/** The caller may read this project's quota: its own, or any as administrator. */
function mayRead(caller: Caller, project: string): void {
  if (!isAdmin(caller) && caller.projectId !== project) {
    throw refused("get", "only an admin reads another project's quota");
  }
}

function mayChange(caller: Caller): void {
  if (!isAdmin(caller)) throw refused("update", "only an admin sets quotas");
}

export const quotaRoutes: ResourceRoutes = (app, context) => {
  const { backend } = context;
  const tags = ["quotas"];
  const path = "/v2.0/quotas";

  app.get(
    path,
    { schema: { summary: "Projects with quotas of their own", tags } },
    async (request) => {
      const caller = callerOf(request);
      if (!isAdmin(caller)) throw refused("get", "only an admin lists every project's quotas");
      return {
        quotas: projectsWithLimits(backend).map((project) => ({
          ...limitsOf(backend, project),
          project_id: project,
          tenant_id: project,
        })),
      };
    },
  );

  // Which project the caller's token is for, under Neutron's old name and
  // its new one: `{"tenant": {"tenant_id": …}}`, `{"project": {"project_id": …}}`.
  for (const key of ["tenant", "project"] as const) {
    app.get(
      `${path}/${key}`,
      { schema: { summary: `The caller's project (as ${key}_id)`, tags } },
      async (request) => {
        const project = callerOf(request).projectId;
        if (project === undefined) {
          throw new ApiError(
            400,
            "Tenant-id was missing from quota request. Ask with a token scoped to a project.",
            "QuotaMissingTenant",
          );
        }
        return { [key]: { [`${key}_id`]: project } };
      },
    );
  }

  app.get(
    `${path}/:project`,
    { schema: { summary: "A project's quotas", tags, params: ProjectParams } },
    async (request) => {
      const { project } = request.params;
      mayRead(callerOf(request), project);
      return { quota: limitsOf(backend, project) };
    },
  );

  app.get(
    `${path}/:project/default`,
    { schema: { summary: "The default quotas", tags, params: ProjectParams } },
    async (request) => {
      mayRead(callerOf(request), request.params.project);
      return { quota: mergeLimits(clusterDefaults(backend)) };
    },
  );

  app.get(
    `${path}/:project/details`,
    { schema: { summary: "A project's quotas and usage", tags, params: ProjectParams } },
    async (request) => {
      const { project } = request.params;
      mayRead(callerOf(request), project);
      const limits = limitsOf(backend, project);
      const used = usage(context, project);
      const quota: Record<string, { limit: number; used: number; reserved: number }> = {};
      for (const r of QUOTA_RESOURCES) {
        // Nothing is held back for requests in flight: they are counted once in NB.
        quota[r] = { limit: limits[r], used: used[r] ?? 0, reserved: 0 };
      }
      return { quota };
    },
  );

  app.put(
    `${path}/:project`,
    {
      schema: { summary: "Set a project's quotas", tags, params: ProjectParams, body: UpdateBody },
    },
    async (request) => {
      const { project } = request.params;
      mayChange(callerOf(request));
      const body = request.body.quota;
      const changes: Partial<Limits> = requestedLimits(body);
      if (body.check_limit === true || body.check_limit === "true") {
        const problem = belowUsage(changes, usage(context, project));
        if (problem) throw problem;
      }
      await setProjectLimits(backend, project, changes);
      return { quota: limitsOf(backend, project) };
    },
  );

  app.delete(
    `${path}/:project`,
    { schema: { summary: "Return a project to the default quotas", tags, params: ProjectParams } },
    async (request, reply) => {
      mayChange(callerOf(request));
      await clearProjectLimits(backend, request.params.project);
      return reply.code(204).send();
    },
  );
};
