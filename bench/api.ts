/**
 * Networking API benchmark (`npm run bench:api`): the service's routes,
 * client and replica in this process, serving HTTPS on loopback over a
 * fresh single-member Raft NB (as a cluster's), called through node:https
 * with keep-alive as a client would.
 *
 * 1. Port create rate through the API, one at a time and 16 at once,
 *    against the floor: the same NB rows (a port made by the API, copied
 *    with a new name, MAC and address) written by our client with one
 *    transaction per port at the same concurrency.
 * 2. `GET /v2.0/ports` with 10,000 ports: p50 and p99.
 * 3. This process's RSS with 10,000 ports (the API's process holds the same
 *    replica and server; this one adds only the calling side).
 *
 * Token issue rate: the local token plugin is not in this tree yet, so it
 * is reported as null. Progress goes to stdout; the last line is one JSON
 * object with every figure.
 */
import { randomUUID } from "node:crypto";
import { Agent, request } from "node:https";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { ADMIN_ROLE, effectiveRoles, type Caller } from "../src/openstack/auth/caller.js";
import { unauthorized } from "../src/openstack/auth/plugins.js";
import type { Backend } from "../src/openstack/backend.js";
import { buildApiServer } from "../src/openstack/http.js";
import { networkingApi } from "../src/openstack/networking/api.js";
import { formatIp, parseIp } from "../src/openstack/networking/addresses.js";
import { OvsdbClient, Replica } from "../src/ovsdb/index.js";
import type {
  LogicalSwitchPort,
  OvnNorthboundDatabase,
} from "../src/ovsdb/models/ovn-northbound.js";
import { createCa, issueCertificate } from "../src/pki/x509.js";
import { freePort } from "../test/helpers/tmp.js";
import { startServer, NB_DATABASE } from "./lib/server.js";
import { fmtInt, log, median, sig } from "./lib/stats.js";

const TOKEN = "bench-admin-token";
const ADMIN: Caller = {
  userId: "bench",
  userName: "bench",
  projectId: "bench-project",
  projectName: "bench",
  roles: effectiveRoles([ADMIN_ROLE]),
};
const SEQUENTIAL = 300;
const CONCURRENT = 1600;
const CONCURRENCY = 16;
const LIST_PORTS = 10_000;
const LIST_REPS = 30;

type NbClient = OvsdbClient<OvnNorthboundDatabase>;

interface Answer {
  status: number;
  body: string;
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Runs `task` for 0..n-1 with at most `concurrency` at once. */
async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = {
    cpus: os.cpus().length,
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  };
  log(`machine: ${JSON.stringify(machine)}`);
  const server = await startServer("clustered");
  const nb: NbClient = await OvsdbClient.connect<OvnNorthboundDatabase>({
    remotes: server.remote,
    database: NB_DATABASE,
  });
  const replica = await Replica.start(nb, {
    Logical_Switch: true,
    Logical_Switch_Port: true,
    DHCP_Options: true,
    Port_Group: true,
    ACL: true,
  });
  const ca = await createCa();
  const pair = await issueCertificate({
    ca,
    member: "bench",
    service: "openstack-api",
    addresses: ["127.0.0.1"],
  });
  const port = await freePort();
  const app = await buildApiServer({
    api: networkingApi({
      backend: { nb, nbReplica: replica } as unknown as Backend,
      auth: {
        authenticate: (t) =>
          t === TOKEN ? Promise.resolve(ADMIN) : Promise.reject(unauthorized()),
      },
      address: "127.0.0.1",
    }),
    host: "127.0.0.1",
    port,
    tls: { key: pair.keyPem, cert: pair.certPem },
    log: (m) => log(`api: ${m}`),
  });
  await app.listen({ host: "127.0.0.1", port });
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: ca.certPem });
  const call = (method: string, path: string, body?: unknown) =>
    new Promise<Answer>((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: "127.0.0.1",
          port,
          method,
          path,
          agent,
          headers: {
            "x-auth-token": TOKEN,
            ...(data
              ? { "content-type": "application/json", "content-length": Buffer.byteLength(data) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
          );
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  const create = async (path: string, body: unknown) => {
    const r = await call("POST", path, body);
    if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${r.body}`);
    return Object.values(JSON.parse(r.body) as Record<string, { id: string }>)[0]!;
  };
  try {
    const network = async (cidr: string) => {
      const net = await create("/v2.0/networks", { network: { name: `bench-${cidr}` } });
      await create("/v2.0/subnets", { subnet: { network_id: net.id, cidr } });
      return net.id;
    };
    const apiNet = await network("10.0.0.0/16");
    const floorNet = await network("10.1.0.0/16");
    const template = await create("/v2.0/ports", { port: { network_id: apiNet } });
    const row = replica.table("Logical_Switch_Port").lookup({ name: template.id })!;
    const floorSwitch = [...replica.table("Logical_Switch").values()].find(
      (s) => s.name === `neutron-${floorNet}`,
    )!;
    const portGroups = [...replica.table("Port_Group").values()]
      .filter((g) => g.ports.includes(row._uuid))
      .map((g) => g.name);

    // The floor: the template's row with a new name, MAC and address, one transaction per port.
    let floorCount = 0;
    const floorPort = async () => {
      const n = ++floorCount;
      const mac = `fa:16:3e:${[n >> 16, (n >> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, "0")).join(":")}`;
      const ip = formatIp(4, parseIp("10.1.0.0")!.value + BigInt(n + 1));
      const ids = new Map([...row.external_ids].filter(([k]) => !k.startsWith("microovn:ip:")));
      ids.set(`microovn:ip:${ip}`, "floor");
      ids.set("microovn:mac", mac);
      ids.set("neutron:network_name", floorSwitch.name);
      const txn = nb.transaction();
      const lsp = txn.insert("Logical_Switch_Port", {
        name: randomUUID(),
        addresses: [`${mac} ${ip}`],
        port_security: [`${mac} ${ip}`],
        enabled: true,
        options: row.options,
        external_ids: ids,
        dhcpv4_options: row.dhcpv4_options,
      });
      txn.mutate(
        "Logical_Switch",
        [["_uuid", "==", floorSwitch._uuid]],
        [["ports", "insert", [lsp]]],
      );
      for (const g of portGroups)
        txn.mutate("Port_Group", [["name", "==", g]], [["ports", "insert", [lsp]]]);
      await txn.commit();
    };
    const apiPort = async () => {
      await create("/v2.0/ports", { port: { network_id: apiNet } });
    };
    const rate = async (
      label: string,
      n: number,
      concurrency: number,
      task: () => Promise<void>,
    ) => {
      const t0 = performance.now();
      await pool(n, concurrency, task);
      const perSecond = n / ((performance.now() - t0) / 1000);
      log(`${label}: ${fmtInt(perSecond)} ports/s (${n} ports, ${concurrency} at once)`);
      return perSecond;
    };
    const seqApi = await rate("API, sequential", SEQUENTIAL, 1, apiPort);
    const seqFloor = await rate("floor, sequential", SEQUENTIAL, 1, floorPort);
    const conApi = await rate("API, 16 at once", CONCURRENT, CONCURRENCY, apiPort);
    const conFloor = await rate("floor, 16 at once", CONCURRENT, CONCURRENCY, floorPort);

    // Up to 10,000 Neutron ports, written as the floor writes them, then listed.
    const have = () =>
      [...replica.table("Logical_Switch_Port").values()].filter((p: LogicalSwitchPort) =>
        p.external_ids.has("neutron:network_name"),
      ).length;
    await pool(LIST_PORTS - have(), 32, floorPort);
    const count = have();
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < LIST_REPS; i++) {
      const t0 = performance.now();
      const r = await call("GET", "/v2.0/ports");
      times.push(performance.now() - t0);
      if (r.status !== 200) throw new Error(`GET /v2.0/ports: ${r.status}`);
      bytes = r.body.length;
      if (i === 0 && (JSON.parse(r.body) as { ports: unknown[] }).ports.length !== count) {
        throw new Error("the list does not hold every port");
      }
    }
    const listP50 = median(times);
    const listP99 = percentile(times, 99);
    log(
      `GET /v2.0/ports with ${fmtInt(count)} ports: p50 ${listP50.toFixed(1)} ms, p99 ${listP99.toFixed(1)} ms, ${fmtInt(bytes)} bytes`,
    );
    const rssMib = process.memoryUsage().rss / 2 ** 20;
    log(`RSS with ${fmtInt(count)} ports: ${rssMib.toFixed(0)} MiB`);
    const ratioSeq = seqApi / seqFloor;
    const ratioCon = conApi / conFloor;
    const targets = {
      api_create_ratio_to_floor_at_least_0_7: Math.min(ratioSeq, ratioCon) >= 0.7,
      list_10000_p50_at_most_50_ms: listP50 <= 50,
    };
    log(
      `targets: ${Object.entries(targets)
        .map(([k, ok]) => `${k}: ${ok ? "met" : "NOT met"}`)
        .join("; ")}`,
    );
    const out = {
      machine,
      nb: "single-member Raft, unix socket",
      create: {
        sequential: {
          api_per_s: sig(seqApi, 3),
          floor_per_s: sig(seqFloor, 3),
          ratio: sig(ratioSeq, 3),
        },
        concurrent_16: {
          api_per_s: sig(conApi, 3),
          floor_per_s: sig(conFloor, 3),
          ratio: sig(ratioCon, 3),
        },
      },
      api_create_ratio_to_floor: sig(Math.min(ratioSeq, ratioCon), 3),
      list_ports: { ports: count, p50_ms: sig(listP50, 3), p99_ms: sig(listP99, 3), bytes },
      rss_mib_with_10000_ports: sig(rssMib, 3),
      token_issue_per_s: null,
      targets,
      total_seconds: sig((performance.now() - started) / 1000, 3),
    };
    log(JSON.stringify(out));
  } finally {
    agent.destroy();
    await app.close();
    replica.close();
    nb.close();
    await server.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exitCode = 1;
});
