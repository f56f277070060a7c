/**
 * What Keystone answers before authentication: `GET /v3` (the v3 version
 * document, which every `openstack` command asks first) and `GET /` (the
 * version list, answered 300 Multiple Choices, for an auth URL without a
 * path). The links point at this member's Identity port.
 */
import { Type, type Static } from "typebox";
import { documentRoute, type ApiRoute } from "../http.js";

/** The v3 minor version Keystone 17 and later announce; clients accept any v3.x. */
export const IDENTITY_VERSION = "v3.14";
const IDENTITY_UPDATED = "2020-04-07T00:00:00Z";

export const IdentityVersionSchema = Type.Object({
  id: Type.String(),
  status: Type.String(),
  updated: Type.String(),
  links: Type.Array(Type.Object({ rel: Type.String(), href: Type.String() })),
  "media-types": Type.Array(Type.Object({ base: Type.String(), type: Type.String() })),
});
export type IdentityVersion = Static<typeof IdentityVersionSchema>;

export const IdentityVersionDocumentSchema = Type.Object(
  { version: IdentityVersionSchema },
  { $id: "IdentityVersionDocument" },
);

export const IdentityVersionListSchema = Type.Object(
  { versions: Type.Object({ values: Type.Array(IdentityVersionSchema) }) },
  { $id: "IdentityVersionList" },
);
export type IdentityVersionList = Static<typeof IdentityVersionListSchema>;

export function identityVersion(baseUrl: string): IdentityVersion {
  return {
    id: IDENTITY_VERSION,
    status: "stable",
    updated: IDENTITY_UPDATED,
    links: [{ rel: "self", href: `${baseUrl}/v3/` }],
    "media-types": [
      { base: "application/json", type: "application/vnd.openstack.identity-v3+json" },
    ],
  };
}

export function identityVersionList(baseUrl: string): IdentityVersionList {
  return { versions: { values: [identityVersion(baseUrl)] } };
}

const tag = "identity";

export const IDENTITY_VERSION_ROUTES: readonly ApiRoute[] = [
  documentRoute({
    url: "/",
    summary: "The Identity API versions (300 Multiple Choices, as Keystone answers)",
    tag,
    status: 300,
    schema: IdentityVersionListSchema,
    body: identityVersionList,
  }),
  documentRoute({
    url: "/v3",
    summary: "The Identity v3 version document",
    tag,
    status: 200,
    schema: IdentityVersionDocumentSchema,
    body: (base) => ({ version: identityVersion(base) }),
  }),
];
