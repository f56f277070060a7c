/**
 * What Neutron answers before any resource: its version list at `/` and the
 * v2.0 resource list at `/v2.0`. The resource list names only collections
 * this server really serves; it grows with them.
 */
import { Type, type Static } from "typebox";
import { documentRoute, type ApiRoute } from "../http.js";

const LinkSchema = Type.Object({ href: Type.String(), rel: Type.String() });

export const NetworkingVersionSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  links: Type.Array(LinkSchema),
});

export const NetworkingVersionsSchema = Type.Object(
  { versions: Type.Array(NetworkingVersionSchema) },
  { $id: "NetworkingVersions" },
);
export type NetworkingVersions = Static<typeof NetworkingVersionsSchema>;

export const NetworkingResourcesSchema = Type.Object(
  {
    resources: Type.Array(
      Type.Object({
        name: Type.String(),
        collection: Type.String(),
        links: Type.Array(LinkSchema),
      }),
    ),
  },
  { $id: "NetworkingResources" },
);
export type NetworkingResources = Static<typeof NetworkingResourcesSchema>;

/** `GET /`: the one version, v2.0, CURRENT. */
export function networkingVersions(baseUrl: string): NetworkingVersions {
  return {
    versions: [
      { id: "v2.0", status: "CURRENT", links: [{ href: `${baseUrl}/v2.0/`, rel: "self" }] },
    ],
  };
}

/** The collections served, as `GET /v2.0` names them (URL name, JSON name). */
export const NETWORKING_COLLECTIONS: readonly [string, string][] = [
  ["networks", "network"],
  ["subnets", "subnet"],
  ["ports", "port"],
  ["security-groups", "security_group"],
  ["security-group-rules", "security_group_rule"],
  ["agents", "agent"],
  ["availability_zones", "availability_zone"],
  ["quotas", "quota"],
  ["routers", "router"],
  ["floatingips", "floatingip"],
];

/** `GET /v2.0`: every collection this server serves, with its link. */
export function networkingResources(baseUrl: string): NetworkingResources {
  return {
    resources: NETWORKING_COLLECTIONS.map(([collection, name]) => ({
      name,
      collection,
      links: [{ href: `${baseUrl}/v2.0/${collection}`, rel: "self" }],
    })),
  };
}

const tag = "networking";

export const NETWORKING_VERSION_ROUTES: readonly ApiRoute[] = [
  documentRoute({
    url: "/",
    summary: "The Networking API versions",
    tag,
    status: 200,
    schema: NetworkingVersionsSchema,
    body: networkingVersions,
  }),
  documentRoute({
    url: "/v2.0",
    summary: "The Networking v2.0 resources",
    tag,
    status: 200,
    schema: NetworkingResourcesSchema,
    body: networkingResources,
  }),
];
