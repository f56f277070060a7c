/**
 * The pure parts behind networks, subnets and ports: address arithmetic
 * (strict CIDRs, pools, picking a free address, EUI-64, MACs), the DHCP
 * options ML2/OVN writes for a subnet and a port's own options, and a
 * port's `addresses`/`port_security`.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  canonicalIp,
  canonicalMac,
  defaultPools,
  eui64,
  firstHost,
  formatIp,
  overlaps,
  parseIp,
  parsePrefix,
  pickFree,
  randomMac,
} from "../../src/openstack/networking/addresses.js";
import {
  dhcpOptionsWithMtu,
  portDhcpOptions,
  subnetDhcpOptions,
} from "../../src/openstack/networking/dhcp.js";
import { ApiError } from "../../src/openstack/errors.js";
import { portAddressing } from "../../src/openstack/networking/ports.js";
import { requestedSegment } from "../../src/openstack/networking/networks.js";

const prefix = (text: string) => {
  const p = parsePrefix(text);
  assert.ok(p, text);
  return p;
};
const ip = (text: string) => parseIp(text)!.value;
const show = (version: 4 | 6, values: Iterable<bigint>) =>
  [...values].map((v) => formatIp(version, v));

function refusedWith(fn: () => unknown, status: number, message: RegExp): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof ApiError && e.status === status && message.test(e.message),
  );
}

describe("addresses", () => {
  it("parses and prints IPv4 and IPv6, compressing IPv6 as RFC 5952 does", () => {
    assert.equal(canonicalIp("10.0.0.1"), "10.0.0.1");
    assert.equal(canonicalIp("FD00:0:0:0:0:0:0:1"), "fd00::1");
    assert.equal(canonicalIp("fd00:1:0:0:1:0:0:0"), "fd00:1:0:0:1::");
    assert.equal(canonicalIp("fd00:0:0:1:0:0:1:1"), "fd00::1:0:0:1:1");
    assert.equal(canonicalIp("::ffff:10.0.0.1"), "::ffff:a00:1");
    for (const bad of ["10.0.0.256", "10.0.0", "fd00:::1", "x", "", "10.0.0.1/24"]) {
      assert.equal(parseIp(bad), undefined, bad);
    }
  });

  it("takes a CIDR only without host bits and with a length the version has", () => {
    assert.deepEqual(prefix("10.0.0.0/24"), { version: 4, network: ip("10.0.0.0"), length: 24 });
    for (const bad of [
      "10.0.0.1/24",
      "10.0.0.0/33",
      "fd00::1/64",
      "fd00::/129",
      "10.0.0.0",
      "10.0.0.0/x",
    ]) {
      assert.equal(parsePrefix(bad), undefined, bad);
    }
    assert.ok(overlaps(prefix("10.0.0.0/24"), prefix("10.0.0.128/25")));
    assert.ok(!overlaps(prefix("10.0.0.0/25"), prefix("10.0.0.128/25")));
    assert.ok(!overlaps(prefix("10.0.0.0/8"), prefix("fd00::/8")));
  });

  it("gives Neutron's default gateway and pools", () => {
    const p = prefix("10.0.0.0/24");
    assert.equal(formatIp(4, firstHost(p)), "10.0.0.1");
    const pools = (gw: bigint | undefined) =>
      defaultPools(p, gw).map((r) => show(4, [r.start, r.end]));
    assert.deepEqual(pools(firstHost(p)), [["10.0.0.2", "10.0.0.254"]]);
    assert.deepEqual(pools(undefined), [["10.0.0.1", "10.0.0.254"]]);
    assert.deepEqual(pools(ip("10.0.0.100")), [
      ["10.0.0.1", "10.0.0.99"],
      ["10.0.0.101", "10.0.0.254"],
    ]);
    const v6 = prefix("fd00:1::/64");
    assert.deepEqual(
      defaultPools(v6, firstHost(v6)).map((r) => show(6, [r.start, r.end])),
      [["fd00:1::2", "fd00:1::ffff:ffff:ffff:ffff"]],
    );
  });

  it("picks a free address from a random start, and none when all are taken", () => {
    const pools = [{ start: ip("10.0.0.2"), end: ip("10.0.0.6") }];
    const taken = new Set([ip("10.0.0.4"), ip("10.0.0.5")]);
    // A random start on a taken address walks on to the next free one, wrapping.
    assert.equal(
      formatIp(
        4,
        pickFree(pools, taken, () => 2n)!,
      ),
      "10.0.0.6",
    );
    assert.equal(
      formatIp(
        4,
        pickFree(pools, taken, () => 3n)!,
      ),
      "10.0.0.6",
    );
    assert.equal(
      formatIp(
        4,
        pickFree(pools, new Set([...taken, ip("10.0.0.6")]), () => 3n)!,
      ),
      "10.0.0.2",
    );
    const all = new Set([2, 3, 4, 5, 6].map((n) => ip(`10.0.0.${n}`)));
    assert.equal(pickFree(pools, all), undefined);
    const seen = new Set<bigint>();
    for (let i = 0; i < 200; i++) seen.add(pickFree(pools, new Set())!);
    assert.ok(seen.size > 1, "not always the same address");
  });

  it("makes SLAAC's EUI-64 address and Neutron's MACs", () => {
    assert.equal(
      formatIp(6, eui64(prefix("fd00:1::/64"), "fa:16:3e:a2:98:dc")),
      "fd00:1::f816:3eff:fea2:98dc",
    );
    assert.match(randomMac(), /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    assert.equal(canonicalMac("FA-16-3E-00-00-01"), "fa:16:3e:00:00:01");
    assert.equal(canonicalMac("fa163e000001"), "fa:16:3e:00:00:01");
    for (const bad of [
      "fa:16:3e:00:00",
      "01:00:5e:00:00:01",
      "ff:ff:ff:ff:ff:ff",
      "00:00:00:00:00:00",
      "fa:16:3e:00-00:01",
    ]) {
      assert.equal(canonicalMac(bad), undefined, bad);
    }
  });
});

describe("DHCP options", () => {
  const v4 = {
    version: 4 as const,
    enableDhcp: true,
    gatewayIp: "10.0.0.1",
    dnsNameservers: ["192.0.2.53", "192.0.2.54"],
    hostRoutes: [{ destination: "10.9.0.0/16", nexthop: "10.0.0.254" }],
    mtu: 1442,
    ipv6AddressMode: null,
    serverMac: "fa:16:3e:00:00:01",
  };

  it("are ML2/OVN's for an IPv4 subnet, none without DHCP or a gateway", () => {
    assert.deepEqual(subnetDhcpOptions(v4), {
      server_id: "10.0.0.1",
      router: "10.0.0.1",
      lease_time: "43200",
      mtu: "1442",
      server_mac: "fa:16:3e:00:00:01",
      dns_server: "{192.0.2.53, 192.0.2.54}",
      classless_static_route: "{10.9.0.0/16,10.0.0.254, 0.0.0.0/0,10.0.0.1}",
    });
    assert.equal(subnetDhcpOptions({ ...v4, hostRoutes: [] }).classless_static_route, undefined);
    assert.deepEqual(subnetDhcpOptions({ ...v4, enableDhcp: false }), {});
    assert.deepEqual(subnetDhcpOptions({ ...v4, gatewayIp: null }), {});
    assert.match(subnetDhcpOptions({ ...v4, serverMac: undefined }).server_mac!, /^fa:16:3e:/);
    assert.equal(
      dhcpOptionsWithMtu(new Map(Object.entries(subnetDhcpOptions(v4))), 1400)?.get("mtu"),
      "1400",
    );
    assert.equal(dhcpOptionsWithMtu(new Map(), 1400), undefined);
  });

  it("are ML2/OVN's for IPv6: a server MAC, stateless flagged, none for SLAAC", () => {
    const v6 = {
      ...v4,
      version: 6 as const,
      gatewayIp: "fd00::1",
      dnsNameservers: ["fd00::53"],
      hostRoutes: [],
    };
    assert.deepEqual(subnetDhcpOptions({ ...v6, ipv6AddressMode: "dhcpv6-stateful" }), {
      server_id: "fa:16:3e:00:00:01",
      dns_server: "{fd00::53}",
    });
    assert.equal(
      subnetDhcpOptions({ ...v6, ipv6AddressMode: "dhcpv6-stateless" }).dhcpv6_stateless,
      "true",
    );
    assert.deepEqual(subnetDhcpOptions({ ...v6, ipv6AddressMode: "slaac" }), {});
  });

  it("turn a port's extra_dhcp_opts into OVN's names and values, refusing others", () => {
    assert.deepEqual(
      portDhcpOptions(
        [
          { opt_name: "bootfile-name", opt_value: "pxelinux.0" },
          { opt_name: "dns-server", opt_value: "192.0.2.1,192.0.2.2" },
          { opt_name: "mtu", opt_value: "9000" },
          { opt_name: "dns-server", opt_value: "fd00::1", ip_version: 6 },
        ],
        4,
      ),
      {
        disabled: false,
        options: {
          bootfile_name: '"pxelinux.0"',
          dns_server: "{192.0.2.1, 192.0.2.2}",
          mtu: "9000",
        },
      },
    );
    assert.equal(
      portDhcpOptions([{ opt_name: "dhcp_disabled", opt_value: "true" }], 4).disabled,
      true,
    );
    refusedWith(
      () => portDhcpOptions([{ opt_name: "nis-domain", opt_value: "x" }], 4),
      400,
      /cannot give option 'nis-domain'/,
    );
  });
});

describe("port rows", () => {
  const fixed = [
    { subnet_id: "s4", ip_address: "10.0.0.5" },
    { subnet_id: "s6", ip_address: "fd00::5" },
  ];
  it("carry addresses and port security as ML2/OVN computes them", () => {
    const mac = "fa:16:3e:00:00:01";
    assert.deepEqual(portAddressing(mac, fixed, true, []), {
      addresses: [`${mac} 10.0.0.5 fd00::5`],
      port_security: [`${mac} 10.0.0.5 fd00::5`],
    });
    assert.deepEqual(portAddressing(mac, fixed, false, []), {
      addresses: [`${mac} 10.0.0.5 fd00::5`, "unknown"],
      port_security: [],
    });
    const pairs = [
      { ip_address: "10.0.0.100", mac_address: mac },
      { ip_address: "10.0.0.101", mac_address: "fa:16:3e:00:00:02" },
    ];
    assert.deepEqual(portAddressing(mac, fixed, true, pairs), {
      addresses: [`${mac} 10.0.0.5 fd00::5`, "fa:16:3e:00:00:02"],
      port_security: [`${mac} 10.0.0.5 fd00::5 10.0.0.100`, "fa:16:3e:00:00:02 10.0.0.101"],
    });
  });
});

describe("network segments", () => {
  it("are geneve by default; vlan and flat need a physical network; bad ones are 400", () => {
    assert.deepEqual(requestedSegment({}), {
      type: "geneve",
      physicalNetwork: undefined,
      segmentationId: undefined,
    });
    assert.deepEqual(
      requestedSegment({
        "provider:network_type": "vlan",
        "provider:physical_network": "physnet1",
        "provider:segmentation_id": "100",
      }),
      { type: "vlan", physicalNetwork: "physnet1", segmentationId: 100 },
    );
    refusedWith(() => requestedSegment({ "provider:network_type": "vxlan" }), 400, /not supported/);
    refusedWith(
      () => requestedSegment({ "provider:network_type": "vlan", "provider:physical_network": "p" }),
      400,
      /needs provider:segmentation_id/,
    );
    refusedWith(
      () =>
        requestedSegment({
          "provider:network_type": "vlan",
          "provider:physical_network": "p",
          "provider:segmentation_id": 4095,
        }),
      400,
      /4095/,
    );
    refusedWith(
      () => requestedSegment({ "provider:network_type": "flat" }),
      400,
      /needs provider:physical_network/,
    );
    refusedWith(
      () =>
        requestedSegment({
          "provider:network_type": "flat",
          "provider:physical_network": "p",
          "provider:segmentation_id": 5,
        }),
      400,
      /no segmentation_id/,
    );
    refusedWith(() => requestedSegment({ "provider:physical_network": "p" }), 400, /not geneve/);
    refusedWith(
      () =>
        requestedSegment({
          "provider:network_type": "flat",
          "provider:physical_network": "has space",
        }),
      400,
      /bridge mappings/,
    );
  });
});
