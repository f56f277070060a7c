/**
 * The /metrics listener of a member. Where it listens follows the
 * cluster-wide `metrics.address` and `metrics.tls` as they change, without a
 * daemon restart. Off loopback it speaks HTTPS with the member's cluster
 * certificate (Prometheus checks it against the cluster CA) unless
 * `metrics.tls` is off. A listener that cannot start (the port is taken)
 * never stops the daemon: it says why, and tries again every RETRY_MS.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DEFAULT_METRICS_ADDRESS, METRICS_ADDRESS, METRICS_TLS } from "../cluster/config-keys.js";
import { bindHost, parseListenAddress } from "../cluster/listen-address.js";
import { FollowingListener, type KeyPair, type ListenTarget } from "../util/following-listener.js";
import type { Exporter } from "./exporter.js";

export interface MetricsServerOptions {
  /** This member's cluster address (for `member:PORT`). */
  memberAddress(): string | undefined;
  /** The member's certificate and key, read when a TLS listener starts. */
  tls(): Promise<KeyPair>;
  log(message: string): void;
  /** How long a listener that could not start waits to try again. */
  retryMs?: number;
}

export class MetricsServer {
  private readonly listener: FollowingListener;

  constructor(
    private readonly exporter: Exporter,
    private readonly options: MetricsServerOptions,
  ) {
    this.listener = new FollowingListener({
      what: "metrics",
      handler: (req, res) => this.answer(req, res),
      tls: () => options.tls(),
      log: (m) => options.log(m),
      ...(options.retryMs !== undefined ? { retryMs: options.retryMs } : {}),
    });
  }

  /** Why the listener is not up, when it should be. */
  get problem(): string | undefined {
    return this.listener.problem;
  }

  /** Where it listens now ("https://10.0.0.1:9310/metrics"), if it does. */
  get url(): string | undefined {
    return this.listener.url("/metrics");
  }

  /** Follows the cluster-wide settings (the Config table's values). */
  apply(config: Readonly<Record<string, string>> | undefined): Promise<void> {
    return this.listener.listenAt(this.resolve(config ?? {}));
  }

  /** The member's certificate changed: a TLS listener takes the new one. */
  reloadTls(): Promise<void> {
    return this.listener.reloadTls();
  }

  async close(): Promise<void> {
    await this.listener.close();
    this.exporter.stop();
  }

  private resolve(config: Readonly<Record<string, string>>): ListenTarget | undefined {
    const parsed = parseListenAddress(config[METRICS_ADDRESS] ?? DEFAULT_METRICS_ADDRESS);
    // A value checked when it was set; one that no longer parses (edited by hand) means the default.
    const address =
      typeof parsed === "string" ? parseListenAddress(DEFAULT_METRICS_ADDRESS) : parsed;
    if (typeof address === "string" || address.off) return undefined;
    const host = bindHost(address, this.options.memberAddress() ?? "");
    // `member:PORT` on a machine that is no member yet: nowhere until it is.
    if (host === "") return undefined;
    return {
      host,
      port: address.port,
      https: !address.loopback && config[METRICS_TLS] !== "off",
    };
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
