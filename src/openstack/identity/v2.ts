/**
 * Identity v2.0, as oVirt engine (and `OS_IDENTITY_API_VERSION=2`) speaks
 * it, on the Identity ports: `POST /v2.0/tokens` (password credentials with
 * an optional tenant by name or id, or an earlier token) answers 200 with
 * an `access` body and a serviceCatalog; `GET /v2.0/tenants` lists the
 * caller's projects. The tokens are the same as v3's: valid on Networking
 * and on either Identity version.
 */
import { Type, type Static } from "typebox";
import { unauthorized } from "../auth/plugins.js";
import { keystoneV2Time } from "../auth/tokens.js";
import type { ValidToken } from "../auth/local.js";
import type { IdentityProject, IdentityUser } from "../../ovsdb/models/microovn.js";
import { ApiError } from "../errors.js";
import type { ApiApp } from "../http.js";
import { issueToken } from "./auth.js";
import { catalogV2 } from "./catalog.js";
import { callerOf, type IdentityContext } from "./context.js";

const open = { additionalProperties: true } as const;

export const V2AuthRequestSchema = Type.Object(
  {
    auth: Type.Object(
      {
        passwordCredentials: Type.Optional(
          Type.Object({ username: Type.String(), password: Type.String() }, open),
        ),
        token: Type.Optional(Type.Object({ id: Type.String() }, open)),
        tenantName: Type.Optional(Type.String()),
        tenantId: Type.Optional(Type.String()),
      },
      open,
    ),
  },
  { ...open, $id: "IdentityV2AuthRequest" },
);
type V2AuthRequest = Static<typeof V2AuthRequestSchema>["auth"];

/** The v2.0 version document, for clients that discover from a /v2.0 auth URL. */
export function v2Version(base: string) {
  return {
    version: {
      id: "v2.0",
      status: "deprecated",
      updated: "2016-08-04T00:00:00Z",
      links: [{ rel: "self", href: `${base}/v2.0/` }],
      "media-types": [
        { base: "application/json", type: "application/vnd.openstack.identity-v2.0+json" },
      ],
    },
  };
}

function tenantView(p: IdentityProject) {
  return { id: p.project_id, name: p.name, description: p.description, enabled: p.enabled };
}

/** What a v2.0 `access` body says of a token, whichever plugin issued it. */
interface V2Token {
  id: string;
  issuedAt: number;
  expires: number;
  auditIds: string[];
  project: IdentityProject | undefined;
  userId: string;
  userName: string;
  roles: readonly string[];
}

function localV2Token(token: string, valid: ValidToken): V2Token {
  return {
    id: token,
    issuedAt: valid.payload.iat,
    expires: valid.payload.exp,
    auditIds: valid.payload.aud,
    project: valid.project,
    userId: valid.user.user_id,
    userName: valid.user.name,
    roles: valid.caller.roles,
  };
}

/** The `access` body of a v2.0 token. */
export function accessBody(context: IdentityContext, t: V2Token) {
  const { view } = context.tokens;
  return {
    access: {
      token: {
        id: t.id,
        issued_at: keystoneV2Time(t.issuedAt),
        expires: keystoneV2Time(t.expires),
        audit_ids: t.auditIds,
        ...(t.project ? { tenant: tenantView(t.project) } : {}),
      },
      serviceCatalog: t.project ? catalogV2(context.address) : [],
      user: {
        id: t.userId,
        name: t.userName,
        username: t.userName,
        roles: t.roles.map((name) => ({ name })),
        roles_links: [],
      },
      metadata: {
        is_admin: 0,
        roles: t.roles.map((name) => view.roleByName(name)?.role_id).filter((r) => r !== undefined),
      },
    },
  };
}

async function v2User(
  context: IdentityContext,
  auth: V2AuthRequest,
): Promise<{ user: IdentityUser; methods: string[]; parent?: ValidToken }> {
  if (auth.passwordCredentials) {
    const { username, password } = auth.passwordCredentials;
    const user = await context.tokens.checkPassword({ name: username }, password);
    if (!user) {
      context.log(`identity: v2.0 password refused for user ${username}`);
      throw unauthorized();
    }
    return { user, methods: ["password"] };
  }
  if (auth.token) {
    const parent = context.tokens.validate(auth.token.id);
    return { user: parent.user, methods: ["token"], parent };
  }
  throw new ApiError(400, "Expecting auth.passwordCredentials or auth.token.");
}

/** The tenant asked for by name or id; else the default project if the user has a role there. */
function v2Project(context: IdentityContext, auth: V2AuthRequest, user: IdentityUser) {
  const { view } = context.tokens;
  const named =
    auth.tenantId !== undefined
      ? view.project(auth.tenantId)
      : auth.tenantName !== undefined
        ? view.projectByName(auth.tenantName)
        : undefined;
  const asked = auth.tenantId !== undefined || auth.tenantName !== undefined;
  const project = asked
    ? named
    : user.default_project
      ? view.projectByUuid(user.default_project)
      : undefined;
  const held = project ? view.roleNames(user._uuid, project._uuid).length > 0 : false;
  if (asked && (!project || !project.enabled || !held)) {
    throw unauthorized(
      `User ${user.user_id} has no access to tenant ${auth.tenantId ?? auth.tenantName}.`,
    );
  }
  return held && project?.enabled ? project : undefined;
}

/** With the ovirt plugin, a password is checked by oVirt engine's SSO, whose token this is. */
async function ovirtAccess(context: IdentityContext, auth: V2AuthRequest) {
  if (!auth.passwordCredentials) {
    throw new ApiError(
      400,
      "With oVirt engine's SSO, ask for a token with auth.passwordCredentials.",
    );
  }
  const { username, password } = auth.passwordCredentials;
  const sso = await context.ovirt.passwordToken(username, password);
  context.log(`identity: oVirt engine issued a token to ${username}`);
  return accessBody(context, {
    id: sso.token,
    issuedAt: Date.now(),
    expires: sso.expires,
    auditIds: [],
    project: context.tokens.view.projectByName("admin"),
    userId: username,
    userName: username,
    roles: [],
  });
}

export function v2Routes(app: ApiApp, context: IdentityContext, base: string): void {
  const tags = ["v2.0"];
  app.get("/v2.0", { schema: { summary: "The Identity v2.0 version document", tags } }, async () =>
    v2Version(base),
  );
  app.post(
    "/v2.0/tokens",
    { schema: { summary: "Issue a token (v2.0)", tags, body: V2AuthRequestSchema } },
    async (request) => {
      const { auth } = request.body;
      if (context.ovirt.active()) return ovirtAccess(context, auth);
      const { user, methods, parent } = await v2User(context, auth);
      const project = v2Project(context, auth, user);
      const { token, valid } = await issueToken(context, { user, project, methods, parent });
      return accessBody(context, localV2Token(token, valid));
    },
  );
  app.get(
    "/v2.0/tenants",
    { schema: { summary: "The caller's tenants (v2.0)", tags } },
    async (request) => {
      const caller = await callerOf(context, request);
      const { view } = context.tokens;
      const user = view.user(caller.userId);
      const projects = user
        ? view.projectsOf(user._uuid)
        : caller.projectId !== undefined
          ? [view.project(caller.projectId)].filter((p) => p !== undefined)
          : [];
      return { tenants: projects.map(tenantView), tenants_links: [] };
    },
  );
}
