/**
 * The load half of `npm run bench:api`, run inside the member's network
 * namespace (bench/api.ts starts it there):
 *
 *   tsx bench/lib/api-load.ts ADDRESS PKI_DIR ADMIN_PASSWORD STATIC_TOKEN
 *
 * Prints progress lines, then one JSON line with the measurements. It talks
 * HTTPS to the member's Networking and Identity ports, and for the floor
 * writes the same Logical_Switch_Port rows to NB with our own client, one
 * transaction per port; router interfaces and floating IPs are measured
 * the same way (bench/lib/router-load.ts, fip-load.ts), between the port
 * creates and the fill.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import { OvsdbClient } from "../../src/ovsdb/index.js";
import type {
  LogicalSwitchPort,
  OvnNorthboundDatabase,
} from "../../src/ovsdb/models/ovn-northbound.js";
import { adminPasswordAuth, call, issueToken, rate, settle } from "./api-session.js";
import { measureFloatingIps } from "./fip-load.js";
import { measureRouterInterfaces } from "./router-load.js";
import { log, percentile, sig } from "./stats.js";

const [address, pkiDir, adminPassword, staticToken] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const ca = readFileSync(join(pkiDir, "cacert.pem"));

const SEQUENTIAL = 300;
const CONCURRENT = 2000;
const CONCURRENCY = 16;
const LISTED = 10_000;
const LIST_CALLS = 40;
const TOKEN_CALLS = 40;
/** The exit code when neither a password token nor the static token is taken. */
const NO_TOKEN_EXIT = 3;

async function main(): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const conn = { address, ca, agent };
  const tls = {
    privateKey: join(pkiDir, "client-privkey.pem"),
    certificate: join(pkiDir, "client-cert.pem"),
    caCert: join(pkiDir, "cacert.pem"),
  };
  const nb = await OvsdbClient.connect<OvnNorthboundDatabase>({
    remotes: `ssl:${address}:6641`,
    database: "OVN_Northbound",
    tls,
  });

  // A local token when the local plugin serves them, else the static token.
  const password = adminPasswordAuth(adminPassword);
  const issued = await issueToken(conn, password);
  const token = issued.status === 201 && issued.token ? issued.token : staticToken;
  const tokenKind = token === staticToken ? "static" : "local";
  const probe = await call(conn, 9696, "GET", "/v2.0/networks", token);
  if (probe.status !== 200) {
    log(`  the ${tokenKind} token is refused (${probe.status})`);
    agent.destroy();
    process.exit(NO_TOKEN_EXIT);
  }
  log(`  token: ${tokenKind}`);

  const network = await call(conn, 9696, "POST", "/v2.0/networks", token, {
    network: { name: "bench" },
  });
  if (network.status !== 201) throw new Error(`network create: ${JSON.stringify(network.body)}`);
  const networkId = (network.body.network as { id: string }).id;
  const subnet = await call(conn, 9696, "POST", "/v2.0/subnets", token, {
    subnet: { network_id: networkId, cidr: "10.64.0.0/17", ip_version: 4 },
  });
  if (subnet.status !== 201) throw new Error(`subnet create: ${JSON.stringify(subnet.body)}`);

  let made = 0;
  const createPort = async () => {
    const answer = await call(conn, 9696, "POST", "/v2.0/ports", token, {
      port: { network_id: networkId, name: `p${made++}` },
    });
    if (answer.status !== 201) throw new Error(`port create: ${JSON.stringify(answer.body)}`);
  };
  await settle(nb);
  const apiSequential = await rate(SEQUENTIAL, 1, createPort);
  log(`  API port create, sequential: ${apiSequential.toFixed(1)}/s`);
  await settle(nb);
  const apiConcurrent = await rate(CONCURRENT, CONCURRENCY, createPort);
  log(`  API port create, ${CONCURRENCY} concurrent: ${apiConcurrent.toFixed(1)}/s`);

  // The floor: the same rows (copied from a port the API made) written by
  // our client, one transaction per port, on a switch of their own.
  const [template] = await nb.select("Logical_Switch_Port", [
    ["external_ids", "includes", new Map([["neutron:network_name", `neutron-${networkId}`]])],
  ]);
  if (!template) throw new Error("no API port found in NB to copy");
  const templateGroups = (
    await nb.select("Port_Group", [["ports", "includes", [template._uuid]]], ["_uuid"])
  ).map((g) => g._uuid);
  const floorSwitch = `bench-floor-${randomUUID()}`;
  const create = nb.transaction();
  create.insert("Logical_Switch", { name: floorSwitch });
  await create.commit();
  let floorMade = 0;
  const writeFloorPort = async () => {
    const i = floorMade++;
    const row: Partial<LogicalSwitchPort> = { ...template };
    delete row._uuid;
    delete row._version;
    const ip = `10.200.${i >> 8}.${i & 255}`;
    const mac = `fa:16:3f:00:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
    const txn = nb.transaction();
    const port = txn.insert("Logical_Switch_Port", {
      ...(row as LogicalSwitchPort),
      name: randomUUID(),
      addresses: [`${mac} ${ip}`],
      port_security: template.port_security.length > 0 ? [`${mac} ${ip}`] : [],
    });
    txn.mutate("Logical_Switch", [["name", "==", floorSwitch]], [["ports", "insert", [port]]]);
    // The port groups the API put its port in (the drop group, the default
    // security group): the same rows change.
    for (const group of templateGroups) {
      txn.mutate("Port_Group", [["_uuid", "==", group]], [["ports", "insert", [port]]]);
    }
    await txn.commit();
  };
  await settle(nb);
  const floorSequential = await rate(SEQUENTIAL, 1, writeFloorPort);
  await settle(nb);
  const floorConcurrent = await rate(CONCURRENT, CONCURRENCY, writeFloorPort);
  log(
    `  floor (our client, one txn per port): ${floorSequential.toFixed(1)}/s sequential, ` +
      `${floorConcurrent.toFixed(1)}/s ${CONCURRENCY} concurrent`,
  );
  const drop = nb.transaction();
  drop.delete("Logical_Switch", [["name", "==", floorSwitch]]);
  await drop.commit();

  const session = { ...conn, token, nb };
  const routers = await measureRouterInterfaces(session, CONCURRENCY);
  const fips = await measureFloatingIps(session, CONCURRENCY);

  // The routers' and floating IPs' ports are listed too: the fill makes up the rest.
  const before = await call(conn, 9696, "GET", "/v2.0/ports?fields=id", token);
  const fill = LISTED - (before.body.ports as unknown[]).length;
  const fillRate = await rate(fill, CONCURRENCY, createPort);
  log(`  filled to ${LISTED} ports (${fillRate.toFixed(1)}/s)`);
  await settle(nb);
  nb.close();

  const lists: number[] = [];
  let listed = 0;
  for (let i = 0; i < LIST_CALLS; i++) {
    const answer = await call(conn, 9696, "GET", "/v2.0/ports", token);
    if (answer.status !== 200) throw new Error(`port list: ${JSON.stringify(answer.body)}`);
    listed = (answer.body.ports as unknown[]).length;
    lists.push(answer.ms);
  }
  log(
    `  GET /v2.0/ports (${listed} ports): p50 ${percentile(lists, 50).toFixed(1)} ms, ` +
      `p99 ${percentile(lists, 99).toFixed(1)} ms`,
  );

  let tokenRate: number | null = null;
  if (tokenKind === "local") {
    tokenRate = await rate(TOKEN_CALLS, 1, async () => {
      const answer = await call(conn, 5000, "POST", "/v3/auth/tokens", undefined, password);
      if (answer.status !== 201) throw new Error(`token issue: ${JSON.stringify(answer.body)}`);
    });
    log(`  token issue (password method, sequential): ${tokenRate.toFixed(1)}/s`);
  }
  agent.destroy();

  log(
    JSON.stringify({
      token: tokenKind,
      api_create_per_s: { sequential: sig(apiSequential), concurrent16: sig(apiConcurrent) },
      floor_create_per_s: { sequential: sig(floorSequential), concurrent16: sig(floorConcurrent) },
      api_create_ratio_to_floor: {
        sequential: sig(apiSequential / floorSequential, 3),
        concurrent16: sig(apiConcurrent / floorConcurrent, 3),
      },
      ...routers.figures,
      ...fips,
      list_ports: listed,
      list_p50_ms: sig(percentile(lists, 50), 3),
      list_p99_ms: sig(percentile(lists, 99), 3),
      token_issue_per_s: tokenRate === null ? null : sig(tokenRate, 3),
    }),
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
