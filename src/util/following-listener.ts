/**
 * An HTTP(S) listener whose address follows a setting that can change while
 * the daemon runs (`metrics.address`, `dashboard.address`). Moves are done
 * one at a time, in the order asked. A listener that cannot start (the port
 * is taken) never stops the daemon: it keeps the reason in `problem`, logs
 * it, and tries again every `retryMs` until it can or is moved elsewhere.
 */
import {
  createServer as createHttpServer,
  type RequestListener,
  type Server as HttpServer,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";

/** Where and how to listen. */
export interface ListenTarget {
  host: string;
  port: number;
  https: boolean;
}

/** A certificate and its key, PEM. */
export interface KeyPair {
  key: string;
  cert: string;
}

export interface FollowingListenerOptions {
  /** What listens, for the log and `problem` ("metrics", "dashboard"). */
  what: string;
  handler: RequestListener;
  /** The certificate to serve, read whenever an HTTPS listener starts. */
  tls(): Promise<KeyPair>;
  log(message: string): void;
  retryMs?: number;
}

export const RETRY_LISTEN_MS = 10_000;

function sameTarget(a: ListenTarget | undefined, b: ListenTarget | undefined): boolean {
  return a?.host === b?.host && a?.port === b?.port && a?.https === b?.https;
}

export class FollowingListener {
  private server: HttpServer | HttpsServer | undefined;
  private current: ListenTarget | undefined;
  private wanted: ListenTarget | undefined;
  private retry: NodeJS.Timeout | undefined;
  private moving: Promise<void> = Promise.resolve();
  /** Why it does not listen where it should, when that is so. */
  problem: string | undefined;

  constructor(private readonly options: FollowingListenerOptions) {}

  /** Where it listens now, if it does. */
  get listening(): ListenTarget | undefined {
    return this.server ? this.current : undefined;
  }

  /** The URL of `path` where it listens now ("https://10.0.0.1:6690/"), if it does. */
  url(path = "/"): string | undefined {
    const at = this.listening;
    if (!at) return undefined;
    const host = at.host.includes(":") ? `[${at.host}]` : at.host;
    return `${at.https ? "https" : "http"}://${host}:${at.port}${path}`;
  }

  /** Listens at `target` (nowhere when undefined) once the moves asked before are done. */
  listenAt(target: ListenTarget | undefined): Promise<void> {
    this.wanted = target;
    this.moving = this.moving.then(() => this.converge());
    return this.moving;
  }

  close(): Promise<void> {
    return this.listenAt(undefined);
  }

  /** The certificate changed (a renewal, a new CA): an HTTPS listener serves the new one. */
  async reloadTls(): Promise<void> {
    const server = this.server;
    if (server && "setSecureContext" in server) server.setSecureContext(await this.options.tls());
  }

  private async converge(): Promise<void> {
    clearTimeout(this.retry);
    if (sameTarget(this.current, this.wanted) && (this.server || !this.wanted)) return;
    const { what } = this.options;
    const log = (message: string) => this.options.log(message);
    if (this.server) {
      const old = this.server;
      const url = this.url();
      this.server = undefined;
      const closed = new Promise<void>((resolve) => old.close(() => resolve()));
      old.closeAllConnections();
      await closed;
      log(`${what} no longer served at ${url}`);
    }
    this.current = this.wanted;
    this.problem = undefined;
    const target = this.wanted;
    if (!target) return;
    try {
      const server = target.https
        ? createHttpsServer(await this.options.tls(), this.options.handler)
        : createHttpServer(this.options.handler);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(target.port, target.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      this.server = server;
      log(`${what} served at ${this.url()}`);
    } catch (e) {
      const retryMs = this.options.retryMs ?? RETRY_LISTEN_MS;
      const where = target.host.includes(":") ? `[${target.host}]` : target.host;
      this.problem = `${what} cannot listen on ${where}:${target.port}: ${(e as Error).message}`;
      log(`${this.problem}; trying again in ${retryMs / 1000} s`);
      this.retry = setTimeout(() => {
        this.moving = this.moving.then(() => this.converge());
      }, retryMs).unref();
    }
  }
}
