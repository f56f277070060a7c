/**
 * The pure mapping of a router's external gateway to NB rows: which
 * chassis may host it and in what order, the default routes, and the
 * SNAT rows, as ML2/OVN writes them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  bridgedNetworks,
  defaultRoutes,
  gatewayCandidates,
  gatewayChassisRows,
  snatAddress,
  snatRows,
  type NamedChassis,
} from "../../src/openstack/networking/routers/gateway-rows.js";

function chassis(name: string, options: Record<string, string>, old = false): NamedChassis {
  const map = new Map(Object.entries(options));
  return old
    ? { name, other_config: new Map(), external_ids: map }
    : { name, other_config: map, external_ids: new Map() };
}

const GW = "enable-chassis-as-gw";

describe("gateway chassis", () => {
  const all = [
    chassis("c3", { "ovn-cms-options": GW, "ovn-bridge-mappings": "physnet1:br-ex" }),
    chassis("c1", {
      "ovn-cms-options": `availability-zones=az1,${GW}`,
      "ovn-bridge-mappings": "physnet2:br-x, physnet1:br-ex",
    }),
    chassis("c2", { "ovn-cms-options": GW, "ovn-bridge-mappings": "physnet2:br-x" }),
    chassis("c4", { "ovn-bridge-mappings": "physnet1:br-ex" }),
    // Older OVN reported the options in external_ids.
    chassis("c0", { "ovn-cms-options": GW, "ovn-bridge-mappings": "physnet1:br-ex" }, true),
  ];

  it("reads a chassis' bridged physical networks", () => {
    assert.deepEqual([...bridgedNetworks(all[1]!)], ["physnet2", "physnet1"]);
    assert.equal(bridgedNetworks(chassis("x", {})).size, 0);
  });

  it("takes gateway chassis that bridge the network's physical network, by name", () => {
    assert.deepEqual(gatewayCandidates(all, "physnet1"), ["c0", "c1", "c3"]);
    assert.deepEqual(gatewayCandidates(all, "physnet2"), ["c1", "c2"]);
    assert.deepEqual(gatewayCandidates(all, "physnet9"), []);
  });

  it("takes any gateway chassis for an overlay network, and none that is not a gateway", () => {
    assert.deepEqual(gatewayCandidates(all, undefined), ["c0", "c1", "c2", "c3"]);
    assert.deepEqual(gatewayCandidates([all[3]!], undefined), []);
  });

  it("names the rows <lrp>_<chassis>, the first the highest priority", () => {
    assert.deepEqual(gatewayChassisRows("lrp-p1", ["c1", "c3"]), [
      { name: "lrp-p1_c1", chassis_name: "c1", priority: 2 },
      { name: "lrp-p1_c3", chassis_name: "c3", priority: 1 },
    ]);
    assert.deepEqual(gatewayChassisRows("lrp-p1", []), []);
  });
});

describe("default routes and SNAT", () => {
  const subnets = new Map([
    ["s4", { ipVersion: 4, gatewayIp: "203.0.113.1" }],
    ["s4b", { ipVersion: 4, gatewayIp: "198.51.100.1" }],
    ["s6", { ipVersion: 6, gatewayIp: "2001:db8::1" }],
    ["nogw", { ipVersion: 4, gatewayIp: null }],
  ]);

  it("routes each address family through its external subnet's gateway, once", () => {
    const routes = defaultRoutes(
      [
        { subnet_id: "s4", ip_address: "203.0.113.5" },
        { subnet_id: "s4b", ip_address: "198.51.100.5" },
        { subnet_id: "s6", ip_address: "2001:db8::5" },
      ],
      subnets,
    );
    assert.deepEqual(
      routes.map((r) => [r.ip_prefix, r.nexthop, Object.fromEntries(r.external_ids)]),
      [
        ["0.0.0.0/0", "203.0.113.1", { "neutron:is_ext_gw": "true", "neutron:subnet_id": "s4" }],
        ["::/0", "2001:db8::1", { "neutron:is_ext_gw": "true", "neutron:subnet_id": "s6" }],
      ],
    );
  });

  it("makes no default route for a subnet without a gateway", () => {
    assert.deepEqual(defaultRoutes([{ subnet_id: "nogw", ip_address: "192.0.2.5" }], subnets), []);
  });

  it("translates to the gateway's IPv4 address, each internal IPv4 subnet once", () => {
    const ip = snatAddress([
      { subnet_id: "s6", ip_address: "2001:db8::5" },
      { subnet_id: "s4", ip_address: "203.0.113.5" },
    ]);
    assert.equal(ip, "203.0.113.5");
    assert.deepEqual(snatRows(ip, ["10.0.0.0/24", "fd00::/64", "10.0.1.0/24", "10.0.0.0/24"]), [
      { type: "snat", logical_ip: "10.0.0.0/24", external_ip: "203.0.113.5" },
      { type: "snat", logical_ip: "10.0.1.0/24", external_ip: "203.0.113.5" },
    ]);
  });

  it("translates nothing without an IPv4 gateway address", () => {
    assert.equal(snatAddress([{ subnet_id: "s6", ip_address: "2001:db8::5" }]), undefined);
    assert.deepEqual(snatRows(undefined, ["10.0.0.0/24"]), []);
  });
});
