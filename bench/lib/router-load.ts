/**
 * The router interface part of `npm run bench:api`: `add_router_interface`
 * by subnet through the Networking API, sequential and 16 at once, against
 * the floor — the same rows written to NB by our own client, one
 * transaction per interface: the switch port of type `router` in its
 * network's switch and the Logical_Router_Port in its router, both copied
 * from an interface the API made.
 *
 * The interfaces are spread on ROUTERS routers in turn (no gateways, so no
 * SNAT rows), one network with one /24 subnet per interface: a router
 * takes each subnet once, and many routers with a few subnets each is the
 * usual shape of a cloud.
 */
import { randomUUID } from "node:crypto";
import type {
  LogicalRouterPort,
  LogicalSwitchPort,
} from "../../src/ovsdb/models/ovn-northbound.js";
import { networking, sequentialThenConcurrent, twoWays, type ApiSession } from "./api-session.js";
import { log } from "./stats.js";

const ROUTERS = 8;
const SEQUENTIAL = 200;
const CONCURRENT = 400;
/** Networks and subnets are made in bulk requests of this many. */
const BULK = 100;

/** The /24 of interface `i`: 10.128.0.0/24 on, clear of the load's port subnet. */
function cidr(first: number, i: number): string {
  return `10.${first + (i >> 8)}.${i & 255}.0/24`;
}

async function subnetsFor(session: ApiSession, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += BULK) {
    const size = Math.min(BULK, count - start);
    const { networks } = (await networking(
      session,
      "POST",
      "/v2.0/networks",
      { networks: Array.from({ length: size }, (_, k) => ({ name: `ri${start + k}` })) },
      201,
    )) as { networks: { id: string }[] };
    const { subnets } = (await networking(
      session,
      "POST",
      "/v2.0/subnets",
      {
        subnets: networks.map((n, k) => ({
          network_id: n.id,
          cidr: cidr(128, start + k),
          ip_version: 4,
        })),
      },
      201,
    )) as { subnets: { id: string }[] };
    ids.push(...subnets.map((s) => s.id));
  }
  return ids;
}

/** Rows copied from an interface the API made, without their identity. */
function copyOf<T extends { _uuid: string; _version: string }>(
  row: T,
): Omit<T, "_uuid" | "_version"> {
  const { _uuid, _version, ...rest } = row;
  return rest;
}

/**
 * Measures the interface rates and leaves the API's interfaces in place.
 */
export async function measureRouterInterfaces(session: ApiSession, concurrency: number) {
  const { nb } = session;
  const routers: string[] = [];
  for (let r = 0; r < ROUTERS; r++) {
    const { router } = (await networking(
      session,
      "POST",
      "/v2.0/routers",
      { router: { name: `bench-r${r}` } },
      201,
    )) as { router: { id: string } };
    routers.push(router.id);
  }
  const subnets = await subnetsFor(session, SEQUENTIAL + CONCURRENT);
  let portId = "";
  const addInterface = async (i: number) => {
    const info = (await networking(
      session,
      "PUT",
      `/v2.0/routers/${routers[i % ROUTERS]!}/add_router_interface`,
      { subnet_id: subnets[i] },
      200,
    )) as { port_id: string };
    portId = info.port_id;
  };
  const counts = { sequential: SEQUENTIAL, concurrent: CONCURRENT, concurrency };
  const api = await sequentialThenConcurrent(nb, counts, addInterface);
  const [apiSequential, apiConcurrent] = [api.sequential, api.concurrent];
  log(`  API add_router_interface, sequential: ${apiSequential.toFixed(1)}/s`);
  log(`  API add_router_interface, ${concurrency} concurrent: ${apiConcurrent.toFixed(1)}/s`);

  // The floor: the same two rows, copied from the last interface the API
  // made, on switches and routers of its own made beforehand.
  const [lsp] = await nb.select("Logical_Switch_Port", [["name", "==", portId]]);
  const [lrp] = await nb.select("Logical_Router_Port", [["name", "==", `lrp-${portId}`]]);
  if (!lsp || !lrp) throw new Error(`the API's interface ${portId} is not in NB`);
  const groups = (
    await nb.select("Port_Group", [["ports", "includes", [lsp._uuid]]], ["_uuid"])
  ).map((g) => g._uuid);
  const tag = `bench-floor-${randomUUID()}`;
  const total = SEQUENTIAL + CONCURRENT;
  const setUp = nb.transaction();
  for (let i = 0; i < total; i++) setUp.insert("Logical_Switch", { name: `${tag}-s${i}` });
  for (let r = 0; r < ROUTERS; r++) setUp.insert("Logical_Router", { name: `${tag}-r${r}` });
  await setUp.commit();
  const writeFloorInterface = async (i: number) => {
    const name = randomUUID();
    const mac = `fa:16:3f:01:${((i >> 8) & 255).toString(16).padStart(2, "0")}:${(i & 255).toString(16).padStart(2, "0")}`;
    const txn = nb.transaction();
    const port = txn.insert("Logical_Switch_Port", {
      ...(copyOf(lsp) as LogicalSwitchPort),
      name,
      options: new Map([["router-port", `lrp-${name}`]]),
    });
    txn.mutate("Logical_Switch", [["name", "==", `${tag}-s${i}`]], [["ports", "insert", [port]]]);
    for (const group of groups) {
      txn.mutate("Port_Group", [["_uuid", "==", group]], [["ports", "insert", [port]]]);
    }
    const routerPort = txn.insert("Logical_Router_Port", {
      ...(copyOf(lrp) as LogicalRouterPort),
      name: `lrp-${name}`,
      mac,
      networks: [cidr(200, i).replace(/\.0\/24$/, ".1/24")],
    });
    txn.mutate(
      "Logical_Router",
      [["name", "==", `${tag}-r${i % ROUTERS}`]],
      [["ports", "insert", [routerPort]]],
    );
    await txn.commit();
  };
  const floor = await sequentialThenConcurrent(nb, counts, writeFloorInterface);
  const [floorSequential, floorConcurrent] = [floor.sequential, floor.concurrent];
  log(
    `  floor (our client, one txn per interface): ${floorSequential.toFixed(1)}/s sequential, ` +
      `${floorConcurrent.toFixed(1)}/s ${concurrency} concurrent`,
  );
  const drop = nb.transaction();
  for (let i = 0; i < total; i++) drop.delete("Logical_Switch", [["name", "==", `${tag}-s${i}`]]);
  for (let r = 0; r < ROUTERS; r++) drop.delete("Logical_Router", [["name", "==", `${tag}-r${r}`]]);
  await drop.commit();

  return {
    figures: {
      router_interface_routers: ROUTERS,
      api_router_interface_per_s: twoWays(concurrency, apiSequential, apiConcurrent),
      floor_router_interface_per_s: twoWays(concurrency, floorSequential, floorConcurrent),
      api_router_interface_ratio_to_floor: twoWays(
        concurrency,
        apiSequential / floorSequential,
        apiConcurrent / floorConcurrent,
        3,
      ),
    },
  };
}
