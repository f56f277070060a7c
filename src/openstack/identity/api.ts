/**
 * The Identity API (Keystone v3, and v2.0 for oVirt engine) on ports 5000
 * and 35357: the version documents without a token; tokens, projects,
 * users, roles, role assignments and the domain, one file each.
 */
import { KEYSTONE_ERRORS } from "../errors.js";
import { baseUrl, type ApiDefinition } from "../http.js";
import { IDENTITY_PORTS } from "../service.js";
import { authRoutes } from "./auth.js";
import type { IdentityContext } from "./context.js";
import { domainRoutes } from "./domains.js";
import { projectRoutes } from "./projects.js";
import { roleRoutes } from "./roles.js";
import { userRoutes } from "./users.js";
import { v2Routes } from "./v2.js";
import { IDENTITY_VERSION_ROUTES } from "./versions.js";

const RESOURCES = [authRoutes, projectRoutes, userRoutes, roleRoutes, domainRoutes, v2Routes];

export function identityApi(context: IdentityContext): ApiDefinition {
  const identityUrl = baseUrl(context.address, IDENTITY_PORTS[0]);
  return {
    title: "Identity",
    errors: KEYSTONE_ERRORS,
    routes: [...IDENTITY_VERSION_ROUTES],
    register(app, base) {
      // As Keystone: a 401 names where tokens come from.
      app.addHook("onSend", async (_request, reply, payload) => {
        if (reply.statusCode === 401) {
          reply.header("www-authenticate", `Keystone uri="${identityUrl}"`);
        }
        return payload;
      });
      for (const resource of RESOURCES) resource(app, context, base);
    },
  };
}
