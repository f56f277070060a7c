/**
 * `fip_ready_s` in `npm run bench:api`: the time from a floating IP's
 * association being answered (`PUT /v2.0/floatingips/{id}` with the VM's
 * `port_id`) to the first echo the outside host gets back from the
 * floating address, in the bench lab.
 *
 * The member is made a gateway chassis on the lab's outside network
 * (physnet1 on br-ex); a flat external network there, a router with its
 * gateway on it, a tenant network behind it with a VM namespace on a port
 * bound to the member, a security group letting ICMP in, one floating IP.
 * Each round: the outside host's neighbour cache is flushed and a ping
 * every 10 ms (`ping -D -O -i 0.01`, timestamps to the microsecond) is
 * started; the association is sent (through bench/lib/api-relay.ts, which
 * stamps the answer's arrival on the same wall clock); the first reply's
 * timestamp minus the answer's is the round's time. Then the NAT row is
 * checked to be of the mode measured, the floating IP is disassociated and
 * the next round waits until a ping goes unanswered. Centralised
 * (`openstack-api.distributed-floating-ips false`) and distributed (true:
 * the VM's member bridges physnet1), each after one round not counted.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { OPENSTACK_API_DISTRIBUTED_FIPS } from "../../src/cluster/config-keys.js";
import type { Lab, LabNode } from "../../src/lab/lab.js";
import { inNamespace } from "../../src/lab/netns.js";
import { spawnDetached } from "../../src/process/run.js";
import { floatingNatRow } from "../../test/helpers/lab.js";
import { stopPid } from "../../test/helpers/processes.js";
import { waitFor } from "../../test/helpers/wait.js";
import { log, percentile, sig } from "./stats.js";

const RELAY = resolve(import.meta.dirname, "api-relay.ts");
/** Measured rounds per mode (one more is run first and not counted). */
const ROUNDS = 30;
const TENANT_CIDR = "10.99.0.0/24";
const TENANT_GATEWAY = "10.99.0.1";
/** How long a floating IP may take to answer, or to stop answering, before the bench fails. */
const READY_BOUND_MS = 30_000;

interface RelayAnswer {
  status: number;
  body: Record<string, unknown>;
  /** Unix seconds when the answer arrived. */
  at: number;
}

/** The API relay in the member's namespace: one call at a time. */
class Relay {
  private readonly waiting: ((line: string) => void)[] = [];

  private constructor(private readonly child: ReturnType<typeof spawn>) {
    createInterface({ input: child.stdout! }).on("line", (line) => this.waiting.shift()?.(line));
  }

  static async start(namespace: string, args: string[]): Promise<Relay> {
    const cmd = inNamespace(namespace, process.execPath, ["--import", "tsx", RELAY, ...args]);
    const child = spawn(cmd.program, cmd.args, { stdio: ["pipe", "pipe", "inherit"] });
    const relay = new Relay(child);
    try {
      await relay.next();
    } catch (e) {
      relay.stop();
      throw e;
    }
    return relay;
  }

  private next(): Promise<string> {
    return new Promise((resolveLine, reject) => {
      const exited = () => reject(new Error("the API relay exited"));
      if (this.child.exitCode !== null || this.child.signalCode !== null) return exited();
      this.child.once("exit", exited);
      this.waiting.push((line) => {
        this.child.off("exit", exited);
        resolveLine(line);
      });
    });
  }

  /** A call that must answer `status`. */
  async call(method: string, path: string, body: unknown, status: number): Promise<RelayAnswer> {
    const line = this.next();
    this.child.stdin!.write(`${JSON.stringify({ method, path, body })}\n`);
    const answer = JSON.parse(await line) as RelayAnswer;
    if (answer.status !== status) {
      throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer;
  }

  async create<T>(collection: string, resource: string, body: unknown): Promise<T> {
    const answer = await this.call("POST", `/v2.0/${collection}`, { [resource]: body }, 201);
    return answer.body[resource] as T;
  }

  stop(): void {
    this.child.stdin!.end();
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
  }
}

/** Echo replies in `ping -D` output, as Unix seconds of their arrival. */
export function replyTimes(text: string, address: string): number[] {
  const times: number[] = [];
  for (const m of text.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from ([\d.]+):/gm)) {
    if (m[2] === address) times.push(Number(m[1]));
  }
  return times;
}

interface Setup {
  port: string;
  fip: { id: string; address: string };
}

/** Everything one floating IP needs, through the API; the VM's namespace on its port. */
async function setUp(lab: Lab, node: LabNode, api: Relay): Promise<Setup> {
  const outside = await lab.addOutside(node.name);
  // Neighbour resolution retried every 10 ms rather than every second, so
  // that the outside host's ARP does not round the times up to whole seconds.
  const sysctl = ["-qw", "net.ipv4.neigh.eth0.retrans_time_ms=10"];
  const tuned = await lab.exec("outside", "sysctl", sysctl);
  if (tuned.exitCode !== 0) throw new Error(`sysctl on the outside host: ${tuned.stderr}`);
  await lab.ok(node.name, ["chassis", "set", "bridge-mappings", "physnet1:br-ex"]);
  await lab.ok(node.name, ["chassis", "set", "gateway", "true"]);
  // The router's gateway is scheduled on the gateway chassis the API sees when it is set.
  const agents = `/v2.0/agents?agent_type=${encodeURIComponent("OVN Controller Gateway agent")}`;
  await waitFor(
    `the API to see ${node.name} as a gateway agent`,
    async () => {
      const { body } = await api.call("GET", `${agents}&host=${node.name}`, undefined, 200);
      return (body.agents as unknown[]).length === 1;
    },
    { timeoutMs: READY_BOUND_MS, intervalMs: 200 },
  );
  const ext = await api.create<{ id: string }>("networks", "network", {
    name: "fip-ready-ext",
    "router:external": true,
    "provider:network_type": "flat",
    "provider:physical_network": "physnet1",
  });
  await api.create("subnets", "subnet", {
    network_id: ext.id,
    cidr: outside.cidr,
    ip_version: 4,
    gateway_ip: outside.address,
    enable_dhcp: false,
  });
  const router = await api.create<{ id: string }>("routers", "router", {
    name: "fip-ready",
    external_gateway_info: { network_id: ext.id },
  });
  const tenant = await api.create<{ id: string }>("networks", "network", { name: "fip-ready" });
  const subnet = await api.create<{ id: string }>("subnets", "subnet", {
    network_id: tenant.id,
    cidr: TENANT_CIDR,
    ip_version: 4,
    gateway_ip: TENANT_GATEWAY,
  });
  await api.call(
    "PUT",
    `/v2.0/routers/${router.id}/add_router_interface`,
    { subnet_id: subnet.id },
    200,
  );
  // A group of its own that lets pings in (a new group lets everything out).
  const group = await api.create<{ id: string }>("security-groups", "security_group", {
    name: "fip-ready",
  });
  await api.create("security-group-rules", "security_group_rule", {
    security_group_id: group.id,
    direction: "ingress",
    ethertype: "IPv4",
    protocol: "icmp",
  });
  const port = await api.create<{ id: string }>("ports", "port", {
    network_id: tenant.id,
    name: "fip-ready-vm",
    "binding:host_id": node.name,
    security_groups: [group.id],
  });
  const vm = await lab.addPortVm(node.name, port.id);
  const route = await lab.exec(vm.name, "ip", ["route", "add", "default", "via", TENANT_GATEWAY]);
  if (route.exitCode !== 0) throw new Error(`default route in ${vm.name}: ${route.stderr}`);
  const fip = await api.create<{ id: string; floating_ip_address: string }>(
    "floatingips",
    "floatingip",
    { floating_network_id: ext.id },
  );
  return { port: port.id, fip: { id: fip.id, address: fip.floating_ip_address } };
}

/** Whether the floating address's NAT row is distributed (it names the VM's port and a MAC). */
async function natDistributed(lab: Lab, node: LabNode, setup: Setup): Promise<boolean> {
  const row = await floatingNatRow(lab, node.name, setup.fip.address);
  return row.logical_port === setup.port && row.external_mac !== undefined;
}

/** Pings started so far (each writes a file of its own). */
let pings = 0;

/**
 * One association, timed; the floating IP is disassociated again and no
 * longer answers when this returns. When `settling`, the NAT row may take
 * a while to reach the mode just set (the round is not counted).
 */
async function round(
  lab: Lab,
  node: LabNode,
  api: Relay,
  setup: Setup,
  distributed: boolean,
  settling: boolean,
): Promise<{ seconds: number; early: boolean }> {
  const { address } = setup.fip;
  const outside = lab.outside!;
  // A file of its own each round: the ping appends to it.
  const output = join(lab.root, `fip-ready-ping-${String(++pings)}.txt`);
  await lab.exec("outside", "ip", ["neigh", "flush", "dev", "eth0"]);
  const cmd = inNamespace(outside.namespace, "ping", ["-D", "-O", "-n", "-i", "0.01", address]);
  const ping = await spawnDetached(cmd.program, cmd.args, { logFile: output });
  const pinged = () => readFile(output, "utf8").catch(() => "");
  let answeredAt: number;
  let firstReply: number;
  try {
    // The header is printed as the first echo is sent: the ping is under way before the call.
    await waitFor("the outside host's ping to start", async () => /^PING /m.test(await pinged()), {
      timeoutMs: 10_000,
      intervalMs: 5,
    });
    const associated = await api.call(
      "PUT",
      `/v2.0/floatingips/${setup.fip.id}`,
      { floatingip: { port_id: setup.port } },
      200,
    );
    answeredAt = associated.at;
    firstReply = await waitFor(
      `an echo reply from ${address}`,
      async () => replyTimes(await pinged(), address)[0],
      { timeoutMs: READY_BOUND_MS, intervalMs: 5 },
    );
  } finally {
    await stopPid(ping.pid);
    await ping.exited;
  }
  const mode = async () => (await natDistributed(lab, node, setup)) === distributed;
  if (settling) {
    await waitFor(`the NAT row of ${address} to follow the setting`, mode, {
      timeoutMs: READY_BOUND_MS,
      intervalMs: 100,
    });
  } else if (!(await mode())) {
    throw new Error(`the NAT row of ${address} is not ${distributed ? "distributed" : "central"}`);
  }
  await api.call(
    "PUT",
    `/v2.0/floatingips/${setup.fip.id}`,
    { floatingip: { port_id: null } },
    200,
  );
  await waitFor(
    `${address} to stop answering`,
    async () =>
      (await lab.exec("outside", "ping", ["-c", "1", "-W", "0.1", address])).exitCode !== 0,
    { timeoutMs: READY_BOUND_MS, intervalMs: 10 },
  );
  // A reply to an echo sent before the answer can arrive before it too: the address was ready.
  const seconds = firstReply - answeredAt;
  return { seconds: Math.max(0, seconds), early: seconds < 0 };
}

/** Processes whose CPU time the rounds are charged: translating NB to SB, and SB to flows. */
const WORKERS = ["ovn-northd", "ovn-controller"] as const;

/** CPU seconds (user and system) that process `pid` has used; the kernel counts in 1/100 s. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function workersCpu(lab: Lab, node: LabNode): Promise<number[]> {
  const pids = await lab.pids(node.name);
  return Promise.all(WORKERS.map((name) => cpuSeconds(pids[name]!)));
}

function summary(times: number[]) {
  return {
    p50: sig(percentile(times, 50), 3),
    p95: sig(percentile(times, 95), 3),
    max: sig(Math.max(...times), 3),
  };
}

/**
 * Measures `fip_ready_s`, centralised then distributed, through the
 * member's API (`relayArgs` as bench/lib/api-relay.ts takes them). What it
 * makes in the lab goes with the lab.
 */
export async function measureFipReady(lab: Lab, node: LabNode, relayArgs: string[]) {
  const api = await Relay.start(node.namespace, relayArgs);
  try {
    const setup = await setUp(lab, node, api);
    const figures: Record<string, ReturnType<typeof summary> & Record<string, number>> = {};
    for (const distributed of [false, true]) {
      const mode = distributed ? "distributed" : "centralised";
      await lab.ok(node.name, [
        "config",
        "set",
        OPENSTACK_API_DISTRIBUTED_FIPS,
        String(distributed),
      ]);
      await round(lab, node, api, setup, distributed, true);
      const times: number[] = [];
      let early = 0;
      const cpuBefore = await workersCpu(lab, node);
      for (let i = 0; i < ROUNDS; i++) {
        const r = await round(lab, node, api, setup, distributed, false);
        times.push(r.seconds);
        if (r.early) early++;
      }
      // Per round: one association and one disassociation, and the pings between.
      const cpu = (await workersCpu(lab, node)).map((after, i) => (after - cpuBefore[i]!) / ROUNDS);
      const [northd, controller] = cpu.map((s) => sig(s, 3));
      figures[mode] = {
        ...summary(times),
        replies_before_answer: early,
        northd_cpu_s_per_round: northd!,
        controller_cpu_s_per_round: controller!,
      };
      const f = figures[mode];
      log(
        `  floating IP associated → first echo reply from outside, ${mode} (${ROUNDS} rounds): ` +
          `p50 ${f.p50} s, p95 ${f.p95} s, max ${f.max} s; CPU per round: ovn-northd ` +
          `${northd} s, ovn-controller ${controller} s`,
      );
    }
    return { fip_ready_s: figures };
  } finally {
    api.stop();
  }
}
