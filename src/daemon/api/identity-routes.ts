/**
 * The control API's identity endpoints (`microovn user …`, `microovn
 * project …`). A password arrives in the request body, never in a path, and
 * leaves only as the one a request asked to have generated; the log names
 * what changed, never a password.
 */
import { MicroOvnError } from "../../errors.js";
import { generatePassword } from "../../identity/password.js";
import {
  addProject,
  addUser,
  deleteProject,
  deleteUser,
  grantRole,
  listProjects,
  listUsers,
  revokeRole,
  setPassword,
  showUser,
} from "../../identity/store.js";
import { withIdentityStore } from "../../lifecycle/identity.js";
import { log } from "../log.js";
import type { RouteContext } from "./route-context.js";
import type { ApiRequest, Route } from "./router.js";
import { optionalString } from "./routes.js";
import { audited } from "../../security/audited.js";

function required(body: Record<string, unknown>, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined) throw new MicroOvnError("BAD_REQUEST", `"${key}" is required`);
  return value;
}

/** The password given, or a new one to be shown once (`generated`). */
function passwordOf(body: Record<string, unknown>): { password: string; generated?: string } {
  const given = optionalString(body, "password");
  if (given !== undefined) return { password: given };
  const generated = generatePassword();
  return { password: generated, generated };
}

export function identityRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  const user = (request: ApiRequest) => request.params.name ?? "";
  /** grant or revoke, which answer whether anything changed. */
  const assignment =
    (action: "grant" | "revoke") =>
    async ({ params, body }: ApiRequest) => {
      const name = params.name ?? "";
      const project = required(body, "project");
      const role = required(body, "role");
      const change = action === "grant" ? grantRole : revokeRole;
      const changed = await audited(rt.state, `role.${action}`, { user: name, project, role }, () =>
        withIdentityStore(rt, (db) => change(db, { user: name, project, role })),
      );
      if (changed)
        log(
          `identity: ${action === "grant" ? "granted" : "revoked"} ${role} on ${project} for ${name}`,
        );
      return { changed };
    };
  return [
    {
      method: "GET",
      path: "/identity/users",
      handler: async () => ({ users: await withIdentityStore(rt, listUsers) }),
    },
    {
      method: "GET",
      path: "/identity/users/:name",
      handler: async (request) => ({
        user: await withIdentityStore(rt, (db) => showUser(db, user(request))),
      }),
    },
    {
      method: "POST",
      path: "/identity/users",
      handler: async ({ body }) => {
        const name = required(body, "name");
        const { password, generated } = passwordOf(body);
        const project = optionalString(body, "project");
        const role = optionalString(body, "role");
        const added = await audited(rt.state, "user.create", { user: name, project, role }, () =>
          withIdentityStore(rt, (db) =>
            addUser(db, {
              name,
              password,
              ...(project !== undefined ? { project } : {}),
              ...(role !== undefined ? { role } : {}),
            }),
          ),
        );
        log(`identity: added user ${name}` + (role ? ` (${role} on ${project})` : ""));
        return { user: added, ...(generated !== undefined ? { password: generated } : {}) };
      },
    },
    {
      method: "DELETE",
      path: "/identity/users/:name",
      handler: async (request) => {
        await audited(rt.state, "user.delete", { user: user(request) }, () =>
          withIdentityStore(rt, (db) => deleteUser(db, user(request))),
        );
        log(`identity: deleted user ${user(request)}`);
        return {};
      },
    },
    {
      method: "PUT",
      path: "/identity/users/:name/password",
      handler: async (request) => {
        const { password, generated } = passwordOf(request.body);
        await audited(rt.state, "user.password", { user: user(request) }, () =>
          withIdentityStore(rt, (db) => setPassword(db, user(request), password)),
        );
        log(`identity: new password for user ${user(request)}`);
        return generated !== undefined ? { password: generated } : {};
      },
    },
    { method: "POST", path: "/identity/users/:name/grant", handler: assignment("grant") },
    { method: "POST", path: "/identity/users/:name/revoke", handler: assignment("revoke") },
    {
      method: "GET",
      path: "/identity/projects",
      handler: async () => ({ projects: await withIdentityStore(rt, listProjects) }),
    },
    {
      method: "POST",
      path: "/identity/projects",
      handler: async ({ body }) => {
        const name = required(body, "name");
        const description = optionalString(body, "description") ?? "";
        const project = await audited(rt.state, "project.create", { project: name }, () =>
          withIdentityStore(rt, (db) => addProject(db, name, description)),
        );
        log(`identity: added project ${name}`);
        return { project };
      },
    },
    {
      method: "DELETE",
      path: "/identity/projects/:name",
      handler: async ({ params }) => {
        const name = params.name ?? "";
        await audited(rt.state, "project.delete", { project: name }, () =>
          withIdentityStore(rt, (db) => deleteProject(db, name)),
        );
        log(`identity: deleted project ${name}`);
        return {};
      },
    },
  ];
}
