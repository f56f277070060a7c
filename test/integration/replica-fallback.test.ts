/**
 * The replica on servers older than monitor_cond_since: a scripted server
 * that refuses the newer methods with "unknown method", as old ovsdb-server
 * versions do. (Current servers are covered against real ovsdb-server in
 * client.test.ts and cluster.test.ts.)
 */
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import { Replica } from "../../src/ovsdb/replica/replica.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import { JsonStreamSplitter } from "../../src/ovsdb/wire/framing.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const SCHEMA = {
  name: "Old",
  version: "1.0.0",
  tables: { Item: { columns: { name: { type: "string" } }, indexes: [["name"]], isRoot: true } },
};
const U1 = "11111111-2222-3333-4444-555555555555";
const U2 = "66666666-7777-8888-9999-000000000000";

interface Request {
  method: string;
  params: unknown[];
  id: unknown;
}

/** Answers like a server that knows only the methods in `known`. */
function scriptedServer(path: string, known: Set<string>, seen: string[]) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const splitter = new JsonStreamSplitter();
    const send = (v: unknown) => socket.write(JSON.stringify(v));
    socket.on("data", (chunk) => {
      for (const m of splitter.push(chunk) as Request[]) {
        seen.push(m.method);
        if (!known.has(m.method)) {
          send({ id: m.id, result: null, error: { error: "unknown method" } });
        } else if (m.method === "get_schema") {
          send({ id: m.id, result: SCHEMA, error: null });
        } else if (m.method === "monitor_cond") {
          send({ id: m.id, result: { Item: { [U1]: { initial: { name: "a" } } } }, error: null });
          // Then a change, as update2 (monitor_cond's notification).
          send({
            id: null,
            method: "update2",
            params: [
              m.params[1],
              { Item: { [U1]: { modify: { name: "a2" } }, [U2]: { insert: { name: "b" } } } },
            ],
          });
        } else if (m.method === "monitor") {
          send({ id: m.id, result: { Item: { [U1]: { new: { name: "a" } } } }, error: null });
          send({
            id: null,
            method: "update",
            params: [m.params[1], { Item: { [U1]: { old: { name: "a" } } } }],
          });
        }
      }
    });
    socket.on("error", () => undefined);
  });
  return {
    listen: () => new Promise<void>((resolve) => server.listen(path, resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

let dir: string;
before(async () => (dir = await makeTempDir("fallback")));
after(async () => removeDir(dir));

describe("replica on older servers", () => {
  it("falls back to monitor_cond and applies update2", async () => {
    const seen: string[] = [];
    const server = scriptedServer(
      `${dir}/a.sock`,
      new Set(["get_schema", "monitor_cond", "monitor_cancel"]),
      seen,
    );
    await server.listen();
    const client = await OvsdbClient.connect({
      remotes: `unix:${dir}/a.sock`,
      database: "Old",
      leaderOnly: false,
    });
    try {
      const replica = await Replica.start(client, { Item: true });
      assert.equal(replica.monitorMethod, "monitor_cond");
      assert.deepEqual(
        seen.filter((m) => m.startsWith("monitor")),
        ["monitor_cond_since", "monitor_cond"],
      );
      await waitFor("the update2", () => replica.table("Item").size === 2);
      assert.equal(replica.table("Item").get(U1)?.name, "a2");
      assert.equal(replica.table("Item").lookup({ name: "b" })?._uuid, U2);
      replica.close();
    } finally {
      client.close();
      await server.close();
    }
  });

  it("falls back to plain monitor, applies update, and refuses conditions it cannot send", async () => {
    const seen: string[] = [];
    const server = scriptedServer(
      `${dir}/b.sock`,
      new Set(["get_schema", "monitor", "monitor_cancel"]),
      seen,
    );
    await server.listen();
    const client = await OvsdbClient.connect({
      remotes: `unix:${dir}/b.sock`,
      database: "Old",
      leaderOnly: false,
      schema: parseSchema(SCHEMA),
    });
    try {
      const replica = await Replica.start(client, { Item: true });
      assert.equal(replica.monitorMethod, "monitor");
      await waitFor("the delete sent as update", () => replica.table("Item").size === 0);
      replica.close();
      await assert.rejects(
        Replica.start(client, { Item: { where: [["name", "==", "a"]] } }),
        /cannot be filtered/,
      );
    } finally {
      client.close();
      await server.close();
    }
  });
});
