/**
 * The routes of Neutron's `security-group` extension: the two collections
 * through the shared collection machinery, and the one thing Neutron does
 * on a read: a project that lists its groups before it has any gets its
 * `default` group first.
 */
import type { ApiApp } from "../../http.js";
import { registerCollection } from "../collection.js";
import { callerOf, type NetworkingContext } from "../context.js";
import { writeNb } from "../write.js";
import { ensureDefaultSecurityGroup, findDefaultGroup } from "./defaults.js";
import { securityGroupRules } from "./security-group-rules.js";
import { securityGroups } from "./security-groups.js";

const GROUPS_PATH = "/v2.0/security-groups";

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
      const project = callerOf(request).projectId;
      if (project === undefined || findDefaultGroup(nbReplica, project)) return;
      await writeNb(nb, (txn) => ensureDefaultSecurityGroup(txn, nbReplica, project));
    });
    registerCollection(scope, context, baseUrl, groups);
    registerCollection(scope, context, baseUrl, securityGroupRules(nbReplica, groups));
  });
}
