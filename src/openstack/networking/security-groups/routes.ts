/**
 * The routes of Neutron's `security-group` extension: the two collections
 * through the shared collection machinery, and the one thing Neutron does
 * on a read: a project that lists its groups before it has any gets its
 * `default` group first.
 */
import { isAdmin, type Caller } from "../../auth/caller.js";
import type { ApiApp } from "../../http.js";
import { registerCollection } from "../collection.js";
import { callerOf, type NetworkingContext } from "../context.js";
import type { RawQuery } from "../query.js";
import { writeNb } from "../write.js";
import { ensureDefaultSecurityGroup, findDefaultGroup } from "./defaults.js";
import { securityGroupRules } from "./security-group-rules.js";
import { securityGroups } from "./security-groups.js";

const GROUPS_PATH = "/v2.0/security-groups";

/**
 * Whose default group a list brings about, as in Neutron: the project the
 * list is filtered on (for an admin, who may list any), else the caller's.
 */
function listedProject(caller: Caller, query: RawQuery): string | undefined {
  const filter = query.project_id ?? query.tenant_id;
  const named = Array.isArray(filter) ? filter[0] : filter;
  return named !== undefined && isAdmin(caller) ? named : caller.projectId;
}

export function securityGroupRoutes(
  app: ApiApp,
  context: NetworkingContext,
  baseUrl: string,
): void {
  const { nb, nbReplica } = context.backend;
  const groups = securityGroups(nbReplica);
  void app.register(async (plain) => {
    const scope = plain as unknown as ApiApp;
    scope.addHook("preHandler", async (request) => {
      if (request.method !== "GET" || request.routeOptions.url !== GROUPS_PATH) return;
      const project = listedProject(callerOf(request), request.query as RawQuery);
      if (project === undefined || findDefaultGroup(nbReplica, project)) return;
      await writeNb(nb, (txn) => ensureDefaultSecurityGroup(txn, nbReplica, project));
    });
    registerCollection(scope, context, baseUrl, groups);
    registerCollection(scope, context, baseUrl, securityGroupRules(nbReplica, groups));
  });
}
