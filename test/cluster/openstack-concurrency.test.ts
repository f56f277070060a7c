/**
 * The Networking API under contention and faults, in a 3-member lab with
 * the API service on m1 and m2 (auth by a static token, so the test is
 * about writes, not logins):
 * - two API servers create 1,000 ports on one subnet at once: every 201 is
 *   a port that exists with the answered address and MAC, no address or
 *   MAC is handed out twice, and nothing half-made is left;
 * - the API process is SIGKILLed in a burst: every acknowledged port is
 *   there and the supervisor brings the service back by itself;
 * - the NB Raft leader is SIGKILLed in a burst: the same, and writes go on
 *   through the new leader.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { raftStatus, startLab, stopLab } from "../helpers/lab.js";
import { isAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const API_CALL = resolve(import.meta.dirname, "../helpers/api-call.mjs");
const API_BURST = resolve(import.meta.dirname, "../helpers/api-burst.mjs");
const TOKEN = "burst-test-token-0123456789";
const API_MEMBERS = ["m1", "m2"] as const;

interface Answer {
  status?: number;
  body?: Record<string, Record<string, unknown> | unknown[]>;
  error?: string;
}

interface Burst {
  created: { name: string; id: string; mac: string; ips: string[] }[];
  failed: { name: string; status?: number; type?: string; message?: string; error?: string }[];
  seconds: number;
}

interface NbPort {
  name: string;
  addresses: string[];
}

let lab: Lab | undefined;
let networkId = "";
let switchName = "";

function caFile(node: string): string {
  return resolve(lab!.node(node).stateDir, "data/pki/cacert.pem");
}

async function api(node: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const n = lab!.node(node);
  const args = [API_CALL, caFile(node), n.address, "9696", TOKEN, method, path];
  if (body !== undefined) args.push(JSON.stringify(body));
  const { stdout } = await runIn(n.namespace, process.execPath, args);
  return JSON.parse(stdout) as Answer;
}

async function burst(node: string, count: number, concurrency: number, prefix: string) {
  const n = lab!.node(node);
  const { stdout } = await runIn(
    n.namespace,
    process.execPath,
    [
      API_BURST,
      caFile(node),
      n.address,
      TOKEN,
      networkId,
      String(count),
      String(concurrency),
      prefix,
    ],
    { timeoutMs: 600_000 },
  );
  return JSON.parse(stdout) as Burst;
}

/** The network's logical switch ports as NB has them, read on m3 (no API there). */
async function nbPorts(): Promise<Map<string, NbPort>> {
  const out = await lab!.ok("m3", [
    "ovn-nbctl",
    "--timeout=30",
    "--format=json",
    "--columns=name,addresses",
    "find",
    "Logical_Switch_Port",
    `external_ids:"neutron:network_name"="${switchName}"`,
  ]);
  const table = JSON.parse(out) as { data: [string, string | ["set", string[]]][] };
  const ports = new Map<string, NbPort>();
  for (const [name, addresses] of table.data) {
    const list = typeof addresses === "string" ? [addresses] : addresses[1];
    ports.set(name, { name, addresses: list });
  }
  return ports;
}

/** Every acknowledged port is in NB with the MAC and address it was answered with. */
function assertAcknowledgedExist(result: Burst, ports: Map<string, NbPort>): void {
  for (const port of result.created) {
    const row = ports.get(port.id);
    assert.ok(row, `port ${port.name} (${port.id}) was acknowledged but is not in NB`);
    const words = row.addresses.join(" ").split(" ");
    assert.ok(words.includes(port.mac), `${port.id}: NB has ${row.addresses.join()}`);
    for (const ip of port.ips) assert.ok(words.includes(ip), `${port.id}: NB lacks ${ip}`);
  }
}

/** No address and no MAC is held by two ports; every port has both (nothing half-made). */
function assertNoDuplicates(ports: Map<string, NbPort>): void {
  const ips = new Map<string, string>();
  const macs = new Map<string, string>();
  for (const port of ports.values()) {
    const [mac, ...addresses] = (port.addresses[0] ?? "").split(" ");
    assert.ok(mac && addresses.length > 0, `port ${port.name} has no MAC and address`);
    assert.equal(macs.get(mac), undefined, `${mac} is held by ${macs.get(mac)} and ${port.name}`);
    macs.set(mac, port.name);
    for (const ip of addresses) {
      assert.equal(ips.get(ip), undefined, `${ip} is held by ${ips.get(ip)} and ${port.name}`);
      ips.set(ip, port.name);
    }
  }
}

/** The port called `name`, through `node`'s API, or undefined. */
async function portNamed(node: string, name: string): Promise<unknown> {
  const answer = await api(node, "GET", `/v2.0/ports?name=${name}`);
  return (answer.body?.ports as unknown[] | undefined)?.[0];
}

async function apiPid(node: string): Promise<number | undefined> {
  return (await lab!.pids(node))["openstack-api"];
}

describe("the Networking API under contention and faults", () => {
  before(async () => {
    lab = await startLab(3);
    for (const node of API_MEMBERS) await lab.ok(node, ["enable", "openstack-api"]);
    // The bursts make 1,300 ports in the admin project, past Neutron's default quota of 500;
    // set first, so the token taking effect below means this has too.
    await lab.ok("m1", ["config", "set", "openstack-api.quota.port", "-1"]);
    await lab.ok("m1", ["config", "set", "openstack-api.auth", "static-token"]);
    await lab.ok("m1", ["config", "set", "openstack-api.static-token", TOKEN]);
    for (const node of API_MEMBERS) {
      await waitFor(`the API on ${node} to take the token`, async () =>
        (await api(node, "GET", "/v2.0/networks")).status === 200 ? true : undefined,
      );
    }
    const network = await api("m1", "POST", "/v2.0/networks", { network: { name: "burst" } });
    assert.equal(network.status, 201, JSON.stringify(network.body));
    networkId = (network.body!.network as { id: string }).id;
    switchName = `neutron-${networkId}`;
    // A /20: room for every port of every burst below.
    const subnet = await api("m1", "POST", "/v2.0/subnets", {
      subnet: { network_id: networkId, cidr: "10.20.0.0/20", ip_version: 4 },
    });
    assert.equal(subnet.status, 201, JSON.stringify(subnet.body));
  });

  after(async () => {
    await stopLab(lab);
  });

  it("two API servers creating 1,000 ports on one subnet at once hand out each address once", async () => {
    const [one, two] = await Promise.all([burst("m1", 500, 16, "a"), burst("m2", 500, 16, "b")]);
    assert.deepEqual([...one.failed, ...two.failed], []);
    assert.equal(one.created.length + two.created.length, 1000);
    const ports = await nbPorts();
    assertAcknowledgedExist(one, ports);
    assertAcknowledgedExist(two, ports);
    assert.equal(ports.size, 1000, "only the acknowledged ports are in NB");
    assertNoDuplicates(ports);
  });

  it("a SIGKILLed API process loses no acknowledged port and comes back by itself", async () => {
    const before = await apiPid("m1");
    assert.ok(before !== undefined && isAlive(before));
    const running = burst("m1", 300, 8, "kill");
    // Kill it mid-burst: once some of the burst's ports are in NB.
    await waitFor("the burst to be under way", () => portNamed("m1", "kill-20"));
    process.kill(before, "SIGKILL");
    const result = await running;
    assert.ok(result.failed.length > 0, "the kill cut some requests off");
    const after = await waitFor("the supervisor to start the API again", async () => {
      const pid = await apiPid("m1");
      return pid !== undefined && pid !== before && isAlive(pid) ? pid : undefined;
    });
    assert.notEqual(after, before);
    await waitFor("the restarted API to answer", async () =>
      (await api("m1", "GET", "/v2.0/networks")).status === 200 ? true : undefined,
    );
    const ports = await nbPorts();
    assertAcknowledgedExist(result, ports);
    assertNoDuplicates(ports);
    // And it serves writes again.
    const fresh = await api("m1", "POST", "/v2.0/ports", {
      port: { network_id: networkId, name: "after-kill" },
    });
    assert.equal(fresh.status, 201, JSON.stringify(fresh.body));
  });

  it("a SIGKILLed NB leader loses no acknowledged port, and writes go on", async () => {
    const leader = (
      await Promise.all(
        ["m1", "m2", "m3"].map(async (n) => ({ n, s: await raftStatus(lab!, n, "nb") })),
      )
    ).find((x) => x.s.role === "leader")!.n;
    const writer = API_MEMBERS.find((n) => n !== leader) ?? "m1";
    const nbPid = (await lab!.pids(leader)).ovnnb_db!;
    const running = burst(writer, 300, 8, "leader");
    await waitFor("the burst to be under way", () => portNamed(writer, "leader-20"));
    process.kill(nbPid, "SIGKILL");
    const result = await running;
    const ports = await nbPorts();
    assertAcknowledgedExist(result, ports);
    assertNoDuplicates(ports);
    await waitFor(
      "a port create through the API after the new leader took over",
      async () =>
        (
          await api(writer, "POST", "/v2.0/ports", {
            port: { network_id: networkId, name: "after-leader" },
          })
        ).status === 201
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );
  });
});
