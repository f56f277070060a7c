/**
 * What the loads of `npm run bench:api` share (bench/lib/api-load.ts and
 * the per-resource loads it runs): HTTPS calls to the member's API with
 * keep-alive, timed to the answer's last byte; a rate over jobs run so
 * many at a time; and waiting for ovn-northd to catch up between steps.
 */
import type { Agent } from "node:https";
import { request } from "node:https";
import type { OvsdbClient } from "../../src/ovsdb/index.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import { sig } from "./stats.js";

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

/** The member's API as the loads call it: its address, CA, kept-alive connections and a token. */
export interface ApiSession {
  address: string;
  ca: Buffer;
  agent: Agent;
  token: string;
  nb: OvsdbClient<OvnNorthboundDatabase>;
}

export function call(
  session: Omit<ApiSession, "token" | "nb">,
  port: number,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string | number> = {};
  if (token) headers["x-auth-token"] = token;
  if (text !== undefined) {
    headers["content-type"] = "application/json";
    headers["content-length"] = Buffer.byteLength(text);
  }
  const { address: host, agent, ca } = session;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, agent, ca, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        // The answer's time ends with its last byte: parsing it here is the caller's cost.
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const raw = Buffer.concat(chunks).toString("utf8");
        resolve({
          status: res.statusCode ?? 0,
          body: raw === "" ? {} : (JSON.parse(raw) as Record<string, unknown>),
          ms,
        });
      });
    });
    req.on("error", reject);
    req.end(text);
  });
}

/** A Networking API call (port 9696) with the session's token that must answer `status`; its body. */
export async function networking(
  session: ApiSession,
  method: string,
  path: string,
  body: unknown,
  status: number,
): Promise<Record<string, unknown>> {
  const answer = await call(session, 9696, method, path, session.token, body);
  if (answer.status !== status) {
    throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body;
}

/** A figure measured sequentially and `concurrency` at a time, as the JSON line gives it. */
export function twoWays(concurrency: number, sequential: number, concurrent: number, digits = 4) {
  return {
    sequential: sig(sequential, digits),
    [`concurrent${concurrency}`]: sig(concurrent, digits),
  };
}

/** `count` jobs, `concurrency` at a time; the rate in jobs per second. */
export async function rate(count: number, concurrency: number, job: (i: number) => Promise<void>) {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/**
 * Job 0 to `sequential` - 1 one at a time, then the next `concurrent`
 * `concurrency` at a time, each step from a settled NB: the two rates.
 */
export async function sequentialThenConcurrent(
  nb: OvsdbClient<OvnNorthboundDatabase>,
  counts: { sequential: number; concurrent: number; concurrency: number },
  job: (i: number) => Promise<void>,
) {
  await settle(nb);
  const sequential = await rate(counts.sequential, 1, job);
  await settle(nb);
  const concurrent = await rate(counts.concurrent, counts.concurrency, (i) =>
    job(counts.sequential + i),
  );
  return { sequential, concurrent };
}

/**
 * Waits until ovn-northd has worked through every NB change so far (NB's
 * nb_cfg bumped, then SB's copy of it back in sb_cfg), so that each
 * measured step starts on a quiet machine rather than paying for the
 * backlog the step before left.
 */
export async function settle(nb: OvsdbClient<OvnNorthboundDatabase>): Promise<void> {
  const [global] = await nb.select("NB_Global", [], ["nb_cfg"]);
  if (!global) throw new Error("NB has no NB_Global row");
  const bump = nb.transaction();
  bump.mutate("NB_Global", [["_uuid", "==", global._uuid]], [["nb_cfg", "+=", 1]]);
  await bump.commit();
  const wanted = global.nb_cfg + 1;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [now] = await nb.select("NB_Global", [], ["sb_cfg"]);
    if (now && now.sb_cfg >= wanted) return;
    if (Date.now() > deadline) throw new Error("ovn-northd did not catch up within 120 s");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The Identity request body for a token scoped to the admin project, by password. */
export function adminPasswordAuth(adminPassword: string) {
  return {
    auth: {
      identity: {
        methods: ["password"],
        password: { user: { name: "admin", domain: { id: "default" }, password: adminPassword } },
      },
      scope: { project: { name: "admin", domain: { id: "default" } } },
    },
  };
}

/** `POST /v3/auth/tokens` with `auth`: the status, and the token when one was issued. */
export function issueToken(
  session: Omit<ApiSession, "token" | "nb">,
  auth: unknown,
): Promise<{ status: number; token?: string }> {
  const { address: host, agent, ca } = session;
  const text = JSON.stringify(auth);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port: 5000,
        method: "POST",
        path: "/v3/auth/tokens",
        agent,
        ca,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(text) },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            token: res.headers["x-subject-token"] as string | undefined,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(text);
  });
}
