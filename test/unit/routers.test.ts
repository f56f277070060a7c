/**
 * The pure parts behind routers: extra routes checked as Neutron checks
 * them (a CIDR destination, a nexthop of its family on one of the
 * router's subnets and not the router itself, at most 30, duplicates
 * once), the router's addresses read from its ports' `networks`, a
 * router port's `networks` and router advertisement settings as ML2/OVN
 * sets them, the gateway seam, and a router's answer from its row.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../src/openstack/errors.js";
import {
  MAX_ROUTES,
  checkRoutes,
  connectedAddresses,
} from "../../src/openstack/networking/routers/extra-routes.js";
import { gatewayRequest } from "../../src/openstack/networking/routers/gateway.js";
import { lrpName, routerIdOf, routerName } from "../../src/openstack/networking/routers/names.js";
import {
  routerPortColumns,
  routerPortIds,
} from "../../src/openstack/networking/routers/router-port.js";
import { routerView } from "../../src/openstack/networking/routers/routers.js";
import type { LogicalRouter } from "../../src/ovsdb/models/ovn-northbound.js";

function refusedWith(fn: () => unknown, status: number, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.status, status);
    assert.match(e.message, message);
    return true;
  });
}

const ROUTER = "5d9a3f50-7d7b-4c43-9a5e-3c1f4b0a9e01";
const connected = connectedAddresses(["10.0.1.1/24", "10.0.2.10/24", "fd00:1::1/64"]);

describe("extra routes", () => {
  it("reads the router's addresses and their subnets from its ports' networks", () => {
    assert.equal(connected.length, 3);
    assert.equal(connected[1]!.prefix.length, 24);
    assert.equal(connected[1]!.address, (10n << 24n) + (2n << 8n) + 10n);
    assert.equal(connected[1]!.prefix.network, (10n << 24n) + (2n << 8n));
    assert.deepEqual(connectedAddresses(["garbage", "10.0.0.1"]), []);
  });

  it("takes routes whose nexthop is on a router subnet, canonically and once each", () => {
    const routes = checkRoutes(
      ROUTER,
      [
        { destination: "10.9.0.0/16", nexthop: "10.0.1.50" },
        { destination: "10.9.0.0/16", nexthop: "10.0.1.50" },
        { destination: "fd00:9:0::/48", nexthop: "fd00:1:0::5" },
      ],
      connected,
    );
    assert.deepEqual(routes, [
      { destination: "10.9.0.0/16", nexthop: "10.0.1.50" },
      { destination: "fd00:9::/48", nexthop: "fd00:1::5" },
    ]);
  });

  it("refuses a nexthop off the router's subnets, or the router's own address, with Neutron's message", () => {
    refusedWith(
      () => checkRoutes(ROUTER, [{ destination: "10.9.0.0/16", nexthop: "10.99.0.1" }], connected),
      400,
      /^Invalid format for routes: \[\{'destination': '10\.9\.0\.0\/16', 'nexthop': '10\.99\.0\.1'\}\], the nexthop is not connected with router$/,
    );
    refusedWith(
      () => checkRoutes(ROUTER, [{ destination: "10.9.0.0/16", nexthop: "10.0.2.10" }], connected),
      400,
      /the nexthop is used by router/,
    );
    // A router without interfaces reaches nothing.
    refusedWith(
      () => checkRoutes(ROUTER, [{ destination: "10.9.0.0/16", nexthop: "10.0.1.50" }], []),
      400,
      /not connected with router/,
    );
  });

  it("refuses a destination that is not a CIDR and a nexthop of the other family", () => {
    refusedWith(
      () => checkRoutes(ROUTER, [{ destination: "10.9.0.1/16", nexthop: "10.0.1.50" }], connected),
      400,
      /is not a CIDR/,
    );
    refusedWith(
      () => checkRoutes(ROUTER, [{ destination: "10.9.0.0/16", nexthop: "fd00:1::5" }], connected),
      400,
      /is not an IPv4 address/,
    );
  });

  it("refuses more than Neutron's 30 routes", () => {
    const many = Array.from({ length: MAX_ROUTES + 1 }, (_, i) => ({
      destination: `10.${100 + i}.0.0/16`,
      nexthop: "10.0.1.50",
    }));
    assert.equal(checkRoutes(ROUTER, many.slice(0, MAX_ROUTES), connected).length, MAX_ROUTES);
    refusedWith(() => checkRoutes(ROUTER, many, connected), 400, /exceeds the maximum 30/);
  });
});

describe("router ports", () => {
  const subnets = new Map([
    ["s4", { cidr: "10.0.1.0/24", ipv6AddressMode: null }],
    ["s6", { cidr: "fd00:1::/64", ipv6AddressMode: "slaac" }],
    ["s6b", { cidr: "fd00:2::/64", ipv6AddressMode: "dhcpv6-stateless" }],
  ]);

  it("has each fixed IP with its prefix length as networks", () => {
    const c = routerPortColumns([{ subnet_id: "s4", ip_address: "10.0.1.1" }], subnets, 1442);
    assert.deepEqual(c.networks, ["10.0.1.1/24"]);
    assert.equal(c.ipv6_ra_configs.size, 0, "no router advertisements on IPv4");
  });

  it("sends router advertisements for the first subnet with an IPv6 address mode, as ML2/OVN", () => {
    const c = routerPortColumns(
      [
        { subnet_id: "s6", ip_address: "fd00:1::1" },
        { subnet_id: "s6b", ip_address: "fd00:2::1" },
      ],
      subnets,
      1400,
    );
    assert.deepEqual(c.networks, ["fd00:1::1/64", "fd00:2::1/64"]);
    assert.deepEqual(Object.fromEntries(c.ipv6_ra_configs), {
      address_mode: "slaac",
      send_periodic: "true",
      mtu: "1400",
    });
    const stateless = routerPortColumns(
      [{ subnet_id: "s6b", ip_address: "fd00:2::1" }],
      subnets,
      1442,
    );
    assert.equal(stateless.ipv6_ra_configs.get("address_mode"), "dhcpv6_stateless");
  });

  it("is tagged as ML2/OVN tags it, and named after the port", () => {
    assert.deepEqual(
      Object.fromEntries(
        routerPortIds({
          routerId: ROUTER,
          networkSwitch: "neutron-n1",
          subnetIds: ["a", "b"],
          isGateway: false,
        }),
      ),
      {
        "neutron:revision_number": "1",
        "neutron:subnet_ids": "a b",
        "neutron:network_name": "neutron-n1",
        "neutron:is_ext_gw": "False",
        "neutron:router_name": ROUTER,
      },
    );
    const gateway = routerPortIds({
      routerId: ROUTER,
      networkSwitch: "neutron-ext",
      subnetIds: ["e"],
      isGateway: true,
    });
    assert.equal(gateway.get("neutron:is_ext_gw"), "True");
    assert.equal(lrpName("p1"), "lrp-p1");
    assert.equal(routerName(ROUTER), `neutron-${ROUTER}`);
    assert.equal(routerIdOf(routerName(ROUTER)), ROUTER);
    assert.equal(routerIdOf("lr0"), undefined);
  });
});

describe("routers", () => {
  it("reads a gateway request: nothing, a clear, or a network with SNAT and addresses", () => {
    assert.equal(gatewayRequest(undefined), undefined);
    assert.equal(gatewayRequest(null), null);
    assert.equal(gatewayRequest({}), null);
    assert.deepEqual(gatewayRequest({ network_id: "n1" }), {
      networkId: "n1",
      enableSnat: true,
      fixedIps: undefined,
    });
    assert.deepEqual(
      gatewayRequest({
        network_id: "n1",
        enable_snat: false,
        external_fixed_ips: [{ subnet_id: "s1", ip_address: "203.0.113.9" }],
      }),
      {
        networkId: "n1",
        enableSnat: false,
        fixedIps: [{ subnet_id: "s1", ip_address: "203.0.113.9" }],
      },
    );
  });

  it("refuses a gateway request it cannot read, saying what to give", () => {
    refusedWith(() => gatewayRequest({ enable_snat: true }), 400, /network_id is required/);
    refusedWith(() => gatewayRequest({ network_id: "n1", color: "red" }), 400, /'color'/);
    refusedWith(() => gatewayRequest({ network_id: "n1", enable_snat: 3 }), 400, /not a boolean/);
    refusedWith(
      () => gatewayRequest({ network_id: "n1", external_fixed_ips: [{ subnet: "s1" }] }),
      400,
      /list of \{subnet_id, ip_address\}/,
    );
  });

  it("answers from the Logical_Router row", () => {
    const lr = {
      _uuid: "u",
      _version: "v",
      name: routerName(ROUTER),
      ports: [],
      static_routes: [],
      policies: [],
      enabled: false,
      nat: [],
      load_balancer: [],
      load_balancer_group: [],
      copp: undefined,
      options: new Map(),
      external_ids: new Map([
        ["neutron:router_name", "r1"],
        ["neutron:revision_number", "3"],
        ["neutron:availability_zone_hints", "az1,az2"],
        ["microovn:project_id", "p1"],
        ["microovn:description", "d"],
        ["microovn:created_at", "2026-11-29T00:00:00Z"],
      ]),
    } satisfies LogicalRouter;
    const routes = [{ destination: "10.9.0.0/16", nexthop: "10.0.1.50" }];
    assert.deepEqual(routerView(ROUTER, lr, routes, null), {
      id: ROUTER,
      name: "r1",
      tenant_id: "p1",
      project_id: "p1",
      admin_state_up: false,
      status: "ACTIVE",
      external_gateway_info: null,
      routes,
      availability_zone_hints: ["az1", "az2"],
      availability_zones: [],
      description: "d",
      tags: [],
      created_at: "2026-11-29T00:00:00Z",
      updated_at: "2026-11-29T00:00:00Z",
      revision_number: 3,
    });
  });
});
