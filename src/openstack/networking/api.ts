/**
 * The Networking API (Neutron v2.0): its version documents without a token,
 * everything under /v2.0 for a caller whose token checks out. Each resource
 * registers its own routes (networks.ts, subnets.ts, …).
 */
import { ApiError, NEUTRON_ERRORS } from "../errors.js";
import { baseUrl, type ApiApp, type ApiDefinition } from "../http.js";
import { IDENTITY_PORTS } from "../service.js";
import type { NetworkingContext, ResourceRoutes } from "./context.js";
import { validatorCompiler } from "./validation.js";
import { NETWORKING_VERSION_ROUTES } from "./versions.js";
import { securityGroupRoutes } from "./security-groups/routes.js";
import { extensionRoutes } from "./extensions.js";
import { networkRoutes } from "./networks.js";
import { portRoutes } from "./ports.js";
import { routerRoutes } from "./routers/routes.js";
import { subnetRoutes } from "./subnets.js";
import { agentRoutes } from "./agents/agents.js";
import { availabilityZoneRoutes } from "./agents/availability-zones.js";
import { quotaRoutes } from "./quotas/routes.js";
import { floatingIpRoutes } from "./floating-ips/routes.js";

export type { NetworkingContext, ResourceRoutes } from "./context.js";
export { callerOf } from "./context.js";

const RESOURCES: readonly ResourceRoutes[] = [
  extensionRoutes,
  networkRoutes,
  subnetRoutes,
  portRoutes,
  securityGroupRoutes,
  agentRoutes,
  availabilityZoneRoutes,
  quotaRoutes,
  routerRoutes,
  floatingIpRoutes,
];

export function networkingApi(context: NetworkingContext): ApiDefinition {
  const identityUrl = baseUrl(context.address, IDENTITY_PORTS[0]);
  return {
    title: "Networking",
    errors: NEUTRON_ERRORS,
    routes: [...NETWORKING_VERSION_ROUTES],
    register(app, base) {
      app.addHook("onRequest", async (request) => {
        // The version documents answer anyone; resources need a token.
        const path = request.url.split("?", 1)[0]!;
        if (!path.startsWith("/v2.0/") || path === "/v2.0/") return;
        try {
          request.caller = await context.auth.authenticate(
            request.headers["x-auth-token"] as string | undefined,
          );
        } catch (e) {
          // Keystone-aware clients learn where to get a token.
          if (e instanceof ApiError && e.status === 401) {
            throw new ApiError(401, e.message, e.type, {
              ...e.headers,
              "www-authenticate": `Keystone uri="${identityUrl}"`,
            });
          }
          throw e;
        }
      });
      // Resources validate requests as Neutron does (validation.ts), in a
      // scope of their own so the version documents keep the server's; it
      // inherits the server's error handler.
      void app.register(async (plain) => {
        const scope = plain as unknown as ApiApp;
        scope.setValidatorCompiler(validatorCompiler);
        for (const resource of RESOURCES) resource(scope, context, base);
      });
    },
  };
}
