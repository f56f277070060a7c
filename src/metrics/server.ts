/**
 * The /metrics listener of a member. Where it listens follows the
 * cluster-wide `metrics.address` and `metrics.tls` as they change, without a
 * daemon restart. Off loopback it speaks HTTPS with the member's cluster
 * certificate (Prometheus checks it against the cluster CA) unless
 * `metrics.tls` is off. A listener that cannot start (the port is taken)
 * never stops the daemon: it says why, and tries again every RETRY_MS.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import { DEFAULT_METRICS_ADDRESS, METRICS_ADDRESS, METRICS_TLS } from "../cluster/config-keys.js";
import { parseListenAddress } from "../cluster/listen-address.js";
import type { Exporter } from "./exporter.js";

export const RETRY_MS = 10_000;

export interface MetricsTls {
  key: string;
  cert: string;
}

export interface MetricsServerOptions {
  /** This member's cluster address (for `member:PORT`). */
  memberAddress(): string | undefined;
  /** The member's certificate and key, read when a TLS listener starts. */
  tls(): Promise<MetricsTls>;
  log(message: string): void;
}

/** Where and how to listen, as the settings resolve on this member. */
interface Listening {
  host: string;
  port: number;
  https: boolean;
}

function sameListening(a: Listening | undefined, b: Listening | undefined): boolean {
  return a?.host === b?.host && a?.port === b?.port && a?.https === b?.https;
}

export class MetricsServer {
  private server: Server | HttpsServer | undefined;
  private current: Listening | undefined;
  private wanted: Listening | undefined;
  private retry: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  /** Why the listener is not up, when it should be. */
  problem: string | undefined;

  constructor(
    private readonly exporter: Exporter,
    private readonly options: MetricsServerOptions,
  ) {}

  /** Where it listens now ("https://10.0.0.1:9310/metrics"), if it does. */
  get url(): string | undefined {
    const c = this.current;
    if (!c || !this.server) return undefined;
    const host = c.host.includes(":") ? `[${c.host}]` : c.host;
    return `${c.https ? "https" : "http"}://${host}:${c.port}/metrics`;
  }

  /** Follows the cluster-wide settings (the Config table's values). */
  apply(config: Readonly<Record<string, string>> | undefined): Promise<void> {
    this.wanted = this.resolve(config ?? {});
    this.applying = this.applying.then(() => this.converge());
    return this.applying;
  }

  /** The member's certificate changed: a TLS listener takes the new one. */
  async reloadTls(): Promise<void> {
    const server = this.server;
    if (server && "setSecureContext" in server) server.setSecureContext(await this.options.tls());
  }

  async close(): Promise<void> {
    this.wanted = undefined;
    clearTimeout(this.retry);
    await (this.applying = this.applying.then(() => this.converge()));
    this.exporter.stop();
  }

  private resolve(config: Readonly<Record<string, string>>): Listening | undefined {
    const parsed = parseListenAddress(config[METRICS_ADDRESS] ?? DEFAULT_METRICS_ADDRESS);
    // A value checked when it was set; one that no longer parses (edited by hand) means the default.
    const address =
      typeof parsed === "string" ? parseListenAddress(DEFAULT_METRICS_ADDRESS) : parsed;
    if (typeof address === "string" || address.off) return undefined;
    const host = address.host === "member" ? this.options.memberAddress() : address.host;
    if (host === undefined) return undefined;
    return { host, port: address.port, https: !address.loopback && config[METRICS_TLS] !== "off" };
  }

  private async converge(): Promise<void> {
    clearTimeout(this.retry);
    if (sameListening(this.current, this.wanted) && (this.server || !this.wanted)) return;
    if (this.server) {
      const old = this.server;
      this.server = undefined;
      await new Promise<void>((resolve) => old.close(() => resolve()));
      old.closeAllConnections();
    }
    this.current = this.wanted;
    this.problem = undefined;
    const target = this.wanted;
    if (!target) return;
    try {
      const handler = (req: IncomingMessage, res: ServerResponse) => this.answer(req, res);
      const server = target.https
        ? createHttpsServer(await this.options.tls(), handler)
        : createHttpServer(handler);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(target.port, target.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      this.server = server;
      this.options.log(`metrics served at ${this.url}`);
    } catch (e) {
      this.problem = `metrics cannot be served on ${target.host}:${target.port}: ${(e as Error).message}`;
      this.options.log(`${this.problem}; trying again in ${RETRY_MS / 1000} s`);
      this.retry = setTimeout(() => {
        this.applying = this.applying.then(() => this.converge());
      }, RETRY_MS).unref();
    }
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("only GET\n");
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("metrics are at /metrics\n");
      return;
    }
    this.exporter.scrape().then(
      (text) => {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (e: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${e.message}\n`),
    );
  }
}
