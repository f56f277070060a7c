/**
 * IPv6 addresses wherever an operator gives one or the lab makes one:
 * written bare and canonical, brackets only where a port follows, link-local
 * refused, and a machine with IPv6 addresses only still finds its own.
 */
import assert from "node:assert/strict";
import type { NetworkInterfaceInfo } from "node:os";
import { describe, it } from "node:test";
import { CENTRAL_IPS, configKey, parseCentralIps } from "../../src/cluster/config-keys.js";
import { decodeJoinToken, encodeJoinToken } from "../../src/cluster/join-token.js";
import { joinHostPort, splitHostPort } from "../../src/cluster/member-client.js";
import { MicroOvnError } from "../../src/errors.js";
import {
  labAddressArgs,
  labMemberAddress,
  labUnderlayAddress,
  labVmIpv6,
} from "../../src/lab/addressing.js";
import { defaultAddress } from "../../src/lifecycle/bootstrap.js";
import { checkAddress } from "../../src/member/config.js";
import { interfaceWithAddress, tunnelProblem, type IpLink } from "../../src/ovn/underlay.js";
import { addressProblem, canonicalAddress } from "../../src/util/address.js";

const refused = (code: string, why: RegExp) => (e: unknown) =>
  e instanceof MicroOvnError && e.code === code && why.test(e.message);

function iface(address: string, internal = false): NetworkInterfaceInfo {
  const v6 = address.includes(":");
  return {
    address,
    netmask: v6 ? "ffff:ffff:ffff:ffff::" : "255.255.255.0",
    family: v6 ? "IPv6" : "IPv4",
    mac: "02:00:00:00:00:01",
    internal,
    cidr: null,
    ...(v6 ? { scopeid: 0 } : {}),
  } as NetworkInterfaceInfo;
}

describe("addresses as operators give them", () => {
  it("keeps IPv6 addresses in their canonical form, IPv4 as given", () => {
    assert.equal(canonicalAddress("FD50:0:0:1:0:0:0:2"), "fd50:0:0:1::2");
    assert.equal(canonicalAddress("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
    assert.equal(canonicalAddress("fd00::1"), "fd00::1");
    assert.equal(canonicalAddress("10.0.0.1"), "10.0.0.1");
  });

  it("says what is wrong with brackets, link-local addresses, scopes and non-addresses", () => {
    assert.equal(addressProblem("fd00::1"), undefined);
    assert.equal(addressProblem("10.0.0.1"), undefined);
    assert.match(addressProblem("[fd00::1]")!, /write the IPv6 address bare \(fd00::1\)/);
    assert.match(addressProblem("fe80::1")!, /link-local/);
    assert.match(addressProblem("fe80::1%eth0")!, /link-local/);
    assert.match(addressProblem("fd00::1%eth0")!, /without it \(fd00::1\)/);
    assert.match(addressProblem("host.example")!, /is not an IP address/);
  });

  it("takes a member address or encapsulation IP canonical, and refuses bad ones with the reason", () => {
    assert.equal(checkAddress("FD50::0:2"), "fd50::2");
    assert.throws(
      () => checkAddress("[fd50::2]", "encapsulation IP"),
      refused("BAD_ADDRESS", /bare \(fd50::2\).*give the encapsulation IP as IPv4 or IPv6/),
    );
    assert.throws(() => checkAddress("fe80::2"), refused("BAD_ADDRESS", /link-local/));
  });

  it("takes ovn.central-ips with IPv6 entries canonical, and finds duplicates written two ways", () => {
    assert.deepEqual(parseCentralIps("FD00::1, fd00::2"), ["fd00::1", "fd00::2"]);
    assert.equal(configKey(CENTRAL_IPS).check("fd00:0::1,10.0.0.1"), "fd00::1,10.0.0.1");
    assert.throws(
      () => parseCentralIps("fd00::1,FD00:0::1"),
      refused("BAD_CONFIG_VALUE", /fd00::1 is listed twice/),
    );
    assert.throws(
      () => parseCentralIps("[fd00::1]"),
      refused("BAD_CONFIG_VALUE", /bare \(fd00::1\).*fd00::1,fd00::2/),
    );
  });
});

describe("the address a member gets when none is given", () => {
  it("is the first IPv4 address that is not loopback", () => {
    const found = defaultAddress({
      lo: [iface("127.0.0.1", true), iface("::1", true)],
      eth0: [iface("fd00::5"), iface("192.0.2.5")],
    });
    assert.equal(found, "192.0.2.5");
  });

  it("is a global IPv6 address on a machine without IPv4, never a link-local one", () => {
    const found = defaultAddress({
      lo: [iface("127.0.0.1", true), iface("::1", true)],
      eth0: [iface("fe80::1"), iface("FD50:0:0:1:0:0:0:7")],
    });
    assert.equal(found, "fd50:0:0:1::7");
  });

  it("is 127.0.0.1 when there is nothing else", () => {
    assert.equal(
      defaultAddress({ lo: [iface("127.0.0.1", true)], eth0: [iface("fe80::1")] }),
      "127.0.0.1",
    );
  });
});

describe("IPv6 in join tokens and member API addresses", () => {
  it("writes host and port with brackets, and reads them back", () => {
    assert.equal(joinHostPort("fd50:0:0:1::1"), "[fd50:0:0:1::1]:6686");
    assert.deepEqual(splitHostPort("[fd50:0:0:1::1]:6686"), { host: "fd50:0:0:1::1", port: 6686 });
    assert.deepEqual(splitHostPort("[fd50::1]"), { host: "fd50::1", port: 6686 });
    const token = {
      name: "m4",
      secret: "s",
      fingerprint: "a".repeat(64),
      addresses: [joinHostPort("fd50:0:0:1::1"), joinHostPort("10.0.0.1")],
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    };
    assert.deepEqual(decodeJoinToken(encodeJoinToken(token)).addresses, [
      "[fd50:0:0:1::1]:6686",
      "10.0.0.1:6686",
    ]);
  });
});

describe("the lab's address plan", () => {
  it("puts an IPv4 lab in 198.18.0.0/24 and 198.18.1.0/24", () => {
    assert.equal(labMemberAddress("ipv4", 3), "198.18.0.3");
    assert.equal(labUnderlayAddress("ipv4", 3), "198.18.1.3");
    assert.deepEqual(labAddressArgs("ipv4", "198.18.0.3", "eth0"), [
      "addr",
      "add",
      "198.18.0.3/24",
      "dev",
      "eth0",
    ]);
  });

  it("puts an IPv6 lab in fd50:0:0:1::/64 and fd50:0:0:2::/64, canonical, without DAD", () => {
    assert.equal(labMemberAddress("ipv6", 3), "fd50:0:0:1::3");
    assert.equal(labMemberAddress("ipv6", 12), "fd50:0:0:1::c");
    assert.equal(labUnderlayAddress("ipv6", 12), "fd50:0:0:2::c");
    for (const i of [1, 9, 10, 200]) {
      assert.equal(canonicalAddress(labMemberAddress("ipv6", i)), labMemberAddress("ipv6", i));
    }
    assert.equal(labVmIpv6(1), "fd10::b");
    assert.deepEqual(labAddressArgs("ipv6", "fd50:0:0:1::3", "eth0"), [
      "addr",
      "add",
      "fd50:0:0:1::3/64",
      "dev",
      "eth0",
      "nodad",
    ]);
  });
});

describe("finding the interface that holds an IPv6 encapsulation IP", () => {
  const links: IpLink[] = [
    {
      ifname: "br-phy",
      addr_info: [
        { family: "inet6", local: "fd50:0:0:2::1", prefixlen: 64, scope: "global" },
        { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
      ],
    },
  ];

  it("matches however the address is written", () => {
    for (const written of ["fd50:0:0:2::1", "FD50:0:0:2:0:0:0:1", "fd50::2:0:0:0:1"]) {
      assert.equal(interfaceWithAddress(links, written)?.ifname, "br-phy", written);
    }
    assert.equal(interfaceWithAddress(links, "fd50:0:0:2::2"), undefined);
  });

  it("raises no tunnel problem for it on br-phy with the userspace datapath", () => {
    const check = { links, datapath: "netdev" as const, bridgeInterfaces: new Set(["br-phy"]) };
    assert.equal(tunnelProblem({ ...check, encapIp: "FD50:0:0:2:0:0:0:1" }), undefined);
    assert.match(tunnelProblem({ ...check, encapIp: "fd50:0:0:2::9" })!, /not an address/);
  });
});
