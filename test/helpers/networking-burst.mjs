// Many port creates at once through several OpenStack API servers, from
// inside a member's network namespace:
// node networking-burst.mjs CAFILE TOKEN NETWORK_ID COUNT CONCURRENCY HOST…
// Prints [{host, status, id?, ip?, error?}] in the order the creates were sent.
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { httpsCall } from "./https-call.mjs";

const [caFile, token, network, countText, concurrencyText, ...hosts] = process.argv.slice(2);
const ca = readFileSync(caFile);
const count = Number(countText);
const agents = new Map(hosts.map((h) => [h, new Agent({ keepAlive: true, ca })]));
const results = new Array(count);
let next = 0;

async function worker() {
  while (next < count) {
    const i = next++;
    const host = hosts[i % hosts.length];
    const body = JSON.stringify({ port: { network_id: network, name: `burst-${i}` } });
    const answer = await httpsCall(
      {
        host,
        port: 9696,
        method: "POST",
        path: "/v2.0/ports",
        ca,
        agent: agents.get(host),
        headers: { "x-auth-token": token, "content-type": "application/json" },
      },
      body,
    );
    let port;
    try {
      port = JSON.parse(answer.text ?? "{}").port;
    } catch {
      port = undefined;
    }
    results[i] = {
      host,
      status: answer.status,
      id: port?.id,
      ip: port?.fixed_ips?.[0]?.ip_address,
      error: answer.error ?? (answer.status === 201 ? undefined : answer.text),
    };
  }
}

await Promise.all(Array.from({ length: Number(concurrencyText) }, worker));
for (const agent of agents.values()) agent.destroy();
process.stdout.write(JSON.stringify(results));
