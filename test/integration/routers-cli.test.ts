/**
 * Routers through Debian's `openstack` CLI against the API service on one
 * member, and the NB rows they become, read back with `ovn-nbctl` and
 * compared with what Neutron's ML2/OVN driver writes: a Logical_Router
 * `neutron-<id>`, an interface port of type `router` peering a
 * Logical_Router_Port `lrp-<port id>`, extra routes as static routes,
 * router advertisements on a SLAAC subnet's interface. Every error a user
 * meets shows Neutron's message and leaves NB as it was.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memberWithApi, nbReader } from "../helpers/api-member.js";
import type { TestMember } from "../helpers/member.js";
import type { OpenStackCli } from "../helpers/openstack-cli.js";

interface Router {
  id: string;
  name: string;
  description: string;
  admin_state_up: boolean;
  status: string;
  external_gateway_info: unknown;
  routes: { destination: string; nexthop: string }[];
  tags: string[];
  revision_number: number;
  interfaces_info?: { port_id: string; ip_address: string; subnet_id: string }[];
}

interface Port {
  id: string;
  network_id: string;
  mac_address: string;
  device_owner: string;
  device_id: string;
  fixed_ips: { subnet_id: string; ip_address: string }[];
}

describe("routers through the openstack CLI", () => {
  let m: TestMember;
  let os: OpenStackCli;
  const { nbctl, column, tables } = nbReader(() => m);
  /** Every router row NB holds: what a refused request must leave alone. */
  const snapshot = () =>
    tables([
      "Logical_Router",
      "Logical_Router_Port",
      "Logical_Router_Static_Route",
      "Logical_Switch_Port",
    ]);
  const subnet = (name: string, network: string, range: string, ...extra: string[]) =>
    os.json<{ id: string; gateway_ip: string }>([
      "subnet",
      "create",
      name,
      "--network",
      network,
      "--subnet-range",
      range,
      ...extra,
    ]);

  before(async () => {
    ({ m, os } = await memberWithApi("rtrs"));
  });

  after(async () => {
    await m?.cleanup();
  });

  it("creates, shows, lists, sets, unsets and deletes a router as a Logical_Router", async () => {
    const r = await os.json<Router>([
      "router",
      "create",
      "r-one",
      "--description",
      "the first",
      "--tag",
      "env=test",
    ]);
    assert.equal(r.status, "ACTIVE");
    assert.equal(r.admin_state_up, true);
    assert.equal(r.external_gateway_info, null);
    assert.deepEqual(r.routes, []);
    const lr = `neutron-${r.id}`;
    const ids = await column("Logical_Router", lr, "external_ids");
    for (const key of [
      "neutron:router_name=r-one",
      "neutron:gw_port_id= ",
      "neutron:availability_zone_hints= ",
    ]) {
      assert.ok(ids.includes(key), `${key} in ${ids}`);
    }
    const options = await column("Logical_Router", lr, "options");
    assert.match(options, /always_learn_from_arp_request="?false/);
    assert.match(options, /dynamic_neigh_routers="?true/);
    assert.equal(await column("Logical_Router", lr, "enabled"), "true");

    const listed = await os.json<{ ID: string; Name: string; Status: string }[]>([
      "router",
      "list",
    ]);
    assert.ok(listed.some((x) => x.ID === r.id && x.Name === "r-one" && x.Status === "ACTIVE"));
    await os.json(["router", "list", "--long"]);

    const set = await os.run([
      "router",
      "set",
      "r-one",
      "--name",
      "r-two",
      "--disable",
      "--tag",
      "blue",
    ]);
    assert.equal(set.exitCode, 0, set.stderr);
    const shown = await os.json<Router>(["router", "show", r.id]);
    assert.equal(shown.name, "r-two");
    assert.equal(shown.admin_state_up, false);
    assert.equal(shown.description, "the first");
    assert.deepEqual([...shown.tags].sort(), ["blue", "env=test"]);
    assert.ok(shown.revision_number > 1);
    assert.equal(await column("Logical_Router", lr, "enabled"), "false");
    assert.match(await column("Logical_Router", lr, "external_ids"), /neutron:router_name=r-two/);

    const unset = await os.run(["router", "unset", "r-two", "--tag", "blue"]);
    assert.equal(unset.exitCode, 0, unset.stderr);
    assert.deepEqual((await os.json<Router>(["router", "show", r.id])).tags, ["env=test"]);
    // Unsetting a gateway the router does not have is no error.
    const clear = await os.run(["router", "unset", "r-two", "--external-gateway"]);
    assert.equal(clear.exitCode, 0, clear.stderr);

    // Bad requests the CLI never sends: each a 400 naming what is wrong, NB as it was.
    const before = await snapshot();
    const bad: [string, string, unknown, RegExp][] = [
      ["POST", "/v2.0/routers", { router: { name: "x", routes: [] } }, /routes/],
      ["POST", "/v2.0/routers", { router: { name: 5 } }, /name/],
      ["PUT", `/v2.0/routers/${r.id}`, { router: { admin_state_up: "maybe" } }, /admin_state_up/],
      [
        "PUT",
        `/v2.0/routers/${r.id}`,
        { router: { routes: [{ destination: "10.9.0.0/16", nexthop: "10.0.0.1" }] } },
        /the nexthop is not connected with router/,
      ],
      [
        "PUT",
        `/v2.0/routers/${r.id}/add_extraroutes`,
        { router: { routes: [{ destination: "10.9.0.0/16" }] } },
        /nexthop/,
      ],
      ["PUT", `/v2.0/routers/${r.id}/add_router_interface`, { subnet_id: 5 }, /subnet_id/],
    ];
    for (const [method, path, body, message] of bad) {
      const answer = await os.call(method, path, JSON.stringify(body));
      assert.equal(
        answer.status,
        400,
        `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`,
      );
      assert.match(JSON.stringify(answer.body), message);
    }
    const missing = await os.call("PUT", "/v2.0/routers/no-such-router/add_router_interface", "{}");
    assert.equal(missing.status, 404);
    assert.match(JSON.stringify(missing.body), /Router no-such-router could not be found/);
    assert.equal(await snapshot(), before, "a bad request changed NB");

    const del = await os.run(["router", "delete", "r-two"]);
    assert.equal(del.exitCode, 0, del.stderr);
    assert.match(
      await os.failure(["router", "show", r.id]),
      /No Router found for|could not be found/,
    );
    assert.doesNotMatch(
      await nbctl(["--bare", "--columns=name", "list", "Logical_Router"]),
      new RegExp(r.id),
    );
  });

  it("adds and removes interfaces by subnet and by port, and refuses what Neutron refuses", async () => {
    await os.json(["network", "create", "rn1"]);
    await os.json(["network", "create", "rn2"]);
    const s1 = await subnet("rs1", "rn1", "10.30.1.0/24");
    const s2 = await subnet("rs2", "rn2", "10.30.2.0/24");
    const r = await os.json<Router>(["router", "create", "rtr"]);
    const other = await os.json<Router>(["router", "create", "rtr-other"]);

    const add = await os.run(["router", "add", "subnet", "rtr", "rs1"]);
    assert.equal(add.exitCode, 0, add.stderr);
    const [iface] = await os.json<{ ID: string }[]>(["port", "list", "--router", "rtr"]);
    assert.ok(iface, "the router's interface port is listed by device_id");
    const p1 = await os.json<Port>(["port", "show", iface.ID]);
    assert.equal(p1.device_owner, "network:router_interface");
    assert.equal(p1.device_id, r.id);
    assert.deepEqual(p1.fixed_ips, [{ subnet_id: s1.id, ip_address: "10.30.1.1" }]);
    // The switch side: a port of type router peering lrp-<id>; the router side: that port.
    assert.equal(await column("Logical_Switch_Port", p1.id, "type"), "router");
    assert.equal(await column("Logical_Switch_Port", p1.id, "addresses"), "router");
    assert.match(
      await column("Logical_Switch_Port", p1.id, "options"),
      new RegExp(`router-port=lrp-${p1.id}`),
    );
    const lrp1 = `lrp-${p1.id}`;
    assert.equal(await column("Logical_Router_Port", lrp1, "networks"), "10.30.1.1/24");
    assert.equal(await column("Logical_Router_Port", lrp1, "mac"), p1.mac_address);
    const lrpIds = await column("Logical_Router_Port", lrp1, "external_ids");
    for (const key of [
      `neutron:router_name=${r.id}`,
      `neutron:subnet_ids=${s1.id}`,
      `neutron:network_name=neutron-${p1.network_id}`,
      "neutron:revision_number=1",
    ]) {
      assert.ok(lrpIds.includes(key), `${key} in ${lrpIds}`);
    }
    assert.match(
      await nbctl(["show"]),
      new RegExp(`router \\S+ \\(neutron-${r.id}\\) \\(aka rtr\\)`),
    );

    // By port: a port of the caller's with an address on the second network.
    const p2 = await os.json<Port>([
      "port",
      "create",
      "--network",
      "rn2",
      "--fixed-ip",
      `subnet=${s2.id},ip-address=10.30.2.10`,
      "rp2",
    ]);
    const addPort = await os.run(["router", "add", "port", "rtr", "rp2"]);
    assert.equal(addPort.exitCode, 0, addPort.stderr);
    const p2after = await os.json<Port>(["port", "show", p2.id]);
    assert.equal(p2after.device_owner, "network:router_interface");
    assert.equal(p2after.device_id, r.id);
    assert.equal(await column("Logical_Router_Port", `lrp-${p2.id}`, "networks"), "10.30.2.10/24");
    assert.equal(await column("Logical_Switch_Port", p2.id, "type"), "router");
    const shown = await os.json<Router>(["router", "show", "rtr"]);
    assert.deepEqual((shown.interfaces_info ?? []).map((i) => i.ip_address).sort(), [
      "10.30.1.1",
      "10.30.2.10",
    ]);

    // What a user gets wrong: each refused with Neutron's message, NB untouched.
    const before = await snapshot();
    assert.match(
      await os.failure(["router", "add", "subnet", "rtr", "rs1"]),
      /Router already has a port on subnet/,
    );
    assert.match(
      await os.failure(["router", "add", "subnet", "rtr-other", "rs1"]),
      new RegExp(`Subnet ${s1.id} is already on router ${r.id}`),
    );
    const both = await os.call(
      "PUT",
      `/v2.0/routers/${r.id}/add_router_interface`,
      JSON.stringify({ subnet_id: s1.id, port_id: p2.id }),
    );
    assert.equal(both.status, 400);
    assert.match(JSON.stringify(both.body), /Cannot specify both subnet-id and port-id/);
    const neither = await os.call("PUT", `/v2.0/routers/${r.id}/add_router_interface`, "{}");
    assert.equal(neither.status, 400);
    assert.match(JSON.stringify(neither.body), /Either subnet_id or port_id must be specified/);
    assert.match(
      await os.failure(["router", "delete", "rtr"]),
      new RegExp(`Router ${r.id} still has ports`),
    );
    assert.match(
      await os.failure(["port", "delete", p1.id]),
      /cannot be deleted directly via the port API: has device owner network:router_interface/,
    );
    assert.match(
      await os.failure(["subnet", "set", "rs1", "--gateway", "10.30.1.254"]),
      new RegExp(`Current gateway ip 10.30.1.1 already in use by port ${p1.id}. Unable to update.`),
    );
    assert.match(
      await os.failure(["subnet", "delete", "rs1"]),
      /ports have an IP allocation from this subnet/,
    );
    const used = await os.json<Port>([
      "port",
      "create",
      "--network",
      "rn1",
      "--device-owner",
      "compute:nova",
      "--device",
      "vm-1",
      "rp3",
    ]);
    // A port that only claims to be a router's (no router port of that name) may be deleted.
    const stray = await os.json<Port>([
      "port",
      "create",
      "--network",
      "rn1",
      "--device-owner",
      "network:router_interface",
      "rp-stray",
    ]);
    const strayDelete = await os.run(["port", "delete", stray.id]);
    assert.equal(strayDelete.exitCode, 0, strayDelete.stderr);
    const afterPort = await snapshot();
    assert.match(
      await os.failure(["router", "add", "port", "rtr-other", used.id]),
      /Port already has an attached device vm-1/,
    );
    const noGateway = await subnet("rs3", "rn2", "10.30.3.0/24", "--gateway", "none");
    const afterSubnet = await snapshot();
    assert.match(
      await os.failure(["router", "add", "subnet", "rtr-other", noGateway.id]),
      /Subnet for router interface must have a gateway IP/,
    );
    assert.match(
      await os.failure(["router", "remove", "subnet", "rtr-other", "rs2"]),
      new RegExp(`Router ${other.id} has no interface on subnet ${s2.id}`),
    );
    assert.match(
      await os.failure(["router", "set", "rtr", "--external-gateway", "rn1"]),
      /Bad router request: Network [0-9a-f-]{36} is not an external network/,
    );
    assert.equal(await snapshot(), afterSubnet, "a refused request changed NB");
    assert.notEqual(before, afterPort);

    // Removing: by subnet the made port goes; by port the port goes too, as in Neutron.
    const remove = await os.run(["router", "remove", "subnet", "rtr", "rs1"]);
    assert.equal(remove.exitCode, 0, remove.stderr);
    await os.failure(["port", "show", p1.id]);
    const removePort = await os.run(["router", "remove", "port", "rtr", "rp2"]);
    assert.equal(removePort.exitCode, 0, removePort.stderr);
    await os.failure(["port", "show", p2.id]);
    assert.equal(
      (await nbctl(["--bare", "--columns=name", "list", "Logical_Router_Port"])).trim(),
      "",
    );
    assert.equal(await column("Logical_Router", `neutron-${r.id}`, "ports"), "");
    for (const name of ["rtr", "rtr-other"]) {
      const d = await os.run(["router", "delete", name]);
      assert.equal(d.exitCode, 0, d.stderr);
    }
    assert.equal((await nbctl(["--bare", "--columns=name", "list", "Logical_Router"])).trim(), "");
  });

  it("writes extra routes as static routes, through add/remove route and set/unset --route", async () => {
    await os.json(["network", "create", "xn"]);
    await subnet("xs", "xn", "10.31.1.0/24");
    await os.json(["router", "create", "xr"]);
    const add = await os.run(["router", "add", "subnet", "xr", "xs"]);
    assert.equal(add.exitCode, 0, add.stderr);
    const routes = async () =>
      (await os.json<Router>(["router", "show", "xr"])).routes
        .map((r) => `${r.destination} via ${r.nexthop}`)
        .sort();
    const nbRoutes = async () =>
      (
        await nbctl([
          "lr-route-list",
          `neutron-${(await os.json<Router>(["router", "show", "xr"])).id}`,
        ])
      )
        .split("\n")
        .map((l) => l.trim().split(/\s+/).slice(0, 2).join(" via "))
        .filter((l) => /^\d/.test(l))
        .sort();

    const r1 = await os.run([
      "router",
      "add",
      "route",
      "xr",
      "--route",
      "destination=10.40.0.0/16,gateway=10.31.1.50",
    ]);
    assert.equal(r1.exitCode, 0, r1.stderr);
    assert.deepEqual(await routes(), ["10.40.0.0/16 via 10.31.1.50"]);
    const r2 = await os.run([
      "router",
      "set",
      "xr",
      "--route",
      "destination=10.41.0.0/16,gateway=10.31.1.51",
    ]);
    assert.equal(r2.exitCode, 0, r2.stderr);
    assert.deepEqual(await routes(), [
      "10.40.0.0/16 via 10.31.1.50",
      "10.41.0.0/16 via 10.31.1.51",
    ]);
    assert.deepEqual(await nbRoutes(), [
      "10.40.0.0/16 via 10.31.1.50",
      "10.41.0.0/16 via 10.31.1.51",
    ]);
    assert.match(
      await nbctl([
        "--bare",
        "--columns=external_ids",
        "find",
        "Logical_Router_Static_Route",
        'ip_prefix="10.40.0.0/16"',
      ]),
      /neutron:is_static_route="?true/,
    );

    const before = await snapshot();
    assert.match(
      await os.failure([
        "router",
        "add",
        "route",
        "xr",
        "--route",
        "destination=10.42.0.0/16,gateway=10.99.0.1",
      ]),
      /the nexthop is not connected with router/,
    );
    assert.match(
      await os.failure([
        "router",
        "set",
        "xr",
        "--route",
        "destination=10.42.0.0/16,gateway=10.31.1.1",
      ]),
      /the nexthop is used by router/,
    );
    assert.match(
      await os.failure(["router", "remove", "subnet", "xr", "xs"]),
      /cannot be deleted, as it is required by one or more routes/,
    );
    assert.equal(await snapshot(), before, "a refused request changed NB");

    const r3 = await os.run([
      "router",
      "unset",
      "xr",
      "--route",
      "destination=10.40.0.0/16,gateway=10.31.1.50",
    ]);
    assert.equal(r3.exitCode, 0, r3.stderr);
    assert.deepEqual(await routes(), ["10.41.0.0/16 via 10.31.1.51"]);
    const r4 = await os.run([
      "router",
      "remove",
      "route",
      "xr",
      "--route",
      "destination=10.41.0.0/16,gateway=10.31.1.51",
    ]);
    assert.equal(r4.exitCode, 0, r4.stderr);
    assert.deepEqual(await routes(), []);
    await os.run(["router", "set", "xr", "--route", "destination=10.43.0.0/16,gateway=10.31.1.52"]);
    const r5 = await os.run(["router", "set", "xr", "--no-route"]);
    assert.equal(r5.exitCode, 0, r5.stderr);
    assert.deepEqual(await routes(), []);
    assert.equal(
      (await nbctl(["--bare", "--columns=_uuid", "list", "Logical_Router_Static_Route"])).trim(),
      "",
    );
  });

  it("gives an interface on a SLAAC subnet router advertisements, as ML2/OVN does", async () => {
    await os.json(["network", "create", "v6n"]);
    const s = await subnet(
      "v6s",
      "v6n",
      "fd00:30::/64",
      "--ip-version",
      "6",
      "--ipv6-ra-mode",
      "slaac",
      "--ipv6-address-mode",
      "slaac",
    );
    await os.json(["router", "create", "v6r"]);
    const add = await os.run(["router", "add", "subnet", "v6r", "v6s"]);
    assert.equal(add.exitCode, 0, add.stderr);
    const [iface] = await os.json<{ ID: string }[]>(["port", "list", "--router", "v6r"]);
    const port = await os.json<Port>(["port", "show", iface!.ID]);
    assert.deepEqual(port.fixed_ips, [{ subnet_id: s.id, ip_address: s.gateway_ip }]);
    const lrp = `lrp-${port.id}`;
    assert.equal(await column("Logical_Router_Port", lrp, "networks"), `${s.gateway_ip}/64`);
    const ra = await column("Logical_Router_Port", lrp, "ipv6_ra_configs");
    for (const option of ["address_mode=slaac", 'mtu="1442"', 'send_periodic="true"']) {
      assert.ok(ra.replace(/"/g, "").includes(option.replace(/"/g, "")), `${option} in ${ra}`);
    }
  });
});
