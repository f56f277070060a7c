/**
 * The floor: OVSDB JSON-RPC spoken by hand over a bare net.Socket, with no
 * client library. Messages are built as strings; a reply is recognised by
 * how ovsdb-server ends every reply (`…,"error":null}` — it writes the keys
 * id, result, error in that order) and then JSON.parse'd once. This is the
 * least work any client in this process can do to get the same answer.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";

const REPLY_END = Buffer.from('"error":null}');

export function connectUnix(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ path });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

function endsWithReplyEnd(chunks: readonly Buffer[]): boolean {
  // The marker may straddle chunks: compare byte by byte from the end.
  let ci = chunks.length - 1;
  let bi = ci >= 0 ? chunks[ci]!.length - 1 : -1;
  for (let k = REPLY_END.length - 1; k >= 0; k--) {
    while (ci >= 0 && bi < 0) {
      ci--;
      bi = ci >= 0 ? chunks[ci]!.length - 1 : -1;
    }
    if (ci < 0 || chunks[ci]![bi] !== REPLY_END[k]) return false;
    bi--;
  }
  return true;
}

/**
 * Writes `message` (one JSON-RPC request, already a string) on a connected
 * socket and resolves with the parsed reply once all of it has arrived.
 */
export function sendOne(socket: net.Socket, message: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
      if (!endsWithReplyEnd(chunks)) return;
      let reply: { result: unknown; error: unknown };
      try {
        reply = JSON.parse(Buffer.concat(chunks, bytes).toString("utf8")) as {
          result: unknown;
          error: unknown;
        };
      } catch {
        return; // not the end after all
      }
      socket.off("data", onData);
      socket.off("error", onError);
      if (reply.error !== null) reject(new Error(`server error: ${JSON.stringify(reply.error)}`));
      else resolve(reply.result);
    };
    const onError = (e: Error) => reject(e);
    socket.on("data", onData);
    socket.once("error", onError);
    socket.write(message);
  });
}

/**
 * Writes `messages` in one go (pipelined) and resolves once as many replies
 * have arrived; replies come back in request order on one connection.
 */
export function sendPipelined(socket: net.Socket, messages: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let replies = 0;
    let carry: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
      let at = 0;
      for (;;) {
        const i = data.indexOf(REPLY_END, at);
        if (i < 0) break;
        replies++;
        at = i + REPLY_END.length;
      }
      carry = data.subarray(Math.max(at, data.length - REPLY_END.length + 1));
      if (replies === messages.length) {
        socket.off("data", onData);
        resolve();
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.write(messages.join(""));
  });
}

/** One request on a fresh connection (for setup and checks; not timed). */
export async function rawRequest(
  path: string,
  method: string,
  params: unknown[],
): Promise<unknown> {
  const socket = await connectUnix(path);
  try {
    return await sendOne(socket, JSON.stringify({ id: 1, method, params }));
  } finally {
    socket.destroy();
  }
}

/* ---- the write floor ------------------------------------------------------------ */

export function mac(i: number): string {
  const h = (n: number) => n.toString(16).padStart(2, "0");
  return `00:00:00:${h((i >> 16) & 255)}:${h((i >> 8) & 255)}:${h(i & 255)}`;
}

export function ip(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

/** The address string of port number `i` (unique per port). */
export function address(i: number): string {
  return `${mac(i)} ${ip(i)}`;
}

/** JSON text of the operations that create switch `s` with ports firstPort … firstPort+count-1. */
export function switchOps(s: number, firstPort: number, count: number): string {
  const ops: string[] = [];
  const refs: string[] = [];
  for (let p = firstPort; p < firstPort + count; p++) {
    ops.push(
      `{"op":"insert","table":"Logical_Switch_Port","uuid-name":"p${p}","row":{"name":"p${p}","addresses":"${address(p)}"}}`,
    );
    refs.push(`["named-uuid","p${p}"]`);
  }
  ops.push(
    `{"op":"insert","table":"Logical_Switch","row":{"name":"sw${s}","ports":["set",[${refs.join(",")}]]}}`,
  );
  return ops.join(",");
}

/** One transact request creating `switches` switches of `portsPerSwitch` ports from switch `first` on. */
export function transactMessage(
  id: number,
  first: number,
  switches: number,
  portsPerSwitch: number,
): string {
  const parts: string[] = [];
  for (let s = first; s < first + switches; s++)
    parts.push(switchOps(s, s * portsPerSwitch, portsPerSwitch));
  return `{"id":${id},"method":"transact","params":["OVN_Northbound",${parts.join(",")}]}`;
}

/**
 * The write floor: the whole data set as one hand-made transact message.
 * Timed from the first byte written to the reply parsed.
 */
export async function floorWrite(
  path: string,
  switches: number,
  portsPerSwitch: number,
): Promise<{ seconds: number; bytes: number }> {
  const message = transactMessage(1, 0, switches, portsPerSwitch);
  const socket = await connectUnix(path);
  try {
    const t0 = performance.now();
    const result = (await sendOne(socket, message)) as { error?: string }[];
    const seconds = (performance.now() - t0) / 1000;
    const failed = result.find((r) => r && typeof r.error === "string");
    if (failed) throw new Error(`floor transaction failed: ${JSON.stringify(failed)}`);
    return { seconds, bytes: Buffer.byteLength(message) };
  } finally {
    socket.destroy();
  }
}

/** The same data as one hand-made transact per switch, all written at once. */
export async function floorWritePipelined(
  path: string,
  switches: number,
  portsPerSwitch: number,
): Promise<{ seconds: number }> {
  const messages: string[] = [];
  for (let s = 0; s < switches; s++) messages.push(transactMessage(s + 1, s, 1, portsPerSwitch));
  const socket = await connectUnix(path);
  try {
    const t0 = performance.now();
    await sendPipelined(socket, messages);
    return { seconds: (performance.now() - t0) / 1000 };
  } finally {
    socket.destroy();
  }
}

/* ---- the sync floor ---------------------------------------------------------------- */

/**
 * The sync floor: connect, one hand-made monitor_cond request, wait for the
 * whole reply and JSON.parse it. Returns the parsed tables and the time from
 * connect start.
 */
export async function floorMonitor(
  path: string,
  columns: Record<string, readonly string[]>,
): Promise<{ seconds: number; endedAt: number; rows: number; bytes: number; result: unknown }> {
  const t0 = performance.now();
  const socket = await connectUnix(path);
  try {
    const requests = Object.entries(columns)
      .map(([table, cols]) => `"${table}":[{"columns":${JSON.stringify(cols)}}]`)
      .join(",");
    let bytes = 0;
    socket.on("data", (c: Buffer) => (bytes += c.length));
    const result = (await sendOne(
      socket,
      `{"id":1,"method":"monitor_cond","params":["OVN_Northbound",null,{${requests}}]}`,
    )) as Record<string, Record<string, unknown>>;
    const endedAt = performance.now();
    let rows = 0;
    for (const table of Object.values(result)) rows += Object.keys(table).length;
    return { seconds: (endedAt - t0) / 1000, endedAt, rows, bytes, result };
  } finally {
    socket.destroy();
  }
}
