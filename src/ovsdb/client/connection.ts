/**
 * One JSON-RPC session with one OVSDB server over one socket: requests
 * multiplexed by id, server `echo` answered, notifications passed on, and an
 * inactivity probe that closes a connection whose peer went silent. It knows
 * nothing about databases, leaders or reconnecting (see client.ts).
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { OvsdbError, type OvsdbErrorCode } from "../errors.js";
import { FramingError, JsonStreamSplitter } from "../wire/framing.js";
import { classifyMessage, encodeRequest, encodeResponse, type JsonRpcId } from "../wire/jsonrpc.js";
import { formatRemote, type Remote } from "./remote.js";

/** Paths of PEM files for mutual TLS, as OVS programs take them. */
export interface TlsFiles {
  privateKey: string;
  certificate: string;
  caCert: string;
}

export interface ConnectionOptions {
  tls?: TlsFiles;
  /** Give up on a connection attempt after this long. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * After this long with nothing received, send an echo; after as long again
   * with still nothing, close the connection. Default 5 s (as OVSDB's own
   * probe); 0 turns it off.
   */
  inactivityProbeMs?: number;
  /** Refuse (and close on) any message larger than this. */
  maxMessageBytes?: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Aborting sends a `cancel` for the request (RFC 7047 §4.1.4). */
  signal?: AbortSignal;
}

interface Pending {
  method: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
  cleanup?: () => void;
}

export interface ConnectionEvents {
  notification: [method: string, params: unknown[]];
  close: [error: OvsdbError | undefined];
}

function readTls(files: TlsFiles, remote: string): { key: Buffer; cert: Buffer; ca: Buffer } {
  try {
    return {
      key: readFileSync(files.privateKey),
      cert: readFileSync(files.certificate),
      ca: readFileSync(files.caCert),
    };
  } catch (e) {
    throw new OvsdbError(
      "OVSDB_NOT_CONNECTED",
      `cannot read TLS files for ${remote}: ${(e as Error).message}`,
      { remote, cause: e },
    );
  }
}

/**
 * Runs listeners, which may be users' code: an exception there must not be taken
 * for a protocol error or break our state, so it is rethrown on its own,
 * as an uncaught exception, like any other listener's.
 */
export function deliver(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    queueMicrotask(() => {
      throw e;
    });
  }
}

/**
 * The error code for a request whose reply will never come: a transaction
 * that left this process may have committed, so it is never reported as
 * simply failed.
 */
function whenReplyLost(method: string, otherwise: OvsdbErrorCode): OvsdbErrorCode {
  return method === "transact" ? "OVSDB_OUTCOME_UNKNOWN" : otherwise;
}

export class Connection extends EventEmitter<ConnectionEvents> {
  readonly remote: string;
  private readonly socket: net.Socket;
  private readonly splitter: JsonStreamSplitter;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedWith: OvsdbError | null = null;
  private lastReceived = Date.now();
  private probeTimer: NodeJS.Timeout | undefined;
  private probeSent = false;

  private constructor(socket: net.Socket, remote: string, options: ConnectionOptions) {
    super();
    this.socket = socket;
    this.remote = remote;
    this.splitter = new JsonStreamSplitter(
      options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes },
    );
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (e) =>
      this.shutdown(
        new OvsdbError("OVSDB_DISCONNECTED", `connection to ${remote} failed: ${e.message}`, {
          remote,
          cause: e,
        }),
      ),
    );
    socket.on("close", () =>
      this.shutdown(
        new OvsdbError("OVSDB_DISCONNECTED", `connection to ${remote} was closed by the server`, {
          remote,
        }),
      ),
    );
    const probe = options.inactivityProbeMs ?? 5000;
    if (probe > 0) this.startProbe(probe);
  }

  /** Connects, and for ssl completes the TLS handshake (server must chain to the CA). */
  static open(remote: Remote, options: ConnectionOptions = {}): Promise<Connection> {
    const name = formatRemote(remote);
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      let socket: net.Socket;
      const readyEvent = remote.kind === "ssl" ? "secureConnect" : "connect";
      if (remote.kind === "unix") {
        socket = net.connect({ path: remote.path });
      } else if (remote.kind === "tcp") {
        socket = net.connect({ host: remote.host, port: remote.port });
      } else {
        if (!options.tls) {
          reject(
            new OvsdbError(
              "OVSDB_NOT_CONNECTED",
              `${name} needs TLS files: pass tls { privateKey, certificate, caCert }`,
              { remote: name },
            ),
          );
          return;
        }
        let material;
        try {
          material = readTls(options.tls, name);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        socket = tls.connect({
          host: remote.host,
          port: remote.port,
          ...material,
          // OVSDB authenticates peers by chain to the CA alone, as OVS does;
          // certificates made by ovs-pki carry no host names to check.
          checkServerIdentity: () => undefined,
        });
      }
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new OvsdbError(
            "OVSDB_NOT_CONNECTED",
            `timed out connecting to ${name} after ${timeoutMs} ms`,
            {
              remote: name,
            },
          ),
        );
      }, timeoutMs);
      const onError = (e: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(
          new OvsdbError("OVSDB_NOT_CONNECTED", `cannot connect to ${name}: ${e.message}`, {
            remote: name,
            cause: e,
          }),
        );
      };
      socket.once("error", onError);
      socket.once(readyEvent, () => {
        clearTimeout(timer);
        socket.off("error", onError);
        if (remote.kind !== "unix") socket.setNoDelay(true);
        resolve(new Connection(socket, name, options));
      });
    });
  }

  get isOpen(): boolean {
    return this.closedWith === null;
  }

  /** Requests awaiting a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Sends a request and resolves with its `result`, or rejects with an OvsdbError. */
  request(method: string, params: unknown[], options: RequestOptions = {}): Promise<unknown> {
    if (this.closedWith !== null) {
      return Promise.reject(
        new OvsdbError(
          "OVSDB_DISCONNECTED",
          `cannot send ${method}: the connection to ${this.remote} is closed`,
          { method, remote: this.remote },
        ),
      );
    }
    if (options.signal?.aborted) {
      return Promise.reject(
        new OvsdbError("OVSDB_CLOSED", `${method} was cancelled before it was sent`, {
          method,
          remote: this.remote,
        }),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const entry: Pending = { method, resolve, reject };
      if (options.timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          // A transaction blocked in a `wait` would otherwise stay on the server.
          if (method === "transact") this.notify("cancel", [id]);
          this.settle(id)?.reject(
            new OvsdbError(
              whenReplyLost(method, "OVSDB_TIMEOUT"),
              `${method} on ${this.remote} got no reply within ${options.timeoutMs} ms`,
              { method, remote: this.remote },
            ),
          );
        }, options.timeoutMs);
      }
      if (options.signal) {
        const signal = options.signal;
        // ovsdb-server replies to a cancelled transaction only when the session
        // is db-change-aware, and cancels nothing but transactions; settle here,
        // and any late reply is ignored.
        const onAbort = () => {
          this.notify("cancel", [id]);
          this.settle(id)?.reject(
            new OvsdbError(
              "OVSDB_CANCELLED",
              `${method} on ${this.remote} was cancelled` +
                (method === "transact"
                  ? "; if the server had completed it before the cancel arrived, it stays committed"
                  : ""),
              { method, remote: this.remote },
            ),
          );
        };
        signal.addEventListener("abort", onAbort, { once: true });
        entry.cleanup = () => signal.removeEventListener("abort", onAbort);
      }
      this.pending.set(id, entry);
      this.socket.write(encodeRequest(method, params, id));
    });
  }

  /** Sends a notification (a request with a null id, which gets no reply). */
  notify(method: string, params: unknown[]): void {
    if (this.closedWith === null) this.socket.write(JSON.stringify({ method, params, id: null }));
  }

  /** Closes the connection; pending requests fail. */
  close(): void {
    this.shutdown(
      new OvsdbError("OVSDB_CLOSED", `the connection to ${this.remote} was closed by this client`, {
        remote: this.remote,
      }),
    );
  }

  /** Closes the connection as lost (OVSDB_DISCONNECTED), e.g. when leadership moved. */
  drop(why: string): void {
    this.shutdown(
      new OvsdbError("OVSDB_DISCONNECTED", `dropped the connection to ${this.remote}: ${why}`, {
        remote: this.remote,
      }),
    );
  }

  /** Resolves once the connection has closed, with the reason. */
  whenClosed(): Promise<OvsdbError | undefined> {
    if (this.closedWith !== null) {
      return Promise.resolve(this.closedWith.code === "OVSDB_CLOSED" ? undefined : this.closedWith);
    }
    return new Promise((resolve) => this.once("close", resolve));
  }

  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    if (entry.timer) clearTimeout(entry.timer);
    entry.cleanup?.();
    return entry;
  }

  private onData(chunk: Buffer): void {
    this.lastReceived = Date.now();
    this.probeSent = false;
    let values: unknown[];
    let broken: Error | undefined;
    try {
      values = this.splitter.push(chunk);
    } catch (e) {
      // Replies that arrived whole before the bad bytes still count.
      values = e instanceof FramingError ? e.parsedBefore : [];
      broken = e as Error;
    }
    this.dispatchAll(values);
    if (broken) this.shutdown(this.protocolError(broken.message));
  }

  private dispatchAll(values: unknown[]): void {
    for (const value of values) {
      if (this.closedWith !== null) return;
      try {
        this.dispatch(value);
      } catch (e) {
        this.shutdown(
          e instanceof OvsdbError && e.code === "OVSDB_PROTOCOL"
            ? e
            : this.protocolError((e as Error).message),
        );
        return;
      }
    }
  }

  private protocolError(why: string): OvsdbError {
    return new OvsdbError("OVSDB_PROTOCOL", `${this.remote} broke the OVSDB protocol: ${why}`, {
      remote: this.remote,
    });
  }

  private dispatch(value: unknown): void {
    const message = classifyMessage(value);
    if (message.kind === "response") {
      const id = message.id;
      const entry = typeof id === "number" ? this.settle(id) : undefined;
      if (!entry) {
        // A late reply to a request we gave up on is harmless; any other id is not ours.
        if (typeof id === "number" && Number.isInteger(id) && id > 0 && id < this.nextId) return;
        throw this.protocolError(`reply with an id we never used (${JSON.stringify(id)})`);
      }
      if (message.error !== null) {
        entry.reject(this.rpcError(entry.method, message.error));
      } else {
        entry.resolve(message.result);
      }
      return;
    }
    if (message.kind === "request") {
      this.answer(message.id, message.method, message.params);
      return;
    }
    deliver(() => this.emit("notification", message.method, message.params));
  }

  private answer(id: JsonRpcId, method: string, params: unknown[]): void {
    if (method === "echo") {
      this.socket.write(encodeResponse(id, params));
    } else {
      this.socket.write(encodeResponse(id, null, { error: "unknown method", details: method }));
    }
  }

  private rpcError(method: string, error: unknown): OvsdbError {
    let serverError = typeof error === "string" ? error : JSON.stringify(error);
    let serverDetails: string | undefined;
    if (typeof error === "object" && error !== null) {
      const e = error as { error?: unknown; details?: unknown };
      if (typeof e.error === "string") serverError = e.error;
      if (typeof e.details === "string") serverDetails = e.details;
    }
    const text = serverDetails ? `${serverError} (${serverDetails})` : serverError;
    return new OvsdbError("OVSDB_RPC_ERROR", `${method} on ${this.remote} failed: ${text}`, {
      method,
      remote: this.remote,
      serverError,
      ...(serverDetails === undefined ? {} : { serverDetails }),
    });
  }

  private startProbe(intervalMs: number): void {
    const tick = Math.max(10, Math.floor(intervalMs / 4));
    this.probeTimer = setInterval(() => {
      const idle = Date.now() - this.lastReceived;
      if (idle >= 2 * intervalMs && this.probeSent) {
        this.shutdown(
          new OvsdbError(
            "OVSDB_DISCONNECTED",
            `${this.remote} sent nothing for ${idle} ms (inactivity probe); dropping the connection`,
            { remote: this.remote },
          ),
        );
      } else if (idle >= intervalMs && !this.probeSent) {
        this.probeSent = true;
        this.request("echo", ["probe"]).catch(() => undefined);
      }
    }, tick);
    this.probeTimer.unref();
  }

  private shutdown(reason: OvsdbError): void {
    if (this.closedWith !== null) return;
    this.closedWith = reason;
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.socket.destroy();
    for (const id of [...this.pending.keys()]) {
      const entry = this.settle(id)!;
      // A transaction that left this process may have committed: say so, never guess.
      const code = whenReplyLost(entry.method, reason.code);
      const message =
        entry.method === "transact"
          ? `transact on ${this.remote}: the connection closed before the reply, so whether ` +
            `it committed is unknown (${reason.message}); check before retrying`
          : `${entry.method} on ${this.remote}: ${reason.message}`;
      entry.reject(
        new OvsdbError(code, message, { method: entry.method, remote: this.remote, cause: reason }),
      );
    }
    this.emit("close", reason.code === "OVSDB_CLOSED" ? undefined : reason);
  }
}
