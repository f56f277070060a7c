/**
 * Networking API calls for a process outside the member's namespace, run
 * inside it (the API listens on the member's address only):
 *
 *   tsx bench/lib/api-relay.ts ADDRESS PKI_DIR ADMIN_PASSWORD STATIC_TOKEN
 *
 * Takes a token (by password when the local plugin serves them, else the
 * static token), prints `{"ready":true}`, then answers each line of
 * standard input, `{"method","path","body"}`, one at a time with a line
 * `{"status","body","at"}`: `at` is the wall-clock time (Unix seconds)
 * when the answer's last byte arrived, on the same clock as `ping -D`'s
 * timestamps in any other namespace. Exits when standard input ends.
 */
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { adminPasswordAuth, call, issueToken } from "./api-session.js";

const [address, pkiDir, adminPassword, staticToken] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];

interface Request {
  method: string;
  path: string;
  body?: unknown;
}

function say(line: unknown): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const conn = { address, ca: readFileSync(join(pkiDir, "cacert.pem")), agent };
  const issued = await issueToken(conn, adminPasswordAuth(adminPassword));
  const token = issued.status === 201 && issued.token ? issued.token : staticToken;
  const probe = await call(conn, 9696, "GET", "/v2.0/networks", token);
  if (probe.status !== 200) {
    throw new Error(`neither a password token nor the static token is taken (${probe.status})`);
  }
  say({ ready: true });
  for await (const line of createInterface({ input: process.stdin })) {
    const { method, path, body } = JSON.parse(line) as Request;
    const sent = performance.timeOrigin + performance.now();
    const answer = await call(conn, 9696, method, path, token, body);
    say({ status: answer.status, body: answer.body, at: (sent + answer.ms) / 1000 });
  }
  agent.destroy();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
