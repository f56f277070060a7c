/**
 * The Identity API (Keystone v3, and v2.0 for oVirt engine) on ports 5000
 * and 35357: the version documents without a token; tokens, projects,
 * users, roles, role assignments and the domain, one file each.
 */
import { KEYSTONE_ERRORS, METHOD_NOT_ALLOWED_MESSAGE } from "../errors.js";
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

const ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

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
      const served = new Map<string, Set<string>>();
      app.addHook("onRoute", (route) => {
        const methods = served.get(route.url) ?? new Set<string>();
        for (const m of [route.method].flat()) methods.add(m);
        served.set(route.url, methods);
      });
      for (const resource of RESOURCES) resource(app, context, base);
      // A method a path does not take is 405 naming those it does, as on the version documents.
      for (const [url, methods] of served) {
        const others = ALL_METHODS.filter((m) => !methods.has(m));
        if (others.length === 0) continue;
        const allow = ALL_METHODS.filter((m) => methods.has(m)).join(", ");
        app.route({
          method: others,
          url,
          schema: { hide: true },
          handler: async (_request, reply) =>
            reply
              .code(405)
              .header("allow", allow)
              .send(KEYSTONE_ERRORS.body(405, METHOD_NOT_ALLOWED_MESSAGE)),
        });
      }
    },
  };
}
