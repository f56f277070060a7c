/**
 * The service catalog a token carries: Networking and Identity on this
 * member, in region RegionOne, each with a public, internal and admin
 * endpoint (all the same URL: one address serves them). The network URL has
 * no /v2.0 (the SDK appends it); the identity URL ends in /v3. Ids are
 * derived from the member address, so they stay the same across restarts.
 */
import { createHash } from "node:crypto";
import { Type } from "typebox";
import { baseUrl } from "../http.js";
import { IDENTITY_PORTS, NETWORKING_PORT } from "../service.js";

export const REGION = "RegionOne";
const INTERFACES = ["public", "internal", "admin"] as const;

function stableId(...parts: string[]): string {
  return createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 32);
}

interface CatalogService {
  type: "network" | "identity";
  name: string;
  url: string;
}

function services(address: string): CatalogService[] {
  return [
    { type: "network", name: "neutron", url: baseUrl(address, NETWORKING_PORT) },
    { type: "identity", name: "keystone", url: `${baseUrl(address, IDENTITY_PORTS[0])}/v3` },
  ];
}

export const CatalogSchema = Type.Array(
  Type.Object({
    type: Type.String(),
    name: Type.String(),
    id: Type.String(),
    endpoints: Type.Array(
      Type.Object({
        id: Type.String(),
        interface: Type.String(),
        region: Type.String(),
        region_id: Type.String(),
        url: Type.String(),
      }),
    ),
  }),
);

/** Identity v3's `catalog`. */
export function catalogV3(address: string) {
  return services(address).map((s) => ({
    type: s.type,
    name: s.name,
    id: stableId(address, s.type),
    endpoints: INTERFACES.map((i) => ({
      id: stableId(address, s.type, i),
      interface: i,
      region: REGION,
      region_id: REGION,
      url: s.url,
    })),
  }));
}

/** Identity v2.0's `serviceCatalog` (the identity endpoint there is /v2.0). */
export function catalogV2(address: string) {
  return services(address).map((s) => {
    const url = s.type === "identity" ? s.url.replace(/\/v3$/, "/v2.0") : s.url;
    return {
      type: s.type,
      name: s.name,
      endpoints: [
        {
          id: stableId(address, s.type, "v2"),
          region: REGION,
          publicURL: url,
          internalURL: url,
          adminURL: url,
        },
      ],
      endpoints_links: [],
    };
  });
}
