/**
 * Debian's `openstack` CLI (python3-openstackclient) against our API, run
 * inside a member's network namespace as a user on that member would run
 * it: trusting the cluster CA (OS_CACERT) and authenticated either with
 * the static-token plugin (the token stands for an admin of the admin
 * project) or as a user of the identity store with a password (the local
 * plugin, the default).
 */
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import { runIn } from "../../src/lab/netns.js";
import type { RunResult } from "../../src/process/run.js";

const API_CALL = resolve(import.meta.dirname, "api-call.mjs");
const API_CALLS = resolve(import.meta.dirname, "api-calls.mjs");

/** What api-call.mjs prints: the answer, or why none came. */
export interface ApiAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  error?: string;
}

export class OpenStackCli {
  constructor(
    private readonly namespace: string,
    private readonly env: Record<string, string>,
  ) {}

  /**
   * Turns on the static-token plugin through `microovn config set` (given
   * as `configure`) and returns a CLI for the API at `address`.
   */
  static async withStaticToken(
    namespace: string,
    address: string,
    caCert: string,
    configure: (args: string[]) => Promise<unknown>,
  ): Promise<OpenStackCli> {
    const token = randomBytes(20).toString("hex");
    await configure(["config", "set", "openstack-api.static-token", token]);
    await configure(["config", "set", "openstack-api.auth", "static-token"]);
    return new OpenStackCli(namespace, {
      OS_AUTH_TYPE: "admin_token",
      OS_ENDPOINT: `https://${address}:9696`,
      OS_TOKEN: token,
      OS_CACERT: caCert,
    });
  }

  /**
   * One Networking API request with the same token, for what the CLI never
   * sends (malformed bodies, wrong types); `body` goes as it is.
   */
  async call(method: string, path: string, body?: string): Promise<ApiAnswer> {
    const host = new URL(this.env.OS_ENDPOINT!).hostname;
    const args = [API_CALL, this.env.OS_CACERT!, host, "9696", this.env.OS_TOKEN!, method, path];
    const r = await runIn(
      this.namespace,
      process.execPath,
      [...args, ...(body === undefined ? [] : [body])],
      {
        timeoutMs: 30_000,
      },
    );
    return JSON.parse(r.stdout) as ApiAnswer;
  }

  /**
   * Many Networking API requests with the same token, `concurrency` at a
   * time (api-calls.mjs); with `kill`, the process `kill.pid` hangs once
   * `kill.after` answers are in and is SIGKILLed 0.2 s later. The answers come in the order of `calls`.
   */
  async calls(
    calls: readonly { method: string; path: string; body?: unknown }[],
    concurrency: number,
    kill?: { after: number; pid: number },
  ): Promise<{ answers: ApiAnswer[]; killedAfter: number | null }> {
    const host = new URL(this.env.OS_ENDPOINT!).hostname;
    const args = [API_CALLS, this.env.OS_CACERT!, host, "9696", this.env.OS_TOKEN!];
    args.push(String(concurrency));
    if (kill) args.push(String(kill.after), String(kill.pid));
    const r = await runIn(this.namespace, process.execPath, args, {
      timeoutMs: 300_000,
      input: JSON.stringify(calls),
    });
    return JSON.parse(r.stdout) as { answers: ApiAnswer[]; killedAfter: number | null };
  }

  /** A CLI for a user of the identity store, scoped to `project`, as openrc sets it up. */
  static withPassword(
    namespace: string,
    address: string,
    caCert: string,
    login: { user: string; project: string; password: string },
  ): OpenStackCli {
    return new OpenStackCli(namespace, {
      OS_AUTH_URL: `https://${address}:5000/v3`,
      OS_IDENTITY_API_VERSION: "3",
      OS_USERNAME: login.user,
      OS_PASSWORD: login.password,
      OS_USER_DOMAIN_NAME: "Default",
      OS_PROJECT_NAME: login.project,
      OS_PROJECT_DOMAIN_NAME: "Default",
      OS_CACERT: caCert,
    });
  }

  /** `openstack ARGS…`; never throws on exit status. */
  run(args: readonly string[]): Promise<RunResult> {
    const env = Object.entries(this.env).map(([k, v]) => `${k}=${v}`);
    return runIn(this.namespace, "env", [...env, "openstack", ...args], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  }

  /** `openstack ARGS… -f json`, parsed; throws with the CLI's message on failure. */
  async json<T = Record<string, unknown>>(args: readonly string[]): Promise<T> {
    const r = await this.run([...args, "-f", "json"]);
    if (r.exitCode !== 0) {
      throw new Error(`openstack ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}`);
    }
    return JSON.parse(r.stdout) as T;
  }

  /** The CLI's error for a command that must fail (it exits 1 and prints the server's message). */
  async failure(args: readonly string[]): Promise<string> {
    const r = await this.run(args);
    if (r.exitCode === 0) throw new Error(`openstack ${args.join(" ")} succeeded: ${r.stdout}`);
    return r.stderr;
  }
}
