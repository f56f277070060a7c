/**
 * External gateways through Debian's `openstack` CLI against the API
 * service on one member, and the NB rows they become, read back with
 * `ovn-nbctl`: the gateway port on a `router:external` network, its
 * Logical_Router_Port with Gateway_Chassis (none until the member is a
 * gateway chassis bridging the network's physical network), the default
 * route, and one SNAT row per internal IPv4 subnet, kept right as
 * interfaces come and go. A refused request shows Neutron's message and
 * leaves NB as it was.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { memberWithApi, nbReader } from "../helpers/api-member.js";
import type { OpenStackCli } from "../helpers/openstack-cli.js";
import type { TestMember } from "../helpers/member.js";
import { waitFor } from "../helpers/wait.js";

interface GatewayInfo {
  network_id: string;
  enable_snat: boolean;
  external_fixed_ips: { subnet_id: string; ip_address: string }[];
}

interface Router {
  id: string;
  external_gateway_info: GatewayInfo | null;
}

describe("router external gateways through the openstack CLI", () => {
  let m: TestMember;
  let os: OpenStackCli;
  let ext: { id: string };
  let extSub: { id: string; gateway_ip: string };
  let in1: { id: string };
  let in2: { id: string };
  const { nbctl, column, tables } = nbReader(() => m);
  /** Every row a gateway touches: what a refused request must leave alone. */
  const snapshot = () =>
    tables([
      "Logical_Router",
      "Logical_Router_Port",
      "Logical_Router_Static_Route",
      "NAT",
      "Gateway_Chassis",
      "Logical_Switch_Port",
    ]);
  /** The router's SNAT rows as "logical_ip>external_ip", sorted. */
  const snat = async (routerId: string) => {
    const mine = (await column("Logical_Router", `neutron-${routerId}`, "nat"))
      .split(/\s+/)
      .filter((x) => x !== "");
    const rows = await Promise.all(
      mine.map(async (uuid) => {
        const [type, logical, external] = (
          await nbctl([
            "--format=csv",
            "--no-headings",
            "--columns=type,logical_ip,external_ip",
            "list",
            "NAT",
            uuid,
          ])
        )
          .trim()
          .replace(/"/g, "")
          .split(",");
        return `${type}:${logical}>${external}`;
      }),
    );
    return rows.sort();
  };
  /** The router's default routes as "prefix via nexthop {external_ids}". */
  const defaultRoutes = async (routerId: string) => {
    const uuids = (await column("Logical_Router", `neutron-${routerId}`, "static_routes"))
      .split(/\s+/)
      .filter((x) => x !== "");
    const rows = await Promise.all(
      uuids.map(async (u) =>
        (
          await nbctl([
            "--format=csv",
            "--no-headings",
            "--columns=ip_prefix,nexthop,external_ids",
            "list",
            "Logical_Router_Static_Route",
            u,
          ])
        ).trim(),
      ),
    );
    // ovn-nbctl's CSV doubles quotes; the bare text is what matters here.
    return rows.map((r) => r.replace(/"/g, "")).filter((r) => r.includes("neutron:is_ext_gw"));
  };
  /** Fails if any row of the table is named after `id`. */
  const noneNamed = async (table: string, id: string) =>
    assert.doesNotMatch(
      await nbctl(["--bare", "--columns=name", "list", table]),
      new RegExp(id),
      `a ${table} row of ${id} is left`,
    );
  const gatewayChassis = async (lrp: string) =>
    (await nbctl(["lrp-get-gateway-chassis", lrp])).trim().replace(/\s+/g, " ");

  before(async () => {
    ({ m, os } = await memberWithApi("rgw"));
    // A failure from here on leaves the member to after().
    ext = await os.json([
      "network",
      "create",
      "ext",
      "--external",
      "--provider-network-type",
      "flat",
      "--provider-physical-network",
      "physnet1",
    ]);
    extSub = await os.json([
      "subnet",
      "create",
      "ext-sub",
      "--network",
      "ext",
      "--subnet-range",
      "203.0.113.0/24",
      "--no-dhcp",
    ]);
    await os.json(["network", "create", "in1"]);
    await os.json(["network", "create", "in2"]);
    in1 = await os.json([
      "subnet",
      "create",
      "in1-sub",
      "--network",
      "in1",
      "--subnet-range",
      "10.40.1.0/24",
    ]);
    in2 = await os.json([
      "subnet",
      "create",
      "in2-sub",
      "--network",
      "in2",
      "--subnet-range",
      "10.40.2.0/24",
    ]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("makes a gateway without Gateway_Chassis while no chassis can host it", async () => {
    const r = await os.json<Router>(["router", "create", "r-early", "--external-gateway", "ext"]);
    const info = r.external_gateway_info!;
    assert.equal(info.network_id, ext.id);
    assert.equal(info.enable_snat, true);
    assert.equal(info.external_fixed_ips.length, 1);
    assert.equal(info.external_fixed_ips[0]!.subnet_id, extSub.id);
    const ids = await column("Logical_Router", `neutron-${r.id}`, "external_ids");
    const portId = /neutron:gw_port_id=([0-9a-f-]{36})/.exec(ids)?.[1];
    assert.ok(portId, ids);
    assert.match(ids, new RegExp(`neutron:gw_network_id=${ext.id}`));
    assert.equal(await gatewayChassis(`lrp-${portId}`), "");
    assert.equal((await defaultRoutes(r.id)).length, 1);
    // Deleting the router takes its gateway with it.
    const del = await os.run(["router", "delete", "r-early"]);
    assert.equal(del.exitCode, 0, del.stderr);
    await noneNamed("Logical_Switch_Port", portId);
    await noneNamed("Logical_Router_Port", portId);
  });

  it("sets and clears a gateway: port, router port, Gateway_Chassis, default route, SNAT", async () => {
    await m.ok(["chassis", "set", "bridge-mappings", "physnet1:br-ex"]);
    await m.ok(["chassis", "set", "gateway", "true"]);
    // The service sees the chassis as a gateway once its agent says so.
    await waitFor(
      "the member's gateway agent",
      async () =>
        (await os.json<{ "Agent Type": string }[]>(["network", "agent", "list"]))[0]?.[
          "Agent Type"
        ] === "OVN Controller Gateway agent",
      { timeoutMs: 30_000 },
    );
    const chassisName = (
      await m.ok(["ovn-sbctl", "--bare", "--columns=name", "list", "Chassis"])
    ).trim();

    const r = await os.json<Router>(["router", "create", "gw-r"]);
    assert.equal((await os.run(["router", "add", "subnet", "gw-r", in1.id])).exitCode, 0);
    const set = await os.run(["router", "set", "gw-r", "--external-gateway", "ext"]);
    assert.equal(set.exitCode, 0, set.stderr);
    const info = (await os.json<Router>(["router", "show", r.id])).external_gateway_info!;
    assert.equal(info.network_id, ext.id);
    assert.equal(info.enable_snat, true);
    const address = info.external_fixed_ips[0]!.ip_address;
    assert.match(address, /^203\.0\.113\./);

    const lr = `neutron-${r.id}`;
    const ids = await column("Logical_Router", lr, "external_ids");
    const portId = /neutron:gw_port_id=([0-9a-f-]{36})/.exec(ids)![1]!;
    const lrp = `lrp-${portId}`;
    const port = await os.json<{ device_owner: string; device_id: string; network_id: string }>([
      "port",
      "show",
      portId,
    ]);
    assert.equal(port.device_owner, "network:router_gateway");
    assert.equal(port.device_id, r.id);
    assert.equal(port.network_id, ext.id);
    assert.equal(await column("Logical_Switch_Port", portId, "type"), "router");
    const lspOptions = await column("Logical_Switch_Port", portId, "options");
    assert.match(lspOptions, new RegExp(`router-port=${lrp}`));
    assert.match(lspOptions, /nat-addresses=router/);
    assert.equal(await column("Logical_Router_Port", lrp, "networks"), `${address}/24`);
    assert.match(
      await column("Logical_Router_Port", lrp, "external_ids"),
      /neutron:is_ext_gw=True/,
    );
    assert.equal(await gatewayChassis(lrp), `${lrp}_${chassisName} 1`);
    const routes = await defaultRoutes(r.id);
    assert.equal(routes.length, 1, routes.join("\n"));
    assert.match(routes[0]!, new RegExp(`^0\\.0\\.0\\.0/0,${extSub.gateway_ip},`));
    assert.match(routes[0]!, new RegExp(`neutron:subnet_id=.?.?${extSub.id}`));
    assert.deepEqual(await snat(r.id), [`snat:10.40.1.0/24>${address}`]);

    // SNAT follows the router's interfaces.
    assert.equal((await os.run(["router", "add", "subnet", "gw-r", in2.id])).exitCode, 0);
    assert.deepEqual(await snat(r.id), [
      `snat:10.40.1.0/24>${address}`,
      `snat:10.40.2.0/24>${address}`,
    ]);
    assert.equal((await os.run(["router", "remove", "subnet", "gw-r", in1.id])).exitCode, 0);
    assert.deepEqual(await snat(r.id), [`snat:10.40.2.0/24>${address}`]);

    // --disable-snat keeps the gateway port and drops the translation; back again without it.
    const off = await os.run([
      "router",
      "set",
      "gw-r",
      "--external-gateway",
      "ext",
      "--disable-snat",
    ]);
    assert.equal(off.exitCode, 0, off.stderr);
    const offInfo = (await os.json<Router>(["router", "show", r.id])).external_gateway_info!;
    assert.equal(offInfo.enable_snat, false);
    assert.equal(offInfo.external_fixed_ips[0]!.ip_address, address);
    assert.match(await column("Logical_Router", lr, "external_ids"), new RegExp(portId));
    assert.deepEqual(await snat(r.id), []);
    assert.equal((await os.run(["router", "add", "subnet", "gw-r", in1.id])).exitCode, 0);
    assert.deepEqual(await snat(r.id), [], "an interface added with SNAT off is not translated");
    assert.equal(
      (await os.run(["router", "set", "gw-r", "--external-gateway", "ext", "--enable-snat"]))
        .exitCode,
      0,
    );
    assert.deepEqual(await snat(r.id), [
      `snat:10.40.1.0/24>${address}`,
      `snat:10.40.2.0/24>${address}`,
    ]);

    // A chosen address replaces the gateway port.
    const fixed = await os.run([
      "router",
      "set",
      "gw-r",
      "--external-gateway",
      "ext",
      "--fixed-ip",
      `subnet=${extSub.id},ip-address=203.0.113.50`,
    ]);
    assert.equal(fixed.exitCode, 0, fixed.stderr);
    const fixedInfo = (await os.json<Router>(["router", "show", r.id])).external_gateway_info!;
    assert.deepEqual(fixedInfo.external_fixed_ips, [
      { subnet_id: extSub.id, ip_address: "203.0.113.50" },
    ]);
    const newPort = /neutron:gw_port_id=([0-9a-f-]{36})/.exec(
      await column("Logical_Router", lr, "external_ids"),
    )![1]!;
    assert.notEqual(newPort, portId);
    assert.equal(
      await column("Logical_Router_Port", `lrp-${newPort}`, "networks"),
      "203.0.113.50/24",
    );
    assert.deepEqual(await snat(r.id), [
      "snat:10.40.1.0/24>203.0.113.50",
      "snat:10.40.2.0/24>203.0.113.50",
    ]);
    assert.equal((await defaultRoutes(r.id)).length, 1);
    assert.equal(await gatewayChassis(`lrp-${newPort}`), `lrp-${newPort}_${chassisName} 1`);
    await noneNamed("Logical_Switch_Port", portId);
    await noneNamed("Gateway_Chassis", portId);

    // The gateway port goes only with the gateway.
    assert.match(await os.failure(["port", "delete", newPort]), /router unset --external-gateway/);

    const unset = await os.run(["router", "unset", "gw-r", "--external-gateway"]);
    assert.equal(unset.exitCode, 0, unset.stderr);
    assert.equal((await os.json<Router>(["router", "show", r.id])).external_gateway_info, null);
    const cleared = await column("Logical_Router", lr, "external_ids");
    assert.match(cleared, /neutron:gw_port_id= |neutron:gw_port_id=""/);
    assert.doesNotMatch(cleared, /neutron:gw_network_id/);
    assert.deepEqual(await snat(r.id), []);
    assert.deepEqual(await defaultRoutes(r.id), []);
    assert.equal((await nbctl(["--bare", "--columns=name", "list", "Gateway_Chassis"])).trim(), "");
    await noneNamed("Logical_Switch_Port", newPort);
    assert.equal((await column("Logical_Router", lr, "ports")).split(/\s+/).length, 2);
  });

  it("refuses a network that is not external and an address that is taken, changing nothing", async () => {
    const r = await os.json<Router>(["router", "create", "gw-bad"]);
    const before = await snapshot();
    assert.match(
      await os.failure(["router", "set", "gw-bad", "--external-gateway", "in1"]),
      /Bad router request: Network [0-9a-f-]{36} is not an external network/,
    );
    await os.json([
      "port",
      "create",
      "holder",
      "--network",
      "ext",
      "--fixed-ip",
      `subnet=${extSub.id},ip-address=203.0.113.60`,
    ]);
    const held = await snapshot();
    assert.notEqual(held, before);
    assert.match(
      await os.failure([
        "router",
        "set",
        "gw-bad",
        "--external-gateway",
        "ext",
        "--fixed-ip",
        `subnet=${extSub.id},ip-address=203.0.113.60`,
      ]),
      /IP address 203\.0\.113\.60 already allocated/,
    );
    const missing = await os.call(
      "PUT",
      `/v2.0/routers/${r.id}`,
      JSON.stringify({ router: { external_gateway_info: { network_id: "no-such-net" } } }),
    );
    assert.equal(missing.status, 404);
    assert.match(JSON.stringify(missing.body), /Network no-such-net could not be found/);
    const noNetwork = await os.call(
      "PUT",
      `/v2.0/routers/${r.id}`,
      JSON.stringify({ router: { external_gateway_info: { enable_snat: false } } }),
    );
    assert.equal(noNetwork.status, 400);
    assert.match(JSON.stringify(noNetwork.body), /network_id is required/);
    assert.equal(await snapshot(), held, "a refused gateway changed NB");
    assert.equal((await os.json<Router>(["router", "show", r.id])).external_gateway_info, null);
  });
});
