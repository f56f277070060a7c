/**
 * Floating IPs through Debian's `openstack` CLI against the API service on
 * one member, and the NB rows they become, read back with `ovn-nbctl`: the
 * floating IP's port on the external network (no addresses on the wire),
 * the `dnat_and_snat` NAT row on the router while it is associated,
 * centralised until the VM's chassis bridges the external network, then
 * distributed (logical_port and external_mac), moved back and forth by the
 * service as the cluster setting and the chassis' bridge mappings change.
 * Each refused request shows Neutron's message and leaves NB as it was.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memberWithApi, networkWithSubnet, nbReader } from "../helpers/api-member.js";
import type { OpenStackCli } from "../helpers/openstack-cli.js";
import type { TestMember } from "../helpers/member.js";
import { waitFor } from "../helpers/wait.js";

interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address: string | null;
  port_id: string | null;
  router_id: string | null;
  status: string;
  project_id: string;
  description: string;
  tags: string[];
  revision_number: number;
}

interface Port {
  id: string;
  mac_address: string;
  device_owner: string;
  device_id: string;
  network_id: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

describe("floating IPs through the openstack CLI", () => {
  let m: TestMember;
  let os: OpenStackCli;
  let ext: { id: string };
  let router: { id: string };
  let vm: Port;
  let stray: Port;
  let in1Sub: { id: string };
  let chassis: string;
  const { nbctl, column, tables } = nbReader(() => m);
  /** Every row a floating IP touches: what a refused request must leave alone. */
  const snapshot = () =>
    tables([
      "Logical_Router",
      "Logical_Router_Port",
      "NAT",
      "Load_Balancer",
      "Logical_Switch_Port",
    ]);
  /** The floating IP's NAT rows (by neutron:fip_id), each as its columns. */
  const natOf = async (fipId: string) => {
    const uuids = (
      await nbctl([
        "--bare",
        "--columns=_uuid",
        "find",
        "NAT",
        `external_ids:"neutron:fip_id"="${fipId}"`,
      ])
    )
      .split(/\s+/)
      .filter((x) => x !== "");
    return Promise.all(
      uuids.map(async (uuid) => ({
        uuid,
        type: await column("NAT", uuid, "type"),
        logical_ip: await column("NAT", uuid, "logical_ip"),
        external_ip: await column("NAT", uuid, "external_ip"),
        logical_port: await column("NAT", uuid, "logical_port"),
        external_mac: await column("NAT", uuid, "external_mac"),
        external_ids: await column("NAT", uuid, "external_ids"),
      })),
    );
  };
  const routerNats = async () =>
    (await column("Logical_Router", `neutron-${router.id}`, "nat")).split(/\s+/).filter(Boolean);
  /** The floating IPs' ports (ids), as an admin lists them. */
  const fipPorts = async () =>
    (await os.json<{ ID: string }[]>(["port", "list", "--device-owner", "network:floatingip"])).map(
      (p) => p.ID,
    );
  const show = (id: string) => os.json<FloatingIp>(["floating", "ip", "show", id]);
  const listIds = async (args: readonly string[]) =>
    (await os.json<{ ID: string }[]>(["floating", "ip", "list", ...args])).map((f) => f.ID).sort();

  before(async () => {
    ({ m, os } = await memberWithApi("fip"));
    // A failure from here on leaves the member to after().
    ({ network: ext } = await networkWithSubnet(
      os,
      "ext",
      "203.0.113.0/24",
      ["--external", "--provider-network-type", "flat", "--provider-physical-network", "physnet1"],
      ["--no-dhcp"],
    ));
    ({ subnet: in1Sub } = await networkWithSubnet(os, "in1", "10.50.1.0/24"));
    await networkWithSubnet(os, "in2", "10.50.2.0/24");
    router = await os.json(["router", "create", "r1", "--external-gateway", "ext"]);
    const add = await os.run(["router", "add", "subnet", "r1", "in1-sub"]);
    assert.equal(add.exitCode, 0, add.stderr);
    chassis = (await m.ok(["ovn-sbctl", "--bare", "--columns=name", "list", "Chassis"])).trim();
    vm = await os.json(["port", "create", "vm1", "--network", "in1", "--host", chassis]);
    // On a subnet no router with a gateway reaches.
    stray = await os.json(["port", "create", "stray", "--network", "in2"]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("creates floating IPs without a port: DOWN, each with its port on the external network", async () => {
    const fip = await os.json<FloatingIp>(["floating", "ip", "create", "ext"]);
    assert.equal(fip.status, "DOWN");
    assert.equal(fip.floating_network_id, ext.id);
    assert.match(fip.floating_ip_address, /^203\.0\.113\.\d+$/);
    assert.equal(fip.port_id, null);
    assert.equal(fip.router_id, null);
    assert.equal(fip.fixed_ip_address, null);
    const ports = await fipPorts();
    assert.equal(ports.length, 1);
    const mine = await os.json<Port>(["port", "show", ports[0]!]);
    assert.equal(mine.device_id, fip.id);
    assert.equal(mine.network_id, ext.id);
    assert.equal(mine.fixed_ips[0]!.ip_address, fip.floating_ip_address);
    // The port only holds the address: nothing of it on the wire.
    assert.equal(await column("Logical_Switch_Port", mine.id, "addresses"), "");
    assert.deepEqual(await natOf(fip.id), []);

    const chosen = await os.json<FloatingIp>([
      "floating",
      "ip",
      "create",
      "--floating-ip-address",
      "203.0.113.77",
      "--description",
      "chosen",
      "--tag",
      "t1",
      "ext",
    ]);
    assert.equal(chosen.floating_ip_address, "203.0.113.77");
    assert.equal(chosen.description, "chosen");
    assert.deepEqual(chosen.tags, ["t1"]);
    assert.deepEqual(await listIds(["--network", "ext"]), [fip.id, chosen.id].sort());
    assert.deepEqual(await listIds(["--status", "DOWN"]), [fip.id, chosen.id].sort());
    assert.deepEqual(await listIds(["--floating-ip-address", "203.0.113.77"]), [chosen.id]);
    const fromSubnet = await os.json<FloatingIp>([
      "floating",
      "ip",
      "create",
      "--subnet",
      "ext-sub",
      "ext",
    ]);
    assert.match(fromSubnet.floating_ip_address, /^203\.0\.113\.\d+$/);
    assert.equal((await os.run(["floating", "ip", "delete", fromSubnet.id])).exitCode, 0);
    // The CLI finds a floating IP by its address as well as by its id.
    assert.equal((await show("203.0.113.77")).id, chosen.id);
    const byAddress = await os.run([
      "floating",
      "ip",
      "set",
      "--description",
      "again",
      "203.0.113.77",
    ]);
    assert.equal(byAddress.exitCode, 0, byAddress.stderr);
    assert.equal((await show(chosen.id)).description, "again");

    // The floating IP's port goes only with it.
    assert.match(
      await os.failure(["port", "delete", mine.id]),
      /cannot be deleted directly via the port API.*floating ip delete/,
    );
    for (const id of [fip.id, chosen.id]) {
      const del = await os.run(["floating", "ip", "delete", id]);
      assert.equal(del.exitCode, 0, del.stderr);
    }
    assert.deepEqual(await listIds([]), []);
    assert.deepEqual(await fipPorts(), []);
  });

  it("associates and disassociates: the NAT row on the router, centralised while the chassis bridges nothing", async () => {
    const fip = await os.json<FloatingIp>(["floating", "ip", "create", "ext"]);
    const set = await os.run(["floating", "ip", "set", "--port", vm.id, fip.id]);
    assert.equal(set.exitCode, 0, set.stderr);
    const shown = await show(fip.id);
    assert.equal(shown.status, "ACTIVE");
    assert.equal(shown.port_id, vm.id);
    assert.equal(shown.router_id, router.id);
    assert.equal(shown.fixed_ip_address, vm.fixed_ips[0]!.ip_address);
    assert.ok(shown.revision_number > fip.revision_number);

    const [nat, ...more] = await natOf(fip.id);
    assert.equal(more.length, 0);
    assert.equal(nat!.type, "dnat_and_snat");
    assert.equal(nat!.logical_ip, vm.fixed_ips[0]!.ip_address);
    assert.equal(nat!.external_ip, fip.floating_ip_address);
    assert.equal(nat!.logical_port, "", "centralised: no logical_port");
    assert.equal(nat!.external_mac, "", "centralised: no external_mac");
    assert.ok((await routerNats()).includes(nat!.uuid), "the row is on the router");
    const fipMac = (await os.json<Port>(["port", "show", (await fipPorts())[0]!])).mac_address;
    for (const key of [
      `neutron:fip_port_id=.?${vm.id}`,
      `neutron:router_name=.?neutron-${router.id}`,
      `neutron:fip_network_id=.?${ext.id}`,
      `neutron:fip_external_mac=.?.?${fipMac}`,
      `neutron:revision_number=.?${shown.revision_number}`,
    ]) {
      assert.match(nat!.external_ids, new RegExp(key));
    }
    assert.match(
      await column("Logical_Switch_Port", vm.id, "external_ids"),
      new RegExp(`neutron:port_fip=.?.?${fip.floating_ip_address.replace(/\./g, "\\.")}`),
    );

    assert.deepEqual(await listIds(["--port", vm.id]), [fip.id]);
    assert.deepEqual(await listIds(["--router", "r1"]), [fip.id]);
    assert.deepEqual(await listIds(["--status", "ACTIVE"]), [fip.id]);
    // What `floating ip list --project` sends (the CLI resolves the name through Identity first).
    const byProject = await os.call(
      "GET",
      `/v2.0/floatingips?project_id=${shown.project_id}&fields=id`,
    );
    assert.deepEqual(byProject.body, { floatingips: [{ id: fip.id }] });
    const otherProject = await os.call("GET", "/v2.0/floatingips?project_id=nobody");
    assert.deepEqual(otherProject.body, { floatingips: [] });
    assert.deepEqual(await listIds(["--fixed-ip-address", shown.fixed_ip_address]), [fip.id]);

    const unset = await os.run(["floating", "ip", "unset", "--port", fip.id]);
    assert.equal(unset.exitCode, 0, unset.stderr);
    const down = await show(fip.id);
    assert.equal(down.status, "DOWN");
    assert.equal(down.port_id, null);
    assert.equal(down.router_id, null);
    assert.equal(down.fixed_ip_address, null);
    assert.deepEqual(await natOf(fip.id), []);
    assert.ok(!(await routerNats()).includes(nat!.uuid));
    assert.doesNotMatch(
      await column("Logical_Switch_Port", vm.id, "external_ids"),
      /neutron:port_fip/,
    );
    assert.deepEqual(await listIds(["--status", "ACTIVE"]), []);
    assert.equal((await os.run(["floating", "ip", "delete", fip.id])).exitCode, 0);
  });

  it("makes the row distributed where the VM's chassis bridges the network, and follows the setting and the mappings", async (t) => {
    const fip = await os.json<FloatingIp>([
      "floating",
      "ip",
      "create",
      "--port",
      vm.id,
      "--fixed-ip-address",
      vm.fixed_ips[0]!.ip_address,
      "ext",
    ]);
    assert.equal(fip.status, "ACTIVE");
    assert.equal(fip.port_id, vm.id);
    const fipMac = (await os.json<Port>(["port", "show", (await fipPorts())[0]!])).mac_address;
    const mode = async () => {
      const [nat] = await natOf(fip.id);
      const bare = (text: string | undefined) => (text ?? "none").replace(/"/g, "");
      return `${bare(nat?.logical_port)}|${bare(nat?.external_mac)}`;
    };
    const distributed = `${vm.id}|${fipMac}`;
    assert.equal(await mode(), "|", "centralised while the chassis bridges nothing");

    /** Runs `microovn ARGS…` and waits for the row to be in `want`, reporting how long it took. */
    const moves = async (args: string[], want: string, what: string) => {
      const start = performance.now();
      await m.ok(args);
      await waitFor(what, async () => (await mode()) === want, { timeoutMs: 30_000 });
      t.diagnostic(`${what}: ${Math.round(performance.now() - start)} ms after ${args.join(" ")}`);
    };
    // The chassis now bridges physnet1: the service moves the row to it.
    await moves(
      ["chassis", "set", "bridge-mappings", "physnet1:br-ex"],
      distributed,
      "distributed",
    );
    const setting = "openstack-api.distributed-floating-ips";
    await moves(["config", "set", setting, "false"], "|", "centralised by the setting");
    await moves(["config", "set", setting, "true"], distributed, "distributed again");
    // Another physical network on the chassis: the VM's chassis no longer reaches ext.
    await moves(["chassis", "set", "bridge-mappings", "physnet2:br-x"], "|", "centralised again");
    await moves(
      ["chassis", "set", "bridge-mappings", "physnet1:br-ex"],
      distributed,
      "distributed once more",
    );
    // A new association is written distributed at once.
    assert.equal((await os.run(["floating", "ip", "unset", "--port", fip.id])).exitCode, 0);
    assert.equal((await os.run(["floating", "ip", "set", "--port", vm.id, fip.id])).exitCode, 0);
    assert.equal(await mode(), distributed);
    assert.equal((await os.run(["floating", "ip", "delete", fip.id])).exitCode, 0);
    assert.deepEqual(await natOf(fip.id), []);
  });

  it("refuses what Neutron refuses, with its message, changing nothing", async () => {
    const fip = await os.json<FloatingIp>([
      "floating",
      "ip",
      "create",
      "--floating-ip-address",
      "203.0.113.88",
      "--port",
      vm.id,
      "ext",
    ]);
    const other = await os.json<FloatingIp>(["floating", "ip", "create", "ext"]);
    const before = await snapshot();
    assert.match(
      await os.failure(["floating", "ip", "create", "in1"]),
      /Bad floatingip request: Network [0-9a-f-]{36} is not a valid external network/,
    );
    assert.match(
      await os.failure([
        "floating",
        "ip",
        "create",
        "--floating-ip-address",
        "203.0.113.88",
        "ext",
      ]),
      /IP address 203\.0\.113\.88 already allocated/,
    );
    assert.match(
      await os.failure(["floating", "ip", "create", "--subnet", "in1-sub", "ext"]),
      /Bad floatingip request: Subnet [0-9a-f-]{36} is not a subnet of network [0-9a-f-]{36}/,
    );
    assert.match(
      await os.failure(["floating", "ip", "create", "--floating-ip-address", "10.50.1.9", "ext"]),
      /Bad floatingip request: 10\.50\.1\.9 is in no IPv4 subnet of network/,
    );
    assert.match(
      await os.failure(["floating", "ip", "set", "--port", stray.id, other.id]),
      new RegExp(
        `External network ${ext.id} is not reachable from subnet [0-9a-f-]{36}\\.  Therefore, cannot associate Port ${stray.id} with a Floating IP`,
      ),
    );
    assert.match(
      await os.failure(["floating", "ip", "set", "--port", vm.id, other.id]),
      /Cannot associate floating IP 203\.0\.113\.\d+ \([0-9a-f-]{36}\) with port [0-9a-f-]{36} using fixed IP 10\.50\.1\.\d+, as that fixed IP already has a floating IP on external network/,
    );
    assert.match(
      await os.failure([
        "floating",
        "ip",
        "set",
        "--port",
        vm.id,
        "--fixed-ip-address",
        "10.50.9.9",
        other.id,
      ]),
      /Bad floatingip request: Port [0-9a-f-]{36} does not have fixed ip 10\.50\.9\.9/,
    );
    assert.match(
      await os.failure(["router", "unset", "--external-gateway", "r1"]),
      /Gateway cannot be updated for router [0-9a-f-]{36}, since a gateway to external network [0-9a-f-]{36} is required by one or more floating IPs/,
    );
    assert.match(
      await os.failure(["router", "remove", "subnet", "r1", in1Sub.id]),
      /Router interface for subnet [0-9a-f-]{36} on router [0-9a-f-]{36} cannot be deleted, as it is required by one or more floating IPs/,
    );
    assert.match(await os.failure(["router", "delete", "r1"]), /still has ports/);
    const missing = await os.call(
      "POST",
      "/v2.0/floatingips",
      JSON.stringify({ floatingip: { floating_network_id: "no-such-net" } }),
    );
    assert.equal(missing.status, 404);
    assert.match(JSON.stringify(missing.body), /Network no-such-net could not be found/);
    assert.equal(await snapshot(), before, "a refused request changed NB");
    assert.equal((await show(fip.id)).status, "ACTIVE");
    for (const id of [fip.id, other.id]) {
      assert.equal((await os.run(["floating", "ip", "delete", id])).exitCode, 0);
    }
  });

  it("enforces the floatingip quota", async () => {
    const first = await os.json<FloatingIp>(["floating", "ip", "create", "ext"]);
    const project = first.project_id;
    const quota = (limit: number) =>
      os.call("PUT", `/v2.0/quotas/${project}`, JSON.stringify({ quota: { floatingip: limit } }));
    assert.equal((await quota(2)).status, 200);
    try {
      const second = await os.json<FloatingIp>(["floating", "ip", "create", "ext"]);
      const before = await snapshot();
      assert.match(
        await os.failure(["floating", "ip", "create", "ext"]),
        /Quota exceeded for resources: \['floatingip'\]/,
      );
      assert.equal(await snapshot(), before);
      assert.equal((await os.run(["floating", "ip", "delete", second.id])).exitCode, 0);
    } finally {
      await quota(50);
    }
    assert.equal((await os.run(["floating", "ip", "delete", first.id])).exitCode, 0);
  });

  it("forwards a floating IP's ports to VMs: Load_Balancers on the router", async () => {
    interface Forwarding {
      id: string;
      internal_port_id: string;
      internal_ip_address: string;
      internal_port: number;
      external_port: number;
      protocol: string;
      description: string;
    }
    const fip = await os.json<FloatingIp>(["floating", "ip", "create", "ext"]);
    const web = await os.json<Port>(["port", "create", "pf-web", "--network", "in1"]);
    const inside = web.fixed_ips[0]!.ip_address;
    /** `floating ip port forwarding create` to the web port, with these ports and protocol. */
    const creating = (args: string[]) => [
      ...["floating", "ip", "port", "forwarding", "create"],
      ...["--internal-ip-address", inside, "--port", web.id, ...args, fip.id],
    ];
    const forward = (args: string[]) => os.json<Forwarding>(creating(args));
    const http = await forward([
      "--internal-protocol-port",
      "80",
      "--external-protocol-port",
      "8080",
      "--protocol",
      "tcp",
      "--description",
      "web",
    ]);
    assert.equal(http.internal_port, 80);
    assert.equal(http.external_port, 8080);
    assert.equal(http.protocol, "tcp");
    assert.equal(http.internal_port_id, web.id);
    assert.equal(http.description, "web");
    const dns = await forward([
      "--internal-protocol-port",
      "53",
      "--external-protocol-port",
      "5353",
      "--protocol",
      "udp",
    ]);
    const lb = (protocol: string) => `pf-floatingip-${fip.id}-${protocol}`;
    const vips = async (protocol: string) =>
      (await column("Load_Balancer", lb(protocol), "vips")).replace(/"/g, "");
    const address = fip.floating_ip_address;
    assert.equal(await vips("tcp"), `${address}:8080=${inside}:80`);
    assert.equal(await vips("udp"), `${address}:5353=${inside}:53`);
    const ids = await column("Load_Balancer", lb("tcp"), "external_ids");
    assert.match(ids, /neutron:device_owner=.?port_forwarding_plugin/);
    assert.match(ids, new RegExp(`neutron:fip_id=.?${fip.id}`));
    assert.match(ids, new RegExp(`neutron:router_name=.?neutron-${router.id}`));
    const onRouter = await column("Logical_Router", `neutron-${router.id}`, "load_balancer");
    for (const p of ["tcp", "udp"]) {
      assert.ok(onRouter.includes(await column("Load_Balancer", lb(p), "_uuid")), p);
    }
    const shown = await show(fip.id);
    assert.equal(shown.status, "ACTIVE");
    assert.equal(shown.router_id, router.id);
    assert.equal(shown.port_id, null);

    const list = (args: string[] = []) =>
      os.json<{ ID: string }[]>(["floating", "ip", "port", "forwarding", "list", ...args, fip.id]);
    assert.deepEqual((await list()).map((f) => f.ID).sort(), [http.id, dns.id].sort());
    assert.deepEqual(
      (await list(["--protocol", "udp"])).map((f) => f.ID),
      [dns.id],
    );
    assert.deepEqual(
      (await list(["--external-protocol-port", "8080"])).map((f) => f.ID),
      [http.id],
    );
    const again = await os.json<Forwarding>([
      "floating",
      "ip",
      "port",
      "forwarding",
      "show",
      fip.id,
      http.id,
    ]);
    assert.deepEqual(again, http);
    const set = await os.run([
      "floating",
      "ip",
      "port",
      "forwarding",
      "set",
      "--external-protocol-port",
      "8081",
      fip.id,
      http.id,
    ]);
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(await vips("tcp"), `${address}:8081=${inside}:80`);

    // What Neutron refuses, NB unchanged.
    const before = await snapshot();
    assert.match(
      await os.failure(
        creating([
          ...["--internal-protocol-port", "81", "--external-protocol-port", "8081"],
          ...["--protocol", "tcp"],
        ]),
      ),
      /A duplicate port forwarding entry with same attributes already exists/,
    );
    assert.match(
      await os.failure(["floating", "ip", "set", "--port", vm.id, fip.id]),
      /has port forwardings: a floating IP has port forwardings or a port, not both/,
    );
    assert.match(
      await os.failure(["router", "unset", "--external-gateway", "r1"]),
      /is required by one or more floating IPs/,
    );
    assert.match(
      await os.failure(["router", "remove", "subnet", "r1", in1Sub.id]),
      /cannot be deleted, as it is required by one or more floating IPs/,
    );
    assert.equal(await snapshot(), before, "a refused request changed NB");

    const gone = await os.run(["floating", "ip", "port", "forwarding", "delete", fip.id, dns.id]);
    assert.equal(gone.exitCode, 0, gone.stderr);
    assert.equal(
      await nbctl(["--bare", "--columns=name", "find", "Load_Balancer", `name=${lb("udp")}`]),
      "",
    );
    // Deleting the VM's port takes its forwardings, and the floating IP is free again.
    assert.equal((await os.run(["port", "delete", web.id])).exitCode, 0);
    assert.deepEqual(await list(), []);
    assert.equal((await nbctl(["--bare", "--columns=name", "list", "Load_Balancer"])).trim(), "");
    assert.equal((await show(fip.id)).status, "DOWN");
    assert.equal((await os.run(["floating", "ip", "delete", fip.id])).exitCode, 0);
  });

  it("disassociates a floating IP when its VM's port is deleted", async () => {
    const doomed = await os.json<Port>(["port", "create", "doomed", "--network", "in1"]);
    const fip = await os.json<FloatingIp>(["floating", "ip", "create", "--port", doomed.id, "ext"]);
    assert.equal(fip.status, "ACTIVE");
    assert.equal((await natOf(fip.id)).length, 1);
    assert.equal((await os.run(["port", "delete", doomed.id])).exitCode, 0);
    const left = await show(fip.id);
    assert.equal(left.status, "DOWN");
    assert.equal(left.port_id, null);
    assert.deepEqual(await natOf(fip.id), []);
    // With nothing left on it, the gateway may go.
    assert.equal((await os.run(["floating", "ip", "delete", fip.id])).exitCode, 0);
    const unset = await os.run(["router", "unset", "--external-gateway", "r1"]);
    assert.equal(unset.exitCode, 0, unset.stderr);
  });
});
