/**
 * Calling the OpenStack API from a test: an HTTPS request made inside a
 * member's network namespace with call-https.mjs (trusting only the given
 * CA, as a client given OS_CACERT), the administrator's password as the
 * first `enable openstack-api` prints it, and Keystone's password auth body.
 */
import { resolve } from "node:path";
import { join } from "node:path";
import type { Lab } from "../../src/lab/lab.js";
import type { ApiServer } from "../../src/openstack/http.js";

const CALL_HTTPS = resolve(import.meta.dirname, "call-https.mjs");

export interface HttpsAnswer {
  status?: number;
  headers?: Record<string, string>;
  /** Parsed when JSON. */
  body?: unknown;
  /** No answer came (refused, untrusted, …). */
  error?: string;
  code?: string;
}

export interface HttpsRequest {
  ca: string;
  host: string;
  port: number;
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/**
 * One request, run with `exec` (a program and its arguments, run inside
 * the namespace; resolves with its standard output).
 */
export async function callHttps(
  exec: (program: string, args: string[]) => Promise<string>,
  r: HttpsRequest,
): Promise<HttpsAnswer> {
  const out = await exec(process.execPath, [
    CALL_HTTPS,
    r.ca,
    r.host,
    String(r.port),
    r.method,
    r.path,
    r.body === undefined ? "" : JSON.stringify(r.body),
    JSON.stringify(r.headers ?? {}),
  ]);
  return JSON.parse(out) as HttpsAnswer;
}

/** An HTTPS call from inside lab member `node`'s namespace to its own Identity port (5000). */
export function callLabIdentity(
  lab: Lab,
  node: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpsAnswer> {
  const n = lab.node(node);
  return callHttps(async (program, args) => (await lab.exec(node, program, args)).stdout, {
    ca: join(n.stateDir, "data/pki/cacert.pem"),
    host: n.address,
    port: 5000,
    method,
    path,
    ...options,
  });
}

/** The admin password from the output of the cluster's first `enable openstack-api`. */
export function printedAdminPassword(output: string): string {
  const line = output.split("\n").find((l) => /^[A-Za-z0-9_-]{32}$/.test(l));
  if (!line) throw new Error(`no administrator password in: ${output}`);
  return line;
}

/** `POST /v3/auth/tokens`'s body for a password in the Default domain, scoped to `project` if given. */
export function passwordAuth(user: string, password: string, project?: string) {
  return {
    auth: {
      identity: {
        methods: ["password"],
        password: { user: { name: user, domain: { id: "default" }, password } },
      },
      ...(project ? { scope: { project: { name: project, domain: { id: "default" } } } } : {}),
    },
  };
}

/** An answer of an in-process API server: status and parsed body ({} when empty). */
export interface InjectedAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * One request to an API server in this process (fastify's injection, no
 * port), with `token` as X-Auth-Token; a string body goes as it is.
 */
export async function injectCall(
  app: ApiServer,
  token: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  body?: unknown,
): Promise<InjectedAnswer> {
  const r = await app.inject({
    method,
    url,
    headers: {
      "x-auth-token": token,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined
      ? { payload: typeof body === "string" ? body : JSON.stringify(body) }
      : {}),
  });
  return { status: r.statusCode, body: r.body ? r.json<Record<string, unknown>>() : {} };
}
