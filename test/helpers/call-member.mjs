// Calls a member API from inside a network namespace (tests run it with
// `ip netns exec`): node call-member.mjs HOST PORT METHOD PATH [KEY CERT].
// Prints {"status": N, "body": {...}} or {"error": "..."}; never checks the
// server's certificate (the tests are about what the server lets through).
import { readFileSync } from "node:fs";
import { httpsCall } from "./https-call.mjs";

const [host, port, method, path, key, cert] = process.argv.slice(2);
const answer = await httpsCall({
  host,
  port: Number(port),
  method,
  path,
  rejectUnauthorized: false,
  ...(key && cert ? { key: readFileSync(key), cert: readFileSync(cert) } : {}),
});
process.stdout.write(
  JSON.stringify(
    answer.error !== undefined
      ? { error: answer.error }
      : { status: answer.status, body: JSON.parse(answer.text || "{}") },
  ),
);
