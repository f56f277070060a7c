// One OpenStack API call with a token, from inside a member's network
// namespace: node api-call.mjs CAFILE HOST PORT TOKEN METHOD PATH [JSON-BODY].
// Prints {"status", "headers", "body" (parsed when JSON)} or {"error", "code"}.
import { readFileSync } from "node:fs";
import { httpsCall } from "./https-call.mjs";

const [caFile, host, port, token, method, path, body] = process.argv.slice(2);
const headers = { "x-auth-token": token };
if (body !== undefined) headers["content-type"] = "application/json";
const { text, ...answer } = await httpsCall(
  { host, port: Number(port), method, path, ca: readFileSync(caFile), headers },
  body,
);
let parsed = text;
try {
  parsed = JSON.parse(text);
} catch {
  /* not JSON (or no answer): keep the text */
}
process.stdout.write(JSON.stringify({ ...answer, body: parsed }));
