/** `/v3/domains`: the one Default domain (id "default") every user and project is in. */
import { Type } from "typebox";
import type { ApiApp } from "../http.js";
import { DOMAIN } from "../auth/identity-view.js";
import { callerOf, notFound, type IdentityContext } from "./context.js";
import { domainView, listLinks } from "./views.js";

export function domainRoutes(app: ApiApp, context: IdentityContext, base: string): void {
  const tags = ["domains"];
  app.get(
    "/v3/domains",
    {
      schema: {
        summary: "List the domains (only Default)",
        tags,
        querystring: Type.Object({ name: Type.Optional(Type.String()) }),
      },
    },
    async (request) => {
      await callerOf(context, request);
      const { name } = request.query;
      const domains = name === undefined || name === DOMAIN.name ? [domainView(base)] : [];
      return { domains, links: listLinks(base, "/v3/domains") };
    },
  );
  app.get(
    "/v3/domains/:id",
    {
      schema: {
        summary: "Show the Default domain",
        tags,
        params: Type.Object({ id: Type.String() }),
      },
    },
    async (request) => {
      await callerOf(context, request);
      if (request.params.id !== DOMAIN.id) throw notFound("domain", request.params.id);
      return { domain: domainView(base) };
    },
  );
}
