/**
 * Tokens, as Keystone v3 hands them out: `POST /v3/auth/tokens` (password
 * or an earlier token; scoped to a project, or unscoped) answers 201 with
 * the token in X-Subject-Token and its body as Keystone 22 sends it;
 * `GET`/`HEAD` validate the X-Subject-Token (404 when it is not valid, as
 * Keystone answers), `DELETE` revokes it on every member; `GET
 * /v3/auth/projects` and `/v3/auth/catalog` are the caller's.
 */
import type { FastifyRequest } from "fastify";
import { Type, type Static } from "typebox";
import { OPENSTACK_API_KEYSTONE_URL } from "../../cluster/config-keys.js";
import { isDefaultDomain, DOMAIN } from "../auth/identity-view.js";
import { resolveToken, TokenInvalid, type ValidToken } from "../auth/local.js";
import { pluginName, unauthorized } from "../auth/plugins.js";
import { keystoneTime } from "../auth/tokens.js";
import type { IdentityProject, IdentityUser } from "../../ovsdb/models/microovn.js";
import { ApiError } from "../errors.js";
import type { ApiApp } from "../http.js";
import { catalogV3 } from "./catalog.js";
import { callerOf, forbidden, header, notFound, type IdentityContext } from "./context.js";
import { listLinks, projectView } from "./views.js";

const open = { additionalProperties: true } as const;

const DomainRef = Type.Object(
  { id: Type.Optional(Type.String()), name: Type.Optional(Type.String()) },
  open,
);

export const AuthRequestSchema = Type.Object(
  {
    auth: Type.Object(
      {
        identity: Type.Object(
          {
            methods: Type.Array(Type.String(), { minItems: 1 }),
            password: Type.Optional(
              Type.Object(
                {
                  user: Type.Object(
                    {
                      id: Type.Optional(Type.String()),
                      name: Type.Optional(Type.String()),
                      domain: Type.Optional(DomainRef),
                      password: Type.String(),
                    },
                    open,
                  ),
                },
                open,
              ),
            ),
            token: Type.Optional(Type.Object({ id: Type.String() }, open)),
          },
          open,
        ),
        scope: Type.Optional(
          Type.Union([
            Type.Literal("unscoped"),
            Type.Object(
              {
                project: Type.Optional(
                  Type.Object(
                    {
                      id: Type.Optional(Type.String()),
                      name: Type.Optional(Type.String()),
                      domain: Type.Optional(DomainRef),
                    },
                    open,
                  ),
                ),
              },
              open,
            ),
          ]),
        ),
      },
      open,
    ),
  },
  { ...open, $id: "IdentityAuthRequest" },
);
type AuthRequest = Static<typeof AuthRequestSchema>;

const NoCatalog = Type.Object({ nocatalog: Type.Optional(Type.String()) });

/** The `token` of a v3 token body, as Keystone 22 writes it. */
export function tokenBody(
  context: IdentityContext,
  valid: ValidToken,
  options: { catalog: boolean },
) {
  const { payload, user, project, caller } = valid;
  const { view } = context.tokens;
  return {
    methods: payload.m,
    user: { domain: DOMAIN, id: user.user_id, name: user.name, password_expires_at: null },
    audit_ids: payload.aud,
    expires_at: keystoneTime(payload.exp),
    issued_at: keystoneTime(payload.iat),
    ...(project
      ? {
          project: { domain: DOMAIN, id: project.project_id, name: project.name },
          is_domain: false,
          roles: caller.roles.map((name) => ({ id: view.roleByName(name)?.role_id ?? name, name })),
          ...(options.catalog ? { catalog: catalogV3(context.address) } : {}),
        }
      : {}),
  };
}

/** The user an auth request names by password or by an earlier token; 401 otherwise. */
async function authenticatedUser(
  context: IdentityContext,
  identity: AuthRequest["auth"]["identity"],
): Promise<{ user: IdentityUser; methods: string[]; parent?: ValidToken }> {
  const { tokens, log } = context;
  if (identity.methods.includes("password") && identity.password) {
    const given = identity.password.user;
    if (given.id === undefined && !isDefaultDomain(given.domain)) throw unauthorized();
    const user = await tokens.checkPassword(given, given.password);
    if (!user) {
      log(`identity: password refused for user ${given.id ?? given.name ?? "(none given)"}`);
      throw unauthorized();
    }
    return { user, methods: ["password"] };
  }
  if (identity.methods.includes("token") && identity.token) {
    const parent = tokens.validate(identity.token.id);
    const methods = ["token", ...parent.payload.m.filter((m) => m !== "token")];
    return { user: parent.user, methods, parent };
  }
  throw new ApiError(
    400,
    `Expecting to find the password or token method with its credentials in auth.identity ` +
      `(methods given: ${identity.methods.join(", ")}).`,
  );
}

/** The project a request scopes to: named, the user's default one, or none (unscoped). */
function scopeProject(
  context: IdentityContext,
  scope: AuthRequest["auth"]["scope"],
  user: IdentityUser,
): IdentityProject | undefined {
  const { view } = context.tokens;
  if (scope === "unscoped") return undefined;
  const wanted = scope?.project;
  let project: IdentityProject | undefined;
  if (wanted) {
    if (wanted.id === undefined && !isDefaultDomain(wanted.domain)) throw unauthorized();
    project =
      wanted.id !== undefined
        ? view.project(wanted.id)
        : wanted.name !== undefined
          ? view.projectByName(wanted.name)
          : undefined;
    if (!project || !project.enabled) throw unauthorized("The project to scope to was not found.");
  } else {
    // No scope asked for: Keystone scopes to the default project where the user has a role.
    project = user.default_project ? view.projectByUuid(user.default_project) : undefined;
    if (!project?.enabled || view.roleNames(user._uuid, project._uuid).length === 0) {
      return undefined;
    }
  }
  if (view.roleNames(user._uuid, project._uuid).length === 0) {
    throw unauthorized(`User ${user.user_id} has no access to project ${project.project_id}.`);
  }
  return project;
}

/** X-Subject-Token of a GET/HEAD/DELETE, valid, and the caller's to see (or the caller is admin). */
async function subjectToken(
  context: IdentityContext,
  request: FastifyRequest,
): Promise<ValidToken> {
  const caller = await callerOf(context, request);
  const subject = header(request, "x-subject-token");
  if (subject === undefined)
    throw new ApiError(400, "X-Subject-Token is missing: name the token to check.");
  let valid: ValidToken;
  try {
    valid = context.tokens.validate(subject);
  } catch {
    throw notFound("token", "the token in X-Subject-Token is not valid");
  }
  if (!caller.roles.includes("admin") && caller.userId !== valid.user.user_id) throw forbidden();
  return valid;
}

/** Signs a token for an authenticated user (the local plugin's), and logs it. */
export async function issueToken(
  context: IdentityContext,
  request: {
    user: IdentityUser;
    project: IdentityProject | undefined;
    methods: string[];
    parent?: ValidToken | undefined;
  },
): Promise<{ token: string; valid: ValidToken }> {
  const { user, project, methods, parent } = request;
  const { token, payload } = await context.tokens.issue({
    user,
    project,
    methods,
    ...(parent ? { parent: parent.payload } : {}),
  });
  context.log(
    `identity: token issued to ${user.name}` +
      (project ? ` on project ${project.name}` : " (unscoped)"),
  );
  // From the payload, not by checking the token: a key another server just
  // added may not be in this server's replica yet.
  try {
    return { token, valid: resolveToken(payload, context.tokens.view) };
  } catch (e) {
    // Changed on another member between the checks and now (a role revoked, a user disabled).
    if (e instanceof TokenInvalid) throw unauthorized();
    throw e;
  }
}

/**
 * While Keystone or oVirt engine issues the tokens, one of ours would be
 * refused by the very plugin in force: say where tokens come from instead.
 */
function refuseForeignTokens(context: IdentityContext): void {
  const plugin = pluginName(context.backend);
  if (plugin === "keystone") {
    const url =
      context.backend.config(OPENSTACK_API_KEYSTONE_URL) ??
      "(openstack-api.keystone-url is not set)";
    throw new ApiError(
      503,
      `Tokens of this cluster come from the Keystone at ${url}: point OS_AUTH_URL there.`,
    );
  }
  if (plugin === "ovirt") {
    throw new ApiError(
      503,
      "Tokens of this cluster come from oVirt engine's SSO: ask for one with POST /v2.0/tokens.",
    );
  }
}

export function authRoutes(app: ApiApp, context: IdentityContext, base: string): void {
  const tags = ["auth"];
  app.post(
    "/v3/auth/tokens",
    { schema: { summary: "Issue a token", tags, body: AuthRequestSchema, querystring: NoCatalog } },
    async (request, reply) => {
      refuseForeignTokens(context);
      const { identity, scope } = request.body.auth;
      const { user, methods, parent } = await authenticatedUser(context, identity);
      const project = scopeProject(context, scope, user);
      const { token, valid } = await issueToken(context, { user, project, methods, parent });
      return reply
        .code(201)
        .header("x-subject-token", token)
        .send({
          token: tokenBody(context, valid, { catalog: request.query.nocatalog === undefined }),
        });
    },
  );
  app.get(
    "/v3/auth/tokens",
    { schema: { summary: "Validate the token in X-Subject-Token", tags, querystring: NoCatalog } },
    async (request, reply) => {
      const valid = await subjectToken(context, request);
      return reply.header("x-subject-token", header(request, "x-subject-token")!).send({
        token: tokenBody(context, valid, { catalog: request.query.nocatalog === undefined }),
      });
    },
  );
  app.delete(
    "/v3/auth/tokens",
    { schema: { summary: "Revoke the token in X-Subject-Token, on every member", tags } },
    async (request, reply) => {
      const valid = await subjectToken(context, request);
      await context.tokens.revoke(valid.payload);
      context.log(`identity: a token of ${valid.user.name} revoked`);
      return reply.code(204).send();
    },
  );
  app.get(
    "/v3/auth/projects",
    { schema: { summary: "The projects the caller may scope to", tags } },
    async (request) => {
      const caller = await callerOf(context, request);
      const { view } = context.tokens;
      const user = view.user(caller.userId);
      const projects = user ? view.projectsOf(user._uuid).filter((p) => p.enabled) : [];
      return {
        projects: projects.map((p) => projectView(p, base)),
        links: listLinks(base, "/v3/auth/projects"),
      };
    },
  );
  app.get(
    "/v3/auth/catalog",
    { schema: { summary: "The service catalog", tags } },
    async (request) => {
      await callerOf(context, request);
      return { catalog: catalogV3(context.address), links: listLinks(base, "/v3/auth/catalog") };
    },
  );
}
