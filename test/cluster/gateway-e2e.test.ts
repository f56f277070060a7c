/**
 * A router's external gateway in a three-member lab with the outside
 * network (src/lab/outside.ts): m1 and m2 are gateway chassis bridging
 * physnet1 to the outside through br-ex, m3 is a plain chassis. With the
 * real `openstack` CLI: a flat external network on physnet1, a router with
 * its gateway there, two tenant networks behind it with a VM each (on m3
 * and m2). The VMs reach each other through the router and reach the
 * outside host, which sees the router's gateway address as the source
 * (SNAT), and the VM's own address with SNAT off; clearing the gateway
 * cuts the way out and setting it again restores it. Floating IPs bring
 * the outside host in to a VM and are its source outside, centralised (the
 * gateway chassis answers for them) and distributed (the VM's own member,
 * bridging physnet1, does); disassociating one cuts it. OVN turns BFD on
 * over the tunnels to the two gateway chassis by itself; killing every
 * process of the active gateway member moves the gateway to the other one,
 * and the test measures how long pings from a VM to the outside host go
 * unanswered.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { OPENSTACK_API_DISTRIBUTED_FIPS } from "../../src/cluster/config-keys.js";
import { labWithApi } from "../helpers/api-member.js";
import { floatingNatRow, killNode, stopLab } from "../helpers/lab.js";
import type { OpenStackCli } from "../helpers/openstack-cli.js";
import { isAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;
/** The failover test's background ping, stopped by pid whatever happens. */
let pingPid: number | undefined;

after(async () => {
  if (pingPid !== undefined && isAlive(pingPid)) process.kill(pingPid, "SIGKILL");
  await stopLab(lab);
});

const GATEWAYS = ["m1", "m2"] as const;
const OUTSIDE_CIDR = "203.0.113.0/24";
const OUTSIDE_HOST = "203.0.113.1";
const NETWORKS = {
  a: { node: "m3", v4: "10.70.1.0/24" },
  b: { node: "m2", v4: "10.70.2.0/24" },
} as const;
type Side = keyof typeof NETWORKS;
/** How long the failover may take before the test fails. */
const FAILOVER_BOUND_S = 30;

/**
 * Waits (raw ICMP socket on the outside host) for the first echo request
 * and prints its source address.
 */
const FIRST_ECHO_SOURCE = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(float(sys.argv[1]))
while True:
    data, peer = s.recvfrom(65535)
    if data[(data[0] & 15) * 4] == 8:
        print(peer[0])
        break
`;

interface Port {
  id: string;
}

/** An OVSDB map as `ovs-vsctl --format=json` prints it. */
type OvsMap = ["map", [string, string][]];

function ovsMap(value: OvsMap): Record<string, string> {
  return Object.fromEntries(value[1]);
}

interface Tunnel {
  remote: string;
  bfd: Record<string, string>;
  status: Record<string, string>;
}

/** Echo replies in `ping -D` output: icmp_seq → arrival (Unix seconds). */
function echoReplies(text: string): Map<number, number> {
  const replies = new Map<number, number>();
  for (const m of text.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm)) {
    replies.set(Number(m[2]), Number(m[1]));
  }
  return replies;
}

/** The longest silence between two consecutive replies, and the echoes lost in it. */
function longestGap(replies: Map<number, number>): { from: number; to: number; lost: number } {
  const sorted = [...replies].sort(([a], [b]) => a - b);
  let gap = { from: 0, to: 0, lost: 0 };
  for (let i = 1; i < sorted.length; i++) {
    const [seqA, tA] = sorted[i - 1]!;
    const [seqB, tB] = sorted[i]!;
    if (tB - tA > gap.to - gap.from) gap = { from: tA, to: tB, lost: seqB - seqA - 1 };
  }
  return gap;
}

interface GatewayInfo {
  external_gateway_info: { external_fixed_ips: { ip_address: string }[] } | null;
}

function seconds(since: bigint): string {
  return (Number(process.hrtime.bigint() - since) / 1e9).toFixed(2);
}

describe("a router's external gateway on two gateway chassis", () => {
  let os: OpenStackCli;
  const vms = {} as Record<Side, LabVm>;

  /** One echo request from a VM; true when the reply came back. */
  const ping = async (from: LabVm, to: string): Promise<boolean> =>
    (await lab!.exec(from.name, "ping", ["-c", "1", "-W", "1", to])).exitCode === 0;

  /** The router's gateway address, as the API answers it. */
  const gatewayAddress = async (): Promise<string> => {
    const router = await os.json<GatewayInfo>(["router", "show", "r1"]);
    const ip = router.external_gateway_info?.external_fixed_ips[0]?.ip_address;
    assert.ok(ip, "the router has a gateway address");
    return ip;
  };

  /** The source address the outside host sees on echo requests from `vm`. */
  const sourceSeenOutside = async (vm: LabVm): Promise<string> => {
    const [listener, pings] = await Promise.all([
      lab!.exec("outside", "/usr/bin/python3", ["-c", FIRST_ECHO_SOURCE, "20"]),
      lab!.exec(vm.name, "ping", ["-c", "10", "-i", "0.3", "-W", "1", OUTSIDE_HOST]),
    ]);
    assert.equal(pings.exitCode, 0, `${vm.name} got no reply from outside: ${pings.stdout}`);
    assert.equal(listener.exitCode, 0, listener.stderr);
    return listener.stdout.trim();
  };

  /** The router's gateway port (its LRP is `lrp-<id>`, the chassisredirect port `cr-lrp-<id>`). */
  const gatewayPort = async (): Promise<string> => {
    const ports = await os.json<{ ID: string }[]>([
      "port",
      "list",
      "--router",
      "r1",
      "--device-owner",
      "network:router_gateway",
    ]);
    assert.equal(ports.length, 1);
    return ports[0]!.ID;
  };

  /** SB's chassis for the gateway's chassisredirect port, asked through `node`. */
  const activeGateway = async (node: string, port: string): Promise<string> => {
    const sb = ["ovn-sbctl", "--timeout=10", "--bare"];
    const chassis = (
      await lab!.ok(node, [
        ...sb,
        "--columns=chassis",
        "find",
        "Port_Binding",
        `logical_port=cr-lrp-${port}`,
      ])
    ).trim();
    if (chassis === "") return "";
    return (await lab!.ok(node, [...sb, "--columns=name", "list", "Chassis", chassis])).trim();
  };

  /** A member's Geneve tunnels: the remote encapsulation IP with BFD's settings and state. */
  const tunnels = async (node: string): Promise<Tunnel[]> => {
    const out = await lab!.ok(node, [
      "ovs-vsctl",
      "--format=json",
      "--columns=options,bfd,bfd_status",
      "find",
      "Interface",
      "type=geneve",
    ]);
    const { data } = JSON.parse(out) as { data: OvsMap[][] };
    return data.map(([options, bfd, status]) => ({
      remote: ovsMap(options!).remote_ip ?? "",
      bfd: ovsMap(bfd!),
      status: ovsMap(status!),
    }));
  };

  before(async () => {
    ({ lab, os } = await labWithApi(3));
    await lab.addOutside(GATEWAYS.join(","), OUTSIDE_CIDR);
    for (const node of GATEWAYS) {
      await lab.ok(node, ["chassis", "set", "bridge-mappings", "physnet1:br-ex"]);
      await lab.ok(node, ["chassis", "set", "gateway", "true"]);
    }
    // The gateway's chassis are chosen when it is set: from what the API sees of SB then.
    await waitFor(
      "the API to see m1 and m2 as gateway agents",
      async () => {
        const agents = await os.json<{ "Agent Type": string; Host: string }[]>([
          "network",
          "agent",
          "list",
        ]);
        const hosts = agents
          .filter((a) => a["Agent Type"] === "OVN Controller Gateway agent")
          .map((a) => a.Host)
          .sort();
        return hosts.join(",") === GATEWAYS.join(",");
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  it("routes two tenant networks behind a router whose gateway is on a flat external network", async () => {
    await os.json([
      "network",
      "create",
      "--external",
      "--provider-network-type",
      "flat",
      "--provider-physical-network",
      "physnet1",
      "ext",
    ]);
    await os.json([
      "subnet",
      "create",
      "ext-v4",
      "--network",
      "ext",
      "--subnet-range",
      OUTSIDE_CIDR,
      "--gateway",
      OUTSIDE_HOST,
      "--no-dhcp",
    ]);
    await os.json(["router", "create", "--external-gateway", "ext", "r1"]);
    for (const side of ["a", "b"] as const) {
      const n = NETWORKS[side];
      await os.json(["network", "create", `net-${side}`]);
      await os.json([
        "subnet",
        "create",
        `v4-${side}`,
        "--network",
        `net-${side}`,
        "--subnet-range",
        n.v4,
      ]);
      const r = await os.run(["router", "add", "subnet", "r1", `v4-${side}`]);
      assert.equal(r.exitCode, 0, r.stderr);
      const port = await os.json<Port>([
        "port",
        "create",
        "--network",
        `net-${side}`,
        "--host",
        n.node,
        `vm-${side}`,
      ]);
      vms[side] = await lab!.addPortVm(n.node, port.id, { dhcp: true });
    }
    const chassis = await lab!.ok("m3", [
      "ovn-nbctl",
      "--timeout=10",
      "--bare",
      "--columns=chassis_name,priority",
      "list",
      "Gateway_Chassis",
    ]);
    const rows = chassis
      .trim()
      .split("\n\n")
      .map((r) => r.split("\n").join(" "))
      .sort();
    assert.deepEqual(rows, ["m1 2", "m2 1"], "both gateway members host the gateway, m1 first");
    await waitFor("a to ping b through the router", () => ping(vms.a, vms.b.ip), {
      timeoutMs: 30_000,
    });
  });

  it("lets each VM reach the outside host, which sees the router's gateway address", async (t) => {
    const gateway = await gatewayAddress();
    for (const side of ["a", "b"] as const) {
      const since = process.hrtime.bigint();
      await waitFor(`${side} to ping the outside host`, () => ping(vms[side], OUTSIDE_HOST), {
        timeoutMs: 30_000,
      });
      t.diagnostic(`${side} (${vms[side].ip}): first reply from outside after ${seconds(since)} s`);
      assert.equal(await sourceSeenOutside(vms[side]), gateway, `${side} is hidden behind SNAT`);
    }
    assert.equal(
      await activeGateway("m3", await gatewayPort()),
      "m1",
      "the highest priority chassis is active",
    );
  });

  it("cuts the way out when the gateway is cleared, and restores it when it is set again", async (t) => {
    let since = process.hrtime.bigint();
    const unset = await os.run(["router", "unset", "--external-gateway", "r1"]);
    assert.equal(unset.exitCode, 0, unset.stderr);
    await waitFor(
      "the outside host to become unreachable",
      async () => !(await ping(vms.a, OUTSIDE_HOST)),
      {
        timeoutMs: 30_000,
      },
    );
    t.diagnostic(`gateway cleared → first lost echo: ${seconds(since)} s`);
    for (let i = 0; i < 3; i++) {
      assert.equal(await ping(vms.a, OUTSIDE_HOST), false, "a reached outside without a gateway");
    }
    assert.equal(await ping(vms.a, vms.b.ip), true, "the tenant networks are still routed");

    since = process.hrtime.bigint();
    const set = await os.run(["router", "set", "--external-gateway", "ext", "r1"]);
    assert.equal(set.exitCode, 0, set.stderr);
    await waitFor("the outside host to be reachable again", () => ping(vms.a, OUTSIDE_HOST), {
      timeoutMs: 30_000,
    });
    t.diagnostic(`gateway set again → first echo reply: ${seconds(since)} s`);
    assert.equal(await sourceSeenOutside(vms.a), await gatewayAddress());
  });

  it("shows the VM's own address outside when SNAT is off, and hides it again when it is on", async () => {
    const gateway = await gatewayAddress();
    const snat = async (flag: string) => {
      const r = await os.run(["router", "set", "--external-gateway", "ext", flag, "r1"]);
      assert.equal(r.exitCode, 0, r.stderr);
    };
    // Without translation the outside host answers the tenant addresses: through the router.
    const route = ["route", "replace", "10.70.0.0/16", "via", gateway];
    assert.equal((await lab!.exec("outside", "ip", route)).exitCode, 0);
    try {
      await snat("--disable-snat");
      await waitFor(
        "the outside host to see a's own address",
        async () => (await sourceSeenOutside(vms.a)) === vms.a.ip,
        { timeoutMs: 30_000 },
      );
      await snat("--enable-snat");
      await waitFor(
        "the outside host to see the gateway address again",
        async () => (await sourceSeenOutside(vms.a)) === gateway,
        { timeoutMs: 30_000 },
      );
    } finally {
      await lab!.exec("outside", "ip", ["route", "del", "10.70.0.0/16"]);
    }
  });

  const fips = {} as Record<Side, { id: string; address: string }>;

  /** The mode columns of a floating address's NAT row (set: distributed). */
  const natRow = (address: string) => floatingNatRow(lab!, "m3", address);

  /**
   * From the outside host: an echo to `address` answered from that very
   * address, and the MAC the host's ARP found for it (which chassis answers).
   */
  const reachFromOutside = async (address: string): Promise<string | undefined> => {
    await lab!.exec("outside", "ip", ["neigh", "flush", "dev", "eth0"]);
    const r = await lab!.exec("outside", "ping", ["-c", "1", "-W", "1", address]);
    if (r.exitCode !== 0 || !r.stdout.includes(`bytes from ${address}:`)) return undefined;
    const neigh = await lab!.exec("outside", "ip", ["neigh", "show", address, "dev", "eth0"]);
    return /lladdr (\S+)/.exec(neigh.stdout)?.[1];
  };

  const distributedFips = (value: "true" | "false") =>
    lab!.ok("m1", ["config", "set", OPENSTACK_API_DISTRIBUTED_FIPS, value]);

  it("reaches each VM from outside through a centralised floating IP, which is its source outside", async (t) => {
    await distributedFips("false");
    // The default security group lets in only its own members: open it to pings from outside.
    const rule = await os.run("security group rule create --protocol icmp default".split(" "));
    assert.equal(rule.exitCode, 0, rule.stderr);
    const gatewayMac = (
      await os.json<{ mac_address: string }>(["port", "show", await gatewayPort()])
    ).mac_address;
    for (const side of ["a", "b"] as const) {
      const fip = await os.json<{ id: string; floating_ip_address: string }>([
        "floating",
        "ip",
        "create",
        "ext",
        "--port",
        `vm-${side}`,
      ]);
      fips[side] = { id: fip.id, address: fip.floating_ip_address };
      assert.deepEqual(await natRow(fip.floating_ip_address), {
        logical_port: undefined,
        external_mac: undefined,
      });
      const since = process.hrtime.bigint();
      const mac = await waitFor(
        `the outside host to reach ${side} at ${fip.floating_ip_address}`,
        () => reachFromOutside(fip.floating_ip_address),
        { timeoutMs: 30_000 },
      );
      t.diagnostic(`${side}: floating IP created → first reply from it: ${seconds(since)} s`);
      assert.equal(mac, gatewayMac, "the gateway chassis answers for a centralised floating IP");
      assert.equal(await sourceSeenOutside(vms[side]), fip.floating_ip_address);
    }
  });

  it("translates on the VM's own chassis where it bridges physnet1 (distributed)", async (t) => {
    const since = process.hrtime.bigint();
    await distributedFips("true");
    const portB = vms.b.port;
    // b is on m2, which bridges physnet1; a is on m3, which does not: it stays centralised.
    const row = await waitFor(
      "b's floating IP to become distributed",
      async () => {
        const r = await natRow(fips.b.address);
        return r.logical_port === portB && r.external_mac !== undefined ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    t.diagnostic(`setting changed → NAT row distributed: ${seconds(since)} s`);
    assert.equal((await natRow(fips.a.address)).logical_port, undefined, "a stays centralised");
    const mac = await waitFor(
      "the outside host to reach b at its floating IP",
      () => reachFromOutside(fips.b.address),
      { timeoutMs: 30_000 },
    );
    assert.equal(mac, row.external_mac, "m2 answers with the floating IP's own MAC");
    assert.equal(await sourceSeenOutside(vms.b), fips.b.address);
    assert.ok(await reachFromOutside(fips.a.address), "a is still reached through the gateway");
  });

  it("cuts the way in when a floating IP is disassociated; the VM goes out behind SNAT again", async (t) => {
    const gateway = await gatewayAddress();
    for (const side of ["b", "a"] as const) {
      const since = process.hrtime.bigint();
      const r = await os.run(["floating", "ip", "unset", "--port", fips[side].id]);
      assert.equal(r.exitCode, 0, r.stderr);
      await waitFor(
        `the outside host to lose ${side}'s floating IP`,
        async () => (await reachFromOutside(fips[side].address)) === undefined,
        { timeoutMs: 30_000 },
      );
      t.diagnostic(`${side}: disassociated → first lost echo: ${seconds(since)} s`);
      for (let i = 0; i < 3; i++) {
        assert.equal(await reachFromOutside(fips[side].address), undefined, "still reached");
      }
      assert.equal(await sourceSeenOutside(vms[side]), gateway);
    }
  });

  it("has OVN run BFD over the tunnels to both gateway chassis", async (t) => {
    const encap = Object.fromEntries(lab!.nodes.map((n) => [n.encapIp, n.name]));
    // m3 holds a VM behind the router, so it watches both gateways; m1 watches m2 and m3.
    for (const [node, peers] of [
      ["m3", ["m1", "m2"]],
      ["m1", ["m2", "m3"]],
    ] as const) {
      await waitFor(
        `BFD up on ${node}'s tunnels to ${peers.join(" and ")}`,
        async () => {
          const up = (await tunnels(node))
            .filter((t) => t.bfd.enable === "true" && t.status.state === "up")
            .map((t) => encap[t.remote])
            .sort();
          return peers.every((p) => up.includes(p));
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }
    for (const tunnel of await tunnels("m3")) {
      const settings = Object.entries(tunnel.bfd).map(([k, v]) => `${k}=${v}`);
      t.diagnostic(`m3 → ${encap[tunnel.remote]}: bfd ${settings.join(" ")}`);
    }
  });

  it("moves the gateway to m2 within the bound when every process of m1 is killed", async (t) => {
    const port = await gatewayPort();
    const gateway = await gatewayAddress();
    assert.equal(await activeGateway("m3", port), "m1");
    const output = join(lab!.root, "failover-ping.txt");
    const pidFile = join(lab!.root, "failover-ping.pid");
    // Every 0.1 s, timestamped, with a line for every echo that went unanswered.
    const pinging = lab!.exec(vms.a.name, "sh", [
      "-c",
      `echo $$ > ${pidFile}; exec ping -D -O -n -i 0.1 -W 1 -w 120 ${OUTSIDE_HOST} > ${output}`,
    ]);
    const replies = async () => echoReplies(await readFile(output, "utf8").catch(() => ""));
    await waitFor("ten echo replies before the kill", async () => (await replies()).size >= 10, {
      timeoutMs: 10_000,
    });
    pingPid = Number(await readFile(pidFile, "utf8"));
    const killedAt = Date.now() / 1000;
    const killed = await killNode(lab!, "m1");
    t.diagnostic(`killed m1's ${killed.length} processes`);
    // Replies already on their way when m1 died could still arrive just after.
    const resumed = async () =>
      [...(await replies()).values()].filter((at) => at > killedAt + 0.5).length >= 10;
    await waitFor("echo replies to resume through m2", resumed, {
      timeoutMs: (FAILOVER_BOUND_S + 2) * 1000,
      intervalMs: 100,
    });
    process.kill(pingPid, "SIGINT");
    await pinging;
    const gap = longestGap(await replies());
    t.diagnostic(
      `failover: ${gap.lost} echoes lost, ${(gap.to - gap.from).toFixed(2)} s between the last ` +
        `reply through m1 and the first through m2 (${(gap.to - killedAt).toFixed(2)} s after the kill)`,
    );
    assert.ok(gap.from <= killedAt + 0.5 && gap.to > killedAt, "the longest silence is the kill's");
    assert.ok(gap.to - gap.from < FAILOVER_BOUND_S, `replies resumed within ${FAILOVER_BOUND_S} s`);
    assert.equal(await activeGateway("m3", port), "m2", "SB binds the gateway to m2 now");
    assert.equal(await sourceSeenOutside(vms.a), gateway, "still behind the same address");
  });
});
