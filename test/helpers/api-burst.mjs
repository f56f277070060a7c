// Many Networking API calls at once, for tests that run it inside a member's
// network namespace (`ip netns exec`):
//   node api-burst.mjs CAFILE HOST TOKEN NETWORK_ID COUNT CONCURRENCY NAME_PREFIX
// creates COUNT ports on NETWORK_ID through https://HOST:9696, CONCURRENCY at
// a time over kept-alive connections, and prints one JSON object:
//   {"created": [{"name", "id", "mac", "ips"}], "failed": [{"name", "status"?,
//    "type"?, "message"?, "error"?}], "seconds"}
// A request that got no answer (the server died meanwhile) is "failed" with
// "error": its port may or may not exist, which is what the tests check.
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";

const [caFile, host, token, networkId, count, concurrency, prefix] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const ca = readFileSync(caFile);

function createPort(name) {
  const body = JSON.stringify({ port: { network_id: networkId, name } });
  return new Promise((resolve) => {
    const req = request(
      {
        host,
        port: 9696,
        method: "POST",
        path: "/v2.0/ports",
        agent,
        ca,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-auth-token": token,
        },
        timeout: 60_000,
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          let parsed;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          } catch {
            parsed = undefined;
          }
          if (res.statusCode === 201 && parsed?.port) {
            const p = parsed.port;
            resolve({
              ok: { name, id: p.id, mac: p.mac_address, ips: p.fixed_ips.map((f) => f.ip_address) },
            });
          } else {
            const e = parsed?.NeutronError ?? {};
            resolve({ failed: { name, status: res.statusCode, type: e.type, message: e.message } });
          }
        });
        res.on("error", (e) => resolve({ failed: { name, error: e.message } }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 60 s")));
    req.on("error", (e) => resolve({ failed: { name, error: e.message } }));
    req.end(body);
  });
}

const started = process.hrtime.bigint();
const created = [];
const failed = [];
let next = 0;
async function worker() {
  while (next < Number(count)) {
    const name = `${prefix}-${next++}`;
    const result = await createPort(name);
    if (result.ok) created.push(result.ok);
    else failed.push(result.failed);
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
agent.destroy();
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(JSON.stringify({ created, failed, seconds }));
