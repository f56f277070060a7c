/**
 * Hostile input: the connection and the reconnecting client against a fake
 * OVSDB server (node:net on a unix socket in a temporary directory) that
 * sends garbage, truncated or oversized replies, ids it was never given,
 * requests of its own, or nothing at all. Every scenario ends by checking
 * that the client left no socket, timer or pending request behind.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import net from "node:net";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { setImmediate as nextTurn, setTimeout as delay } from "node:timers/promises";
import v8 from "node:v8";
import vm from "node:vm";
import { OvsdbClient, type ClientOptions } from "../../src/ovsdb/client/client.js";
import {
  Connection,
  type ConnectionOptions,
  type RequestOptions,
} from "../../src/ovsdb/client/connection.js";
import { parseRemote, type Remote } from "../../src/ovsdb/client/remote.js";
import { OvsdbError, type OvsdbErrorCode } from "../../src/ovsdb/errors.js";
import { JsonStreamSplitter } from "../../src/ovsdb/wire/framing.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const MiB = 1024 * 1024;
const HTTP_GARBAGE = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

// ---- the fake server ----------------------------------------------------------

/** One JSON-RPC message the fake server read from the client. */
interface Message {
  method?: string;
  params?: unknown[];
  id?: unknown;
  result?: unknown;
  error?: unknown;
  /** Milliseconds after the server accepted the connection. */
  at: number;
}

type Handler = (peer: FakePeer, message: Message) => void;

/** The server's end of one client connection. */
class FakePeer {
  readonly messages: Message[] = [];
  /** What the client sent that is not JSON-RPC (must stay empty). */
  readonly badInput: string[] = [];
  readonly acceptedAt = Date.now();
  closed = false;
  private readonly splitter = new JsonStreamSplitter();

  constructor(
    readonly server: FakeServer,
    readonly socket: net.Socket,
    readonly index: number,
  ) {
    // EPIPE / ECONNRESET when the client hangs up first are expected here.
    socket.on("error", () => undefined);
    socket.on("close", () => (this.closed = true));
    socket.on("data", (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = this.splitter.push(chunk);
      } catch (e) {
        this.badInput.push((e as Error).message);
        socket.destroy();
        return;
      }
      for (const value of values) {
        const message = { ...(value as Omit<Message, "at">), at: Date.now() - this.acceptedAt };
        this.messages.push(message);
        server.run(() => server.handler(this, message));
      }
    });
  }

  /** Writes raw text, or a value as JSON. */
  send(data: string | object): void {
    if (!this.socket.destroyed) {
      this.socket.write(typeof data === "string" ? data : JSON.stringify(data));
    }
  }

  reply(request: Message, result: unknown, error: unknown = null): void {
    this.send({ id: request.id, result, error });
  }

  /** Requests from the client (messages with a method and an id). */
  requests(method?: string): Message[] {
    return this.messages.filter(
      (m) =>
        typeof m.method === "string" &&
        m.id !== null &&
        m.id !== undefined &&
        (method === undefined || m.method === method),
    );
  }

  /** The client's responses to requests this server made, without arrival times. */
  responses(): Omit<Message, "at">[] {
    return this.messages.filter((m) => m.method === undefined).map(({ at: _at, ...rest }) => rest);
  }
}

/** Answers the way a well-behaved ovsdb-server would, for the methods used here. */
function answerNormally(peer: FakePeer, m: Message): void {
  if (m.method === undefined || m.id === null || m.id === undefined) return;
  const params = m.params ?? [];
  switch (m.method) {
    case "list_dbs":
      peer.reply(m, ["DB"]);
      break;
    case "echo":
      peer.reply(m, params);
      break;
    case "transact":
      peer.reply(
        m,
        params.slice(1).map(() => ({})),
      );
      break;
    case "monitor":
      peer.reply(m, {
        Database: {
          "0b6e0b55-0000-4000-8000-000000000001": {
            new: { name: "DB", model: "standalone", connected: true, leader: true },
          },
        },
      });
      break;
    case "get_schema":
      peer.reply(m, {
        name: "DB",
        version: "1.0.0",
        tables: { T: { columns: { name: { type: "string" } } } },
      });
      break;
    default:
      peer.reply(m, null, { error: "unknown method", details: m.method });
  }
}

class FakeServer {
  readonly peers: FakePeer[] = [];
  readonly remote: string;
  /** Exceptions thrown by handlers (a bug in the test, reported by finish()). */
  readonly handlerErrors: unknown[] = [];
  handler: Handler = answerNormally;
  onConnect: (peer: FakePeer) => void = () => undefined;
  private readonly server: net.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private accepted = 0;

  constructor(readonly path: string) {
    this.remote = `unix:${path}`;
    this.server = net.createServer((socket) => {
      const peer = new FakePeer(this, socket, this.accepted++);
      this.peers.push(peer);
      this.run(() => this.onConnect(peer));
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.path, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  run(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.handlerErrors.push(e);
    }
  }

  /** Runs `fn` after `ms` (to make a reply late on purpose); cancelled by close(). */
  later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.run(fn);
    }, ms);
    this.timers.add(timer);
  }

  /** Drops peers that have closed (long loops only). */
  forgetClosedPeers(): void {
    const open = this.peers.filter((p) => !p.closed);
    this.peers.length = 0;
    this.peers.push(...open);
  }

  close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const peer of this.peers) peer.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

// ---- per-test bookkeeping -----------------------------------------------------

let dir: string;
let socketCount = 0;

/** Every Connection.open call (the client's included) is counted, and each connection kept weakly. */
let openAttempts = 0;
let opened: WeakRef<Connection>[] = [];
const originalOpen = Object.getOwnPropertyDescriptor(Connection, "open")!;

/** Crashes that would otherwise only show up as a dead process. */
const crashes: unknown[] = [];
const onUnhandled = (reason: unknown) => crashes.push(reason);
const onUncaught = (error: unknown) => crashes.push(error);

interface Scope {
  servers: FakeServer[];
  clients: OvsdbClient[];
  connections: Connection[];
  /** Active resources (process.getActiveResourcesInfo) before the test. */
  baseline: Map<string, number>;
}
let scope: Scope;

function resources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

function excessOver(base: Map<string, number>, now: Map<string, number>): string[] {
  const excess: string[] = [];
  for (const [kind, count] of now) {
    const before = base.get(kind) ?? 0;
    if (count > before) excess.push(`${kind}: ${before} -> ${count}`);
  }
  return excess;
}

async function startServer(listen = true): Promise<FakeServer> {
  const server = new FakeServer(`${dir}/s${socketCount++}.sock`);
  scope.servers.push(server);
  if (listen) await server.listen();
  return server;
}

async function open(server: FakeServer, options: ConnectionOptions = {}): Promise<Connection> {
  const connection = await Connection.open(parseRemote(server.remote), options);
  scope.connections.push(connection);
  return connection;
}

async function connectClient(
  server: FakeServer,
  extra: Partial<ClientOptions> = {},
): Promise<OvsdbClient> {
  const client = await OvsdbClient.connect({
    remotes: server.remote,
    waitForConnectionMs: 5000,
    backoff: { initialMs: 10 },
    ...extra,
  });
  scope.clients.push(client);
  return client;
}

/** waitFor with a deadline short enough that a misbehaving client fails fast. */
function soon<T>(what: string, probe: Parameters<typeof waitFor<T>>[1]): Promise<T> {
  return waitFor(what, probe, { timeoutMs: 3000 });
}

/** Awaits `promise`, which must reject with an OvsdbError of `code` (and a message matching). */
async function expectError(
  promise: Promise<unknown>,
  code: OvsdbErrorCode,
  message?: RegExp,
): Promise<OvsdbError> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (outcome.ok) {
    assert.fail(`expected ${code}, but it resolved with ${JSON.stringify(outcome.value)}`);
  }
  const error = outcome.error;
  assert.ok(error instanceof OvsdbError, `expected an OvsdbError, got ${String(error)}`);
  assert.equal(error.code, code, `wrong code for: ${error.message}`);
  if (message) assert.match(error.message, message);
  return error;
}

/**
 * Closes every client and connection of the test and checks that nothing is
 * left: each connection closed with no pending request, the server saw each
 * socket close, no timer or socket outlives the test, nothing crashed.
 */
async function finish(): Promise<void> {
  for (const client of scope.clients) client.close();
  for (const connection of scope.connections) connection.close();
  // A client closed while connecting closes its half-open connection a moment later.
  await waitFor(
    "every connection the test opened to be closed",
    () => opened.every((ref) => ref.deref()?.isOpen !== true),
    { timeoutMs: 3000 },
  );
  for (const ref of opened) {
    const connection = ref.deref();
    if (connection) {
      assert.equal(connection.pendingCount, 0, `${connection.remote} kept pending requests`);
    }
  }
  await waitFor(
    "the fake servers to see every client socket closed",
    () => scope.servers.every((s) => s.peers.every((p) => p.closed)),
    { timeoutMs: 3000 },
  );
  for (const server of scope.servers) {
    assert.deepEqual(server.handlerErrors, [], "a fake-server handler threw");
    for (const peer of server.peers) {
      assert.deepEqual(peer.badInput, [], "the client sent bytes that are not JSON-RPC");
    }
    await server.close();
  }
  await waitFor(
    "timers and sockets to return to what they were before the test",
    () => {
      const excess = excessOver(scope.baseline, resources());
      if (excess.length > 0) throw new Error(`still active: ${excess.join(", ")}`);
      return true;
    },
    { timeoutMs: 3000 },
  );
  assert.deepEqual(crashes, [], "an exception or rejection went unhandled");
}

/** A real garbage collector: --expose-gc if given, else switched on through V8. */
function getGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === "function") return exposed as () => void;
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc: unknown = vm.runInNewContext("gc");
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

async function heapAfterGc(gc: (() => void) | undefined): Promise<number> {
  // A WeakRef target stays alive until the current job ends: let it end first.
  await nextTurn();
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** Writes a reply whose result is a string of `bytes` bytes, honouring backpressure. */
async function streamHugeReply(
  peer: FakePeer,
  id: unknown,
  bytes: number,
): Promise<{ written: number; finished: boolean }> {
  const socket = peer.socket;
  const chunk = Buffer.alloc(64 * 1024, "x");
  socket.write(`{"id":${JSON.stringify(id)},"error":null,"result":"`);
  let written = 0;
  while (written < bytes) {
    if (socket.destroyed) return { written, finished: false };
    const flowing = socket.write(chunk);
    written += chunk.length;
    if (!flowing) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.on("drain", done);
        socket.on("close", done);
      });
    }
  }
  if (socket.destroyed) return { written, finished: false };
  socket.write('"}');
  return { written, finished: true };
}

// ---- the tests ------------------------------------------------------------------

describe("OVSDB client against a hostile server", () => {
  before(async () => {
    dir = await makeTempDir("hostile");
    Object.defineProperty(Connection, "open", {
      ...originalOpen,
      value: async (remote: Remote, options?: ConnectionOptions): Promise<Connection> => {
        openAttempts++;
        const connection = await (originalOpen.value as typeof Connection.open).call(
          Connection,
          remote,
          options,
        );
        opened.push(new WeakRef(connection));
        return connection;
      },
    });
    process.on("unhandledRejection", onUnhandled);
    process.on("uncaughtExceptionMonitor", onUncaught);
  });

  beforeEach(async () => {
    opened = [];
    crashes.length = 0;
    // Measured the way finish() measures, so waitFor's own timer counts in both.
    const baseline = await waitFor("a baseline of active resources", () => resources());
    scope = { servers: [], clients: [], connections: [], baseline };
  });

  afterEach(async () => {
    // Only cleanup here, for tests that failed before finish(); it is idempotent.
    for (const client of scope.clients) client.close();
    for (const connection of scope.connections) connection.close();
    await Promise.all(scope.servers.map((s) => s.close()));
  });

  after(async () => {
    Object.defineProperty(Connection, "open", originalOpen);
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtExceptionMonitor", onUncaught);
    if (dir) await removeDir(dir);
  });

  describe("garbage bytes in reply", () => {
    it("fail every pending request with OVSDB_PROTOCOL and close the connection", async () => {
      const server = await startServer();
      server.handler = (peer) => {
        if (peer.requests().length === 2) peer.send(HTTP_GARBAGE);
      };
      const conn = await open(server);
      const list = expectError(
        conn.request("list_dbs", []),
        "OVSDB_PROTOCOL",
        /broke the OVSDB protocol: expected a JSON object from the server, got byte 0x48/,
      );
      // A transaction that was sent may have committed: never reported as a protocol error.
      const txn = expectError(
        conn.request("transact", ["DB", { op: "comment", comment: "x" }]),
        "OVSDB_OUTCOME_UNKNOWN",
        /whether it committed is unknown/,
      );
      await list;
      await txn;
      const reason = await conn.whenClosed();
      assert.equal(reason?.code, "OVSDB_PROTOCOL");
      assert.equal(conn.isOpen, false);
      assert.equal(conn.pendingCount, 0);
      await soon("the server to see the socket closed", () => server.peers[0]?.closed);
      await expectError(conn.request("list_dbs", []), "OVSDB_DISCONNECTED", /is closed/);
      await finish();
    });

    it("after a whole reply in the same chunk still deliver that reply", async () => {
      const server = await startServer();
      server.handler = (peer) => {
        const [first] = peer.requests();
        if (peer.requests().length === 2 && first) {
          peer.send(JSON.stringify({ id: first.id, result: ["DB"], error: null }) + HTTP_GARBAGE);
        }
      };
      const conn = await open(server);
      const list = conn.request("list_dbs", []);
      const echo = expectError(conn.request("echo", []), "OVSDB_PROTOCOL", /got byte 0x48/);
      assert.deepEqual(await list, ["DB"]);
      await echo;
      assert.equal(conn.isOpen, false);
      await soon("the server to see the socket closed", () => server.peers[0]?.closed);
      await finish();
    });

    it("sent unprompted right after accept close the connection", async () => {
      const server = await startServer();
      server.onConnect = (peer) => peer.send("\x00\xff garbage");
      const conn = await open(server);
      const reason = await conn.whenClosed();
      assert.equal(reason?.code, "OVSDB_PROTOCOL");
      await finish();
    });

    it("make the client reconnect, and it works once the server behaves", async () => {
      const server = await startServer();
      server.handler = (peer, m) => {
        if (peer.index === 0 && m.method === "list_dbs") peer.send(HTTP_GARBAGE);
        else answerNormally(peer, m);
      };
      const client = await connectClient(server);
      const disconnects: (OvsdbError | undefined)[] = [];
      const connects: { remote: string; reconnected: boolean }[] = [];
      client.on("disconnected", (e) => disconnects.push(e));
      client.on("connected", (info) => connects.push(info));

      await expectError(client.listDbs(), "OVSDB_PROTOCOL", /broke the OVSDB protocol/);
      await soon("the server to see the first socket closed", () => server.peers[0]?.closed);
      assert.deepEqual(
        disconnects.map((e) => e?.code),
        ["OVSDB_PROTOCOL"],
      );

      assert.deepEqual(await client.listDbs(), ["DB"]);
      assert.equal(server.peers.length, 2);
      assert.deepEqual(connects, [{ remote: server.remote, reconnected: true }]);
      assert.equal(client.isConnected, true);
      await finish();
    });

    it("during the database handshake are retried until a server behaves", async () => {
      const server = await startServer();
      server.handler = (peer, m) => {
        if (peer.index === 0 && m.method === "monitor") peer.send(HTTP_GARBAGE);
        else if (peer.index === 1 && m.method === "get_schema") {
          peer.socket.end('{"id":' + JSON.stringify(m.id) + ',"error":null,"result":{"na');
        } else answerNormally(peer, m);
      };
      const client = await connectClient(server, { database: "DB" });
      assert.equal(client.schema.name, "DB");
      assert.equal(server.peers.length, 3);
      assert.deepEqual(await client.transact("DB", [{ op: "comment", comment: "ok" }]), [{}]);
      await finish();
    });
  });

  describe("truncated JSON, then the server hangs up", () => {
    it("fails list_dbs with OVSDB_DISCONNECTED and transact with OVSDB_OUTCOME_UNKNOWN", async () => {
      const server = await startServer();
      server.handler = (peer) => {
        const [first] = peer.requests();
        if (peer.requests().length === 2 && first) {
          peer.socket.end(`{"id":${JSON.stringify(first.id)},"error":null,"result":["D`);
        }
      };
      const conn = await open(server);
      const list = expectError(
        conn.request("list_dbs", []),
        "OVSDB_DISCONNECTED",
        /closed by the server/,
      );
      const txn = expectError(
        conn.request("transact", ["DB", { op: "comment", comment: "x" }]),
        "OVSDB_OUTCOME_UNKNOWN",
      );
      await list;
      await txn;
      assert.equal((await conn.whenClosed())?.code, "OVSDB_DISCONNECTED");
      assert.equal(conn.pendingCount, 0);
      await finish();
    });

    it("through the client: OVSDB_OUTCOME_UNKNOWN, never resent after reconnecting", async () => {
      const server = await startServer();
      server.handler = (peer, m) => {
        if (peer.index === 0 && m.method === "transact") {
          peer.socket.end(`{"id":${JSON.stringify(m.id)},"error":null,"result":[{"uu`);
        } else answerNormally(peer, m);
      };
      const client = await connectClient(server);
      await expectError(
        client.transact("DB", [{ op: "comment", comment: "x" }]),
        "OVSDB_OUTCOME_UNKNOWN",
        /check before retrying/,
      );
      assert.deepEqual(await client.listDbs(), ["DB"]);
      assert.equal(server.peers.length, 2);
      const transacts = server.peers.flatMap((p) => p.requests("transact"));
      assert.equal(transacts.length, 1, "the transaction was sent again after reconnecting");
      await finish();
    });
  });

  describe("an oversized message", () => {
    it("is refused at maxMessageBytes without reading the rest", async () => {
      const server = await startServer();
      let stream: { written: number; finished: boolean } | undefined;
      let streamError: unknown;
      server.handler = (peer, m) => {
        if (m.method !== "list_dbs") return;
        streamHugeReply(peer, m.id, 5 * MiB).then(
          (r) => (stream = r),
          (e: unknown) => (streamError = e ?? new Error("stream failed")),
        );
      };
      const conn = await open(server, { maxMessageBytes: 1 * MiB });
      await expectError(
        conn.request("list_dbs", []),
        "OVSDB_PROTOCOL",
        /exceeds 1048576 bytes; refusing to buffer it/,
      );
      assert.equal(conn.isOpen, false);
      await soon("the server to stop streaming", () => stream ?? streamError);
      assert.equal(streamError, undefined);
      assert.ok(stream, "no stream result");
      // The socket closed under the server: it could not hand over the 5 MiB.
      assert.equal(stream.finished, false, "the client read the whole 5 MiB message");
      assert.ok(
        stream.written < 3 * MiB,
        `the server could write ${stream.written} bytes before the client hung up`,
      );
      await finish();
    });
  });

  describe("reply ids", () => {
    const foreignIds: unknown[] = [99999, "not-ours", "1", 0, -7, 1.5, null, true];
    for (const id of foreignIds) {
      it(`a reply with id ${JSON.stringify(id)} is a protocol error that fails every request`, async () => {
        const server = await startServer();
        server.handler = (peer) => {
          if (peer.requests().length === 2) {
            peer.send({ id, result: ["DB"], error: null });
          }
        };
        const conn = await open(server);
        const list = expectError(
          conn.request("list_dbs", []),
          "OVSDB_PROTOCOL",
          /broke the OVSDB protocol: .*(id we never used|unusable id)/,
        );
        const txn = expectError(
          conn.request("transact", ["DB", { op: "comment", comment: "x" }]),
          "OVSDB_OUTCOME_UNKNOWN",
        );
        await list;
        await txn;
        assert.equal((await conn.whenClosed())?.code, "OVSDB_PROTOCOL");
        assert.equal(conn.pendingCount, 0);
        await soon("the server to see the socket closed", () => server.peers[0]?.closed);
        await finish();
      });
    }

    it("a late reply to a request that timed out is ignored; the connection stays usable", async () => {
      const server = await startServer();
      let lateSent = 0;
      server.handler = (peer, m) => {
        if (m.method === "list_dbs" || m.method === "transact") {
          server.later(200, () => {
            peer.reply(m, m.method === "list_dbs" ? ["DB"] : [{}]);
            lateSent++;
          });
        } else answerNormally(peer, m);
      };
      const conn = await open(server);
      const quick: RequestOptions = { timeoutMs: 50 };
      const list = expectError(
        conn.request("list_dbs", [], quick),
        "OVSDB_TIMEOUT",
        /no reply within 50 ms/,
      );
      const txn = expectError(
        conn.request("transact", ["DB", { op: "comment", comment: "x" }], quick),
        "OVSDB_OUTCOME_UNKNOWN",
        /no reply within 50 ms/,
      );
      await list;
      await txn;
      assert.equal(conn.pendingCount, 0);
      await soon("both late replies to be sent", () => lateSent === 2);
      // Sent after the late replies, so answered after the client has read them.
      assert.deepEqual(await conn.request("echo", ["still here"]), ["still here"]);
      assert.equal(conn.isOpen, true);
      assert.equal(conn.pendingCount, 0);
      await finish();
    });
  });

  describe("requests from the server", () => {
    it("echo is answered with the same params, even under an id the client also uses", async () => {
      const server = await startServer();
      server.handler = () => undefined; // the client's own requests wait
      const conn = await open(server);
      const list = conn.request("list_dbs", []);
      const peer = await soon("the server to get list_dbs", () => server.peers[0]);
      const [listRequest] = await soon("list_dbs to arrive", () => {
        const r = peer.requests("list_dbs");
        return r.length === 1 && r;
      });
      assert.ok(listRequest);
      const params = ["ping", { n: 1, s: "é\u0000" }, [2, [3, null]], true];
      peer.send({ method: "echo", params, id: "srv-echo" });
      // The same id as the client's pending list_dbs: a request, not a reply to it.
      peer.send({ method: "echo", params: ["same id"], id: listRequest.id });
      await soon("both echo replies", () => peer.responses().length === 2);
      assert.deepEqual(peer.responses(), [
        { id: "srv-echo", result: params, error: null },
        { id: listRequest.id, result: ["same id"], error: null },
      ]);
      assert.equal(conn.pendingCount, 1, "the server's echo settled the client's list_dbs");
      peer.reply(listRequest, ["DB"]);
      assert.deepEqual(await list, ["DB"]);
      await finish();
    });

    it("an unknown method gets an error reply; notifications get none", async () => {
      const server = await startServer();
      const conn = await open(server);
      const notifications: [string, unknown[]][] = [];
      conn.on("notification", (method, params) => notifications.push([method, params]));
      const peer = await soon("the connection to be accepted", () => server.peers[0]);
      peer.send({ method: "frobnicate", params: [1, 2], id: 42 });
      peer.send({ method: "frobnicate", params: ["n"], id: null });
      peer.send({ method: "echo", params: ["marker"], id: "marker" });
      await soon("the marker echo reply", () => peer.responses().some((r) => r.id === "marker"));
      const responses = peer.responses();
      assert.deepEqual(
        responses.map((r) => r.id),
        [42, "marker"],
        "exactly one reply per request, none to the notification",
      );
      const [unknown] = responses;
      assert.equal(unknown?.result, null);
      assert.notEqual(unknown?.error, null);
      assert.notEqual(unknown?.error, undefined);
      assert.deepEqual(notifications, [["frobnicate", ["n"]]]);
      assert.equal(conn.isOpen, true);
      assert.deepEqual(await conn.request("list_dbs", []), ["DB"]);
      await finish();
    });
  });

  describe("inactivity probe", () => {
    it("echoes after the probe interval, then drops a silent server", async () => {
      const server = await startServer();
      server.handler = () => undefined; // accepts, reads, never says a word
      const started = Date.now();
      const conn = await open(server, { inactivityProbeMs: 200 });
      const list = expectError(conn.request("list_dbs", []), "OVSDB_DISCONNECTED");
      const peer = await soon("the connection to be accepted", () => server.peers[0]);
      const echo = await waitFor("the probe echo", () => peer.requests("echo")[0], {
        timeoutMs: 3000,
      });
      const echoAfter = peer.acceptedAt + echo.at - started;
      assert.ok(echoAfter >= 150, `echo sent after ${echoAfter} ms, expected about 200`);
      assert.ok(echoAfter < 1000, `echo sent after ${echoAfter} ms, expected about 200`);

      const reason = await conn.whenClosed();
      const closedAfter = Date.now() - started;
      assert.equal(reason?.code, "OVSDB_DISCONNECTED");
      assert.match(reason?.message ?? "", /inactivity probe/);
      assert.ok(closedAfter >= 350, `dropped after ${closedAfter} ms, expected about 400`);
      assert.ok(closedAfter < 2000, `dropped after ${closedAfter} ms, expected about 400`);
      await list;
      assert.equal(peer.requests("echo").length, 1, "more than one probe before dropping");
      await soon("the server to see the socket closed", () => peer.closed);
      await finish();
    });

    it("keeps a connection whose server answers echo alive past 1 s", async () => {
      const server = await startServer();
      const conn = await open(server, { inactivityProbeMs: 200 });
      let closed: OvsdbError | undefined | null = null;
      conn.on("close", (reason) => (closed = reason));
      const started = Date.now();
      const peer = await soon("the connection to be accepted", () => server.peers[0]);
      await waitFor(
        "1.2 s with at least three answered probes",
        () =>
          closed !== null || (Date.now() - started >= 1200 && peer.requests("echo").length >= 3),
        { timeoutMs: 5000 },
      );
      assert.equal(closed, null, "the connection was dropped although the server answered");
      assert.equal(conn.isOpen, true);
      assert.ok(peer.requests("echo").length >= 3);
      await finish();
    });
  });

  describe("leaks and reconnect hygiene", () => {
    it(
      "200 connect/garbage/close cycles leak neither connections nor heap",
      { timeout: 30_000 },
      async () => {
        const server = await startServer();
        server.handler = (peer, m) => {
          if (m.method === "list_dbs") peer.send(HTTP_GARBAGE);
        };
        const gc = getGc();
        const cycle = async (): Promise<WeakRef<Connection>> => {
          const conn = await Connection.open(parseRemote(server.remote));
          await expectError(conn.request("list_dbs", []), "OVSDB_PROTOCOL");
          conn.close();
          return new WeakRef(conn);
        };
        const settle = async () => {
          await soon("the server to see every socket closed", () =>
            server.peers.every((p) => p.closed),
          );
          server.forgetClosedPeers();
        };
        for (let i = 0; i < 20; i++) await cycle(); // warm-up: JIT and lazy state
        await settle();
        const heapBefore = await heapAfterGc(gc);

        const started = Date.now();
        const refs: WeakRef<Connection>[] = [];
        for (let i = 0; i < 200; i++) refs.push(await cycle());
        const elapsed = Date.now() - started;
        await settle();
        const heapAfter = await heapAfterGc(gc);

        assert.ok(elapsed < 5000, `200 cycles took ${elapsed} ms`);
        const growth = heapAfter - heapBefore;
        if (gc) {
          const alive = refs.filter((r) => r.deref() !== undefined).length;
          assert.ok(alive <= 5, `${alive} of 200 closed connections are still reachable`);
          assert.ok(growth < 8 * MiB, `heap grew by ${(growth / MiB).toFixed(1)} MiB`);
        } else {
          assert.ok(growth < 64 * MiB, `heap grew by ${(growth / MiB).toFixed(1)} MiB`);
        }
        await finish();
      },
    );

    it("backoff rounds while the server is away do not pile up abort listeners", async () => {
      const server = await startServer(false); // nothing listens on the path yet
      const warnings: Error[] = [];
      const onWarning = (w: Error) => warnings.push(w);
      process.on("warning", onWarning);
      try {
        const attemptsBefore = openAttempts;
        const connecting = OvsdbClient.connect({
          remotes: server.remote,
          waitForConnectionMs: 5000,
          backoff: { initialMs: 5, maxMs: 5 },
        });
        connecting.catch(() => undefined);
        await soon("20 failed connection attempts", () => openAttempts - attemptsBefore >= 20);
        await server.listen();
        const client = await connecting;
        scope.clients.push(client);
        assert.deepEqual(await client.listDbs(), ["DB"]);
        await nextTurn(); // process warnings are emitted on the next tick
        const stop = (client as unknown as { stop?: unknown }).stop;
        assert.ok(stop instanceof AbortController, "the client keeps its stop signal in `stop`");
        const listeners = getEventListeners(stop.signal, "abort").length;
        assert.ok(
          listeners <= 1,
          `${listeners} abort listeners left on the client's stop signal after ${openAttempts - attemptsBefore} attempts`,
        );
        assert.deepEqual(
          warnings.filter((w) => w.name === "MaxListenersExceededWarning").map((w) => w.message),
          [],
        );
      } finally {
        process.off("warning", onWarning);
      }
      await finish();
    });

    it("a server that hangs up on every connection is not hammered", async () => {
      const server = await startServer();
      server.onConnect = (peer) => peer.socket.destroy();
      const client = await connectClient(server, { backoff: { initialMs: 50, maxMs: 1000 } });
      const before = server.peers.length;
      // A measurement window, not a wait for a condition: count reconnects in 1 s.
      await delay(1000);
      const reconnects = server.peers.length - before;
      client.close();
      // With exponential backoff from 50 ms: about 5 (50+100+200+400 ms).
      assert.ok(
        reconnects <= 20,
        `${reconnects} connections in 1 s to a server that hangs up at once (backoff initialMs 50)`,
      );
      await finish();
    });
  });
});
