// An HTTPS request from inside a network namespace (tests run it with
// `ip netns exec`) that trusts only the given CA, as an OpenStack client
// given OS_CACERT would: node call-https.mjs CAFILE HOST PORT METHOD PATH [JSON-BODY [JSON-HEADERS]]
// (an empty JSON-BODY sends none).
// Prints {"status", "headers", "body" (parsed when JSON), "peer": {subjectaltname,
// fingerprint256}} or {"error", "code"} when no answer came (refused, untrusted, …).
import { readFileSync } from "node:fs";
import { httpsCall } from "./https-call.mjs";

const [caFile, host, port, method, path, given, headers] = process.argv.slice(2);
const body = given === "" ? undefined : given;
const { text, ...answer } = await httpsCall(
  {
    host,
    port: Number(port),
    method,
    path,
    ca: readFileSync(caFile),
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(headers === undefined ? {} : JSON.parse(headers)),
    },
  },
  body,
);
let parsed = text;
try {
  parsed = JSON.parse(text);
} catch {
  /* not JSON (or no answer): keep the text */
}
process.stdout.write(JSON.stringify({ ...answer, body: parsed }));
