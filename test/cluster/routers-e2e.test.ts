/**
 * Routing through an OpenStack router in a two-member lab: two tenant
 * networks, each with an IPv4 DHCP subnet and an IPv6 SLAAC subnet, all
 * four behind one router made with the real `openstack` CLI; a VM on
 * each network, on different members. The VMs take their IPv4 address
 * and default route from OVN's DHCP and their IPv6 address and route from
 * the router's advertisements, and ping each other through the router
 * over Geneve, in both families. Removing one network's IPv4 interface
 * cuts IPv4 between them and leaves IPv6 alone.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { labWithApi } from "../helpers/api-member.js";
import { stopLab } from "../helpers/lab.js";
import type { OpenStackCli } from "../helpers/openstack-cli.js";
import { waitFor } from "../helpers/wait.js";

interface Port {
  id: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

let lab: Lab | undefined;

after(async () => {
  await stopLab(lab);
});

const NETWORKS = {
  a: { node: "m1", v4: "10.60.1.0/24", v6: "fd00:60:1::/64" },
  b: { node: "m2", v4: "10.60.2.0/24", v6: "fd00:60:2::/64" },
} as const;
type Side = keyof typeof NETWORKS;

function seconds(since: bigint): string {
  return (Number(process.hrtime.bigint() - since) / 1e9).toFixed(2);
}

describe("routing between two tenant networks through a router", () => {
  let os: OpenStackCli;
  const vms = {} as Record<Side, LabVm>;
  const v6 = {} as Record<Side, string>;
  const v4Subnets = {} as Record<Side, string>;

  /** One echo request from a VM; true when the reply came back. */
  const ping = async (from: LabVm, to: string): Promise<boolean> =>
    (await lab!.exec(from.name, "ping", ["-c", "1", "-W", "1", to])).exitCode === 0;

  before(async () => {
    ({ lab, os } = await labWithApi(2));
  });

  it("puts two networks (IPv4 DHCP and IPv6 SLAAC each) behind one router", async () => {
    await os.json(["router", "create", "e2e-router"]);
    for (const side of ["a", "b"] as const) {
      const n = NETWORKS[side];
      await os.json(["network", "create", `net-${side}`]);
      const s4 = await os.json<{ id: string }>([
        "subnet",
        "create",
        `v4-${side}`,
        "--network",
        `net-${side}`,
        "--subnet-range",
        n.v4,
      ]);
      v4Subnets[side] = s4.id;
      await os.json([
        "subnet",
        "create",
        `v6-${side}`,
        "--network",
        `net-${side}`,
        "--ip-version",
        "6",
        "--subnet-range",
        n.v6,
        "--ipv6-ra-mode",
        "slaac",
        "--ipv6-address-mode",
        "slaac",
      ]);
      for (const family of ["v4", "v6"]) {
        const r = await os.run(["router", "add", "subnet", "e2e-router", `${family}-${side}`]);
        assert.equal(r.exitCode, 0, r.stderr);
      }
    }
  });

  it("gives a VM on each network, on different members, its addresses from DHCP and RAs", async (t) => {
    const plugged = {} as Record<Side, bigint>;
    for (const side of ["a", "b"] as const) {
      const n = NETWORKS[side];
      const port = await os.json<Port>([
        "port",
        "create",
        "--network",
        `net-${side}`,
        "--host",
        n.node,
        `vm-${side}`,
      ]);
      const vm = await lab!.addPortVm(n.node, port.id, { dhcp: true });
      assert.equal(vm.dhcp?.router, n.v4.replace("0/24", "1"), "the router is the default gateway");
      vms[side] = vm;
      plugged[side] = process.hrtime.bigint();
      v6[side] = port.fixed_ips.find((ip) => ip.ip_address.includes(":"))!.ip_address;
    }
    for (const side of ["a", "b"] as const) {
      // SLAAC from the router's advertisements: the EUI-64 address the port holds.
      await waitFor(
        `${vms[side].name} to configure ${v6[side]} from router advertisements`,
        async () => {
          const r = await lab!.exec(vms[side].name, "ip", [
            "-6",
            "-o",
            "addr",
            "show",
            "dev",
            "eth0",
            "scope",
            "global",
          ]);
          return r.stdout.includes(`${v6[side]}/64`) && !r.stdout.includes("tentative");
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      t.diagnostic(`${side}: plugged → SLAAC address configured: ${seconds(plugged[side])} s`);
      const route = await lab!.exec(vms[side].name, "ip", ["-6", "route", "show", "default"]);
      assert.match(route.stdout, /default via fe80::/, "the default route comes from the RA");
    }
  });

  it("routes IPv4 and IPv6 between the VMs across members", async (t) => {
    let since = process.hrtime.bigint();
    await waitFor("a to ping b over IPv4 through the router", () => ping(vms.a, vms.b.ip), {
      timeoutMs: 30_000,
    });
    t.diagnostic(`first IPv4 echo reply a → b: ${seconds(since)} s`);
    await waitFor("b to ping a over IPv4", () => ping(vms.b, vms.a.ip), { timeoutMs: 30_000 });
    since = process.hrtime.bigint();
    await waitFor("a to ping b over IPv6 through the router", () => ping(vms.a, v6.b), {
      timeoutMs: 30_000,
    });
    t.diagnostic(`first IPv6 echo reply a → b: ${seconds(since)} s`);
    await waitFor("b to ping a over IPv6", () => ping(vms.b, v6.a), { timeoutMs: 30_000 });
  });

  it("stops routing IPv4 to a network whose IPv4 interface is removed; IPv6 goes on", async (t) => {
    const since = process.hrtime.bigint();
    const r = await os.run(["router", "remove", "subnet", "e2e-router", "v4-b"]);
    assert.equal(r.exitCode, 0, r.stderr);
    await waitFor("IPv4 from a to b to fail", async () => !(await ping(vms.a, vms.b.ip)), {
      timeoutMs: 30_000,
    });
    t.diagnostic(`remove subnet started → first lost IPv4 echo: ${seconds(since)} s`);
    for (let i = 0; i < 3; i++) {
      assert.equal(await ping(vms.a, vms.b.ip), false, "IPv4 still crossed without the interface");
    }
    assert.equal(await ping(vms.a, v6.b), true, "IPv6 stopped with the IPv4 interface");
  });
});
