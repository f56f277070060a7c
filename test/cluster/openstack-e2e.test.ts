/**
 * The OpenStack API end to end in a two-member lab: the API service on m1
 * (the administrator logging in with its password),
 * a network, a DHCP subnet, a security group and two ports made with the
 * real `openstack` CLI; a VM on each member plugged into its port gets the
 * port's address from OVN's DHCP, the ports turn ACTIVE bound to the right
 * chassis, and the group decides what crosses the Geneve tunnel between
 * them: ICMP is dropped while the group has only its egress rules, passes
 * once an ICMP ingress rule is added, and is dropped again when the rule
 * goes.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { OpenStackCli } from "../helpers/openstack-cli.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";

interface Port {
  id: string;
  status: string;
  binding_host_id: string;
  mac_address: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
  security_group_ids: string[];
}

let lab: Lab | undefined;

function seconds(since: bigint): string {
  return (Number(process.hrtime.bigint() - since) / 1e9).toFixed(2);
}

after(async () => {
  await stopLab(lab);
});

describe("OpenStack API end to end", () => {
  let os: OpenStackCli;
  const ports: Record<"m1" | "m2", Port> = {} as Record<"m1" | "m2", Port>;
  const vms: Record<"m1" | "m2", LabVm> = {} as Record<"m1" | "m2", LabVm>;

  /** One echo request from a VM; true when the reply came back. */
  const ping = async (from: LabVm, to: LabVm): Promise<boolean> =>
    (await lab!.exec(from.name, "ping", ["-c", "1", "-W", "1", to.ip])).exitCode === 0;

  before(async () => {
    lab = await startLab(2);
    const m1 = lab.node("m1");
    await lab.ok("m1", ["enable", "openstack-api"]);
    // The administrator the first enable made, logging in with its password (local tokens).
    const password = await readFile(join(m1.stateDir, "data/openstack-api-admin-password"), "utf8");
    os = OpenStackCli.withPassword(
      m1.namespace,
      m1.address,
      join(m1.stateDir, "data/pki/cacert.pem"),
      {
        user: "admin",
        project: "admin",
        password: password.trim(),
      },
    );
  });

  it("makes a network, a DHCP subnet, a group and two ports with the openstack CLI", async () => {
    await os.json(["network", "create", "e2e-net"]);
    const subnet = await os.json<{ id: string; enable_dhcp: boolean; gateway_ip: string }>([
      "subnet",
      "create",
      "--network",
      "e2e-net",
      "--subnet-range",
      "10.20.0.0/24",
      "e2e-subnet",
    ]);
    assert.equal(subnet.enable_dhcp, true);
    assert.equal(subnet.gateway_ip, "10.20.0.1");
    const group = await os.json<{ id: string; rules: { direction: string }[] }>([
      "security",
      "group",
      "create",
      "e2e-web",
    ]);
    assert.deepEqual(
      group.rules.map((r) => r.direction),
      ["egress", "egress"],
    );
    for (const node of ["m1", "m2"] as const) {
      const port = await os.json<Port>([
        "port",
        "create",
        "--network",
        "e2e-net",
        "--security-group",
        "e2e-web",
        "--host",
        node,
        `e2e-${node}`,
      ]);
      assert.equal(port.status, "DOWN");
      assert.deepEqual(port.security_group_ids, [group.id]);
      assert.equal(port.fixed_ips[0]!.subnet_id, subnet.id);
      ports[node] = port;
    }
  });

  it("puts a VM on each port on its member; DHCP gives each its port's address", async () => {
    for (const node of ["m1", "m2"] as const) {
      const vm = await lab!.addPortVm(node, ports[node].id, { dhcp: true });
      assert.equal(vm.mac, ports[node].mac_address);
      assert.equal(vm.ip, ports[node].fixed_ips[0]!.ip_address, "the address the API allocated");
      assert.equal(vm.dhcp?.router, "10.20.0.1");
      vms[node] = vm;
    }
  });

  it("shows each port ACTIVE and bound to its member's chassis", async () => {
    for (const node of ["m1", "m2"] as const) {
      const port = await waitFor(
        `port ${ports[node].id} ACTIVE`,
        async () => {
          const p = await os.json<Port>(["port", "show", ports[node].id]);
          return p.status === "ACTIVE" ? p : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      assert.equal(port.binding_host_id, node);
    }
  });

  it("drops ICMP without an ingress rule, passes it once one is added, drops it again when it goes", async (t) => {
    const [a, b] = [vms.m1, vms.m2];
    // Both ways, more than once: nothing but the group stands in the way.
    for (let i = 0; i < 3; i++) {
      assert.equal(
        await ping(a, b),
        false,
        "m1's VM reached m2's through a group without ingress rules",
      );
      assert.equal(
        await ping(b, a),
        false,
        "m2's VM reached m1's through a group without ingress rules",
      );
    }
    let since = process.hrtime.bigint();
    const rule = await os.json<{ id: string }>([
      "security",
      "group",
      "rule",
      "create",
      "--protocol",
      "icmp",
      "--icmp-type",
      "8",
      "e2e-web",
    ]);
    t.diagnostic(`openstack security group rule create: ${seconds(since)} s`);
    await waitFor("m1's VM to ping m2's over Geneve", () => ping(a, b), { timeoutMs: 30_000 });
    t.diagnostic(`rule create started → first echo reply: ${seconds(since)} s`);
    await waitFor("m2's VM to ping m1's over Geneve", () => ping(b, a), { timeoutMs: 30_000 });
    since = process.hrtime.bigint();
    const r = await os.run(["security", "group", "rule", "delete", rule.id]);
    assert.equal(r.exitCode, 0, r.stderr);
    t.diagnostic(`openstack security group rule delete: ${seconds(since)} s`);
    await waitFor("ICMP to be dropped again", async () => !(await ping(a, b)), {
      timeoutMs: 30_000,
    });
    t.diagnostic(`rule delete started → first lost echo: ${seconds(since)} s`);
  });
});
