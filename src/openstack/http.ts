/**
 * One fastify server per port, over HTTPS. An API is a list of routes, each
 * with its schema (written once with TypeBox: it validates, shapes the
 * answer and documents the route in the port's OpenAPI 3.1 document at
 * `/openapi.json`), and its own error form (Neutron's or Keystone's), which
 * every error takes: unknown paths (404), methods a path does not take
 * (405), requests that fail validation or cannot be parsed (400), and our
 * own faults (500, details in the log only).
 */
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifySchema,
} from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Server } from "node:https";
import type { TSchema } from "typebox";
import { joinHostPort } from "../cluster/member-client.js";
import { VERSION } from "../version.js";
import { authOutcome, type SecurityRecorder } from "./security-events.js";
import {
  ApiError,
  INTERNAL_ERROR_MESSAGE,
  METHOD_NOT_ALLOWED_MESSAGE,
  NOT_FOUND_MESSAGE,
  type ErrorForm,
} from "./errors.js";

export interface ApiReply {
  status: number;
  body: unknown;
}

export interface ApiRoute {
  url: string;
  /** Validation, answer shapes and documentation; the error form is added to `response`. */
  schema: FastifySchema;
  /** The answer; `baseUrl` is this port's own URL, for links. */
  reply(request: { query: unknown }, baseUrl: string): ApiReply;
}

/**
 * A document a GET answers whole (version lists and the like): `body` gets
 * this port's URL for its links.
 */
export function documentRoute(options: {
  url: string;
  summary: string;
  tag: string;
  status: number;
  schema: TSchema;
  body: (baseUrl: string) => unknown;
}): ApiRoute {
  return {
    url: options.url,
    schema: {
      summary: options.summary,
      tags: [options.tag],
      response: { [options.status]: options.schema },
    },
    reply: (_request, base) => ({ status: options.status, body: options.body(base) }),
  };
}

/** A port's fastify instance, typed by its TypeBox schemas. */
export type ApiApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface ApiDefinition {
  /** "Networking", "Identity". */
  title: string;
  /** The form of its error bodies, as this API's clients read them. */
  errors: ErrorForm;
  /** Documents a GET answers whole (version lists); other methods get 405. */
  routes: readonly ApiRoute[];
  /**
   * Every other route, registered on the port's server with `baseUrl`, the
   * port's own URL. Routes throw ApiError for answers other than success.
   */
  register?(app: ApiApp, baseUrl: string): void | Promise<void>;
}

export interface ApiServerOptions {
  api: ApiDefinition;
  /** Where clients reach this port (the member address), for links. */
  host: string;
  port: number;
  tls: { key: string; cert: string };
  log: (message: string) => void;
  /** Where logins and refusals are recorded (the member's security log). */
  security?: SecurityRecorder;
}

export type ApiServer = ApiApp;

/** The largest request body taken (a bulk create of some thousand ports fits). */
export const BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/** Methods a route answers with 405 unless it serves them (GET brings HEAD along). */
const OTHER_METHODS = ["DELETE", "OPTIONS", "PATCH", "POST", "PUT"] as const;

export function baseUrl(host: string, port: number): string {
  return `https://${joinHostPort(host, port)}`;
}

/** Every method a route may serve, for the Allow header and 405. */
const ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * The API's own routes; then, for each path, the methods it does not take
 * answer 405 naming those it does (as on the version documents), rather
 * than 404 as if the path did not exist.
 */
async function registerWith405(app: ApiApp, api: ApiDefinition, base: string): Promise<void> {
  if (!api.register) return;
  const served = new Map<string, Set<string>>();
  app.addHook("onRoute", (route) => {
    const methods = served.get(route.url) ?? new Set<string>();
    for (const m of [route.method].flat()) methods.add(m);
    served.set(route.url, methods);
  });
  await api.register(app, base);
  // Routes the API registers inside plugins of its own are added now.
  await app.after();
  for (const [url, methods] of [...served]) {
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
          .send(api.errors.body(405, METHOD_NOT_ALLOWED_MESSAGE)),
    });
  }
}

export async function buildApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { api, log } = options;
  const base = baseUrl(options.host, options.port);
  const app = Fastify({
    https: options.tls,
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: {
      customOptions: {
        // An attribute the schema does not know is an error the client is
        // told about (as Neutron does), never silently dropped.
        removeAdditional: false,
        allErrors: false,
      },
    },
    // Clients follow the links we give, which end in a slash (".../v3/").
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();
  app.addSchema(api.errors.schema);
  const { security } = options;
  if (security) {
    // onSend, not onResponse: once the answer is out, a client that has
    // hung up has taken the socket, and with it the caller's address.
    app.addHook("onSend", async (request, reply, payload) => {
      const event = authOutcome(request, reply.statusCode);
      if (event) security(event);
      return payload;
    });
  }
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: `MicroOVN OpenStack ${api.title} API`, version: VERSION },
      servers: [{ url: base }],
    },
  });

  const errorReply = { $ref: `${api.errors.schemaId}#` };
  for (const route of api.routes) {
    app.get(
      route.url,
      {
        schema: {
          ...route.schema,
          response: { ...(route.schema.response ?? {}), "4xx": errorReply },
        },
      },
      async (request, reply) => {
        const answer = route.reply(request, base);
        return reply.code(answer.status).send(answer.body);
      },
    );
    app.route({
      method: [...OTHER_METHODS],
      url: route.url,
      schema: { hide: true },
      handler: async (_request, reply) =>
        reply
          .code(405)
          .header("allow", "GET, HEAD")
          .send(api.errors.body(405, METHOD_NOT_ALLOWED_MESSAGE)),
    });
  }
  // The API's routes (and scopes of their own) inherit these handlers.
  app.setNotFoundHandler(async (_request, reply) =>
    reply.code(404).send(api.errors.body(404, NOT_FOUND_MESSAGE)),
  );
  app.setErrorHandler(async (error: FastifyError | ApiError, request, reply) => {
    if (error instanceof ApiError) {
      return reply
        .code(error.status)
        .headers(error.headers)
        .send(api.errors.body(error.status, error.message, error.type));
    }
    const status = error.validation ? 400 : (error.statusCode ?? 500);
    if (status >= 400 && status < 500) {
      const message = error.validation
        ? validationMessage(error.validationContext ?? "body", error.validation)
        : error.message;
      return reply.code(status).send(api.errors.body(status, message));
    }
    log(`${request.method} ${request.url}: ${error.stack ?? error.message}`);
    return reply.code(500).send(api.errors.body(500, INTERNAL_ERROR_MESSAGE));
  });
  await registerWith405(app, api, base);
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}

/**
 * What a request that failed its schema got wrong, naming the attribute: an
 * attribute the resource does not take, a wrong type, a value out of the
 * allowed ones.
 */
export function validationMessage(
  context: string,
  problems: readonly { instancePath: string; message?: string; params: Record<string, unknown> }[],
): string {
  return problems
    .map((p) => {
      const where = `${context}${p.instancePath}`;
      const { additionalProperty, allowedValues, missingProperty } = p.params;
      if (typeof additionalProperty === "string") {
        return `${where}: '${additionalProperty}' is not an attribute it takes`;
      }
      if (typeof missingProperty === "string") return `${where}: '${missingProperty}' is required`;
      if (Array.isArray(allowedValues)) {
        return `${where} must be one of ${allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
      }
      return `${where} ${p.message ?? "is not valid"}`;
    })
    .join("; ");
}
