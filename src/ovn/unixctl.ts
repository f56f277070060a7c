/**
 * A client of the control sockets (unixctl) of OVS and OVN programs: the
 * same JSON-RPC request `ovs-appctl` sends, made from this process. The
 * daemon reads its programs every few seconds (Raft roles, metrics); a
 * socket round trip costs a fraction of a millisecond where starting
 * ovs-appctl costs a process.
 */
import { connect } from "node:net";
import { JsonStreamSplitter } from "../ovsdb/wire/framing.js";
import { encodeRequest } from "../ovsdb/wire/jsonrpc.js";

/**
 * The text `command` answers on the control socket `socket`, or undefined
 * when the program is not there, does not answer within `timeoutMs`, or
 * answers with an error (a program that is down is simply not read).
 */
export function appctl(
  socket: string,
  command: string,
  args: readonly string[] = [],
  timeoutMs = 2_000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const conn = connect(socket);
    const splitter = new JsonStreamSplitter();
    let settled = false;
    const done = (text: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      resolve(text);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    conn.on("error", () => done(undefined));
    conn.on("close", () => done(undefined));
    conn.on("connect", () => conn.write(encodeRequest(command, [...args], 0)));
    conn.on("data", (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = splitter.push(chunk);
      } catch {
        done(undefined);
        return;
      }
      for (const value of values) {
        const reply = value as { result?: unknown; error?: unknown };
        done(reply.error == null && typeof reply.result === "string" ? reply.result : undefined);
      }
    });
  });
}
