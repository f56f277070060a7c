import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroOvnError } from "../../src/errors.js";
import { encapsulationIp, parseBridgeMappings } from "../../src/member/config.js";
import { detectDatapath } from "../../src/ovn/switch.js";
import {
  checkUnderlayCandidate,
  planMove,
  routeArgs,
  tunnelProblem,
  underlayAddress,
  type IpLink,
  type IpRoute,
  type UnderlayCandidate,
} from "../../src/ovn/underlay.js";

const code = (c: string) => (e: unknown) => e instanceof MicroOvnError && e.code === c;

/** `ip -j address show dev v0` on this machine (Debian 12, iproute2 6.1), trimmed. */
const V0: IpLink = JSON.parse(`{"ifname":"v0","link_type":"ether","address":"7e:f8:58:66:81:f4",
  "addr_info":[
    {"family":"inet","local":"198.18.9.1","prefixlen":24,"broadcast":"198.18.9.255","scope":"global","label":"v0"},
    {"family":"inet","local":"198.18.9.7","prefixlen":24,"scope":"global","secondary":true,"label":"v0"},
    {"family":"inet6","local":"fd00:9::1","prefixlen":64,"scope":"global","tentative":true},
    {"family":"inet6","local":"fe80::7cf8:58ff:fe66:81f4","prefixlen":64,"scope":"link"}]}`) as IpLink;

/** `ip -j -4|-6 route show table all dev v0` on this machine, with the family added. */
const V0_ROUTES: IpRoute[] = [
  ...(
    JSON.parse(`[{"dst":"default","gateway":"198.18.9.254","flags":["linkdown"]},
    {"dst":"198.18.9.0/24","protocol":"kernel","scope":"link","prefsrc":"198.18.9.1","flags":[]},
    {"dst":"203.0.113.0/24","gateway":"198.18.9.2","metric":50,"flags":[]},
    {"dst":"192.0.2.0/24","gateway":"198.18.9.3","table":"100","protocol":"static","flags":["onlink"]},
    {"type":"local","dst":"198.18.9.1","table":"local","protocol":"kernel","scope":"host","prefsrc":"198.18.9.1","flags":[]},
    {"type":"broadcast","dst":"198.18.9.255","table":"local","protocol":"kernel","scope":"link","prefsrc":"198.18.9.1","flags":[]}]`) as Omit<
      IpRoute,
      "family"
    >[]
  ).map((r) => ({ ...r, family: 4 as const })),
  ...(
    JSON.parse(`[{"dst":"fd00:9::/64","protocol":"kernel","metric":256,"flags":[],"pref":"medium"},
    {"dst":"fe80::/64","protocol":"kernel","metric":256,"flags":[],"pref":"medium"},
    {"dst":"default","gateway":"fd00:9::fe","metric":1024,"flags":[],"pref":"medium"},
    {"type":"multicast","dst":"ff00::/8","table":"local","protocol":"kernel","metric":256,"flags":[]}]`) as Omit<
      IpRoute,
      "family"
    >[]
  ).map((r) => ({ ...r, family: 6 as const })),
];

describe("moving an interface's addresses and routes onto br-phy", () => {
  it("adds the global addresses to br-phy, swaps the routes in place, then takes them off", () => {
    const plan = planMove(V0, "br-phy", V0_ROUTES);
    assert.deepEqual(plan.addresses, ["198.18.9.1", "198.18.9.7", "fd00:9::1"]);
    assert.deepEqual(plan.forward, [
      "link set dev br-phy up",
      "address replace 198.18.9.1/24 dev br-phy broadcast 198.18.9.255",
      "address replace 198.18.9.7/24 dev br-phy",
      "address replace fd00:9::1/64 dev br-phy nodad",
      "route replace 0.0.0.0/0 via 198.18.9.254 dev br-phy",
      "route replace 203.0.113.0/24 via 198.18.9.2 metric 50 dev br-phy",
      "route replace 192.0.2.0/24 via 198.18.9.3 table 100 proto static onlink dev br-phy",
      "route replace ::/0 via fd00:9::fe metric 1024 dev br-phy",
    ]);
    // A secondary address goes before its primary, which would take it along.
    assert.deepEqual(plan.removal, [
      "address del fd00:9::1/64 dev v0",
      "address del 198.18.9.7/24 dev v0",
      "address del 198.18.9.1/24 dev v0",
    ]);
    assert.deepEqual(plan.rollback, [
      "route replace 0.0.0.0/0 via 198.18.9.254 dev v0",
      "route replace 203.0.113.0/24 via 198.18.9.2 metric 50 dev v0",
      "route replace 192.0.2.0/24 via 198.18.9.3 table 100 proto static onlink dev v0",
      "route replace ::/0 via fd00:9::fe metric 1024 dev v0",
      "address del 198.18.9.1/24 dev br-phy",
      "address del 198.18.9.7/24 dev br-phy",
      "address del fd00:9::1/64 dev br-phy",
    ]);
  });

  it("moves back the same way, and has nothing to do for an interface without addresses", () => {
    const back = planMove({ ...V0, ifname: "br-phy" }, "v0", []);
    assert.equal(back.forward[1], "address replace 198.18.9.1/24 dev v0 broadcast 198.18.9.255");
    assert.equal(back.removal.at(-1), "address del 198.18.9.1/24 dev br-phy");
    const empty = planMove({ ifname: "nx0", addr_info: [] }, "br-phy", []);
    assert.deepEqual(empty.forward, ["link set dev br-phy up"]);
    assert.deepEqual(empty.removal, []);
  });

  it("writes a device route of either family", () => {
    assert.equal(
      routeArgs({ family: 6, dst: "default", scope: "link" }, "br-phy"),
      "::/0 scope link dev br-phy",
    );
    assert.equal(
      routeArgs({ family: 4, dst: "10.9.0.0/16", prefsrc: "198.18.9.1", scope: "link" }, "x"),
      "10.9.0.0/16 scope link src 198.18.9.1 dev x",
    );
  });

  it("gives Geneve the first IPv4 address, else the first IPv6 one", () => {
    assert.equal(underlayAddress(V0), "198.18.9.1");
    const v6 = { ...V0, addr_info: V0.addr_info!.filter((a) => a.family === "inet6") };
    assert.equal(underlayAddress(v6), "fd00:9::1");
    const linkLocal = { ...V0, addr_info: V0.addr_info!.filter((a) => a.scope === "link") };
    assert.equal(underlayAddress(linkLocal), undefined);
  });
});

describe("checking an underlay interface", () => {
  const ok: UnderlayCandidate = {
    name: "v0",
    datapath: "netdev",
    link: V0,
    allLinks: ["lo", "v0"],
    ovsBridge: undefined,
    current: undefined,
    currentAddress: undefined,
  };

  it("accepts an interface with an address, and the current one again", () => {
    assert.equal(checkUnderlayCandidate(ok), "198.18.9.1");
    const moved = { ...V0, addr_info: [] };
    assert.equal(
      checkUnderlayCandidate({
        ...ok,
        link: moved,
        ovsBridge: "br-phy",
        current: "v0",
        currentAddress: "198.18.9.1",
      }),
      "198.18.9.1",
    );
  });

  it("refuses with the kernel datapath, where Geneve needs no underlay bridge", () => {
    assert.throws(
      () => checkUnderlayCandidate({ ...ok, datapath: "system" }),
      (e: unknown) =>
        code("UNDERLAY_NOT_NEEDED")(e) &&
        /kernel datapath.*microovn chassis set encap-ip IP.*nothing was changed/.test(
          (e as Error).message,
        ),
    );
  });

  it("refuses what cannot carry Geneve, saying what to do", () => {
    const cases: [Partial<UnderlayCandidate>, string, RegExp][] = [
      [
        { link: undefined, name: "eth9" },
        "NO_SUCH_INTERFACE",
        /no interface "eth9" \(it has lo, v0\)/,
      ],
      [{ name: "br-int" }, "BAD_UNDERLAY_INTERFACE", /br-int is a bridge MicroOVN makes/],
      [{ name: "br-phy" }, "BAD_UNDERLAY_INTERFACE", /br-phy is a bridge MicroOVN makes/],
      [
        { name: "lo", link: { ifname: "lo", link_type: "loopback", addr_info: V0.addr_info! } },
        "BAD_UNDERLAY_INTERFACE",
        /loopback/,
      ],
      [{ ovsBridge: "br-ex" }, "BAD_UNDERLAY_INTERFACE", /del-port br-ex v0/],
      [{ current: "eth1" }, "UNDERLAY_ALREADY_SET", /is eth1 already; run `microovn chassis unset/],
      [
        { link: { ...V0, addr_info: V0.addr_info!.filter((a) => a.scope === "link") } },
        "UNDERLAY_WITHOUT_ADDRESS",
        /v0 has no IP address.*ip address add 192\.0\.2\.10\/24 dev v0/,
      ],
    ];
    for (const [change, c, message] of cases) {
      assert.throws(
        () => checkUnderlayCandidate({ ...ok, ...change }),
        (e: unknown) => code(c)(e) && message.test((e as Error).message),
        JSON.stringify(change),
      );
    }
  });
});

describe("the status line about tunnels", () => {
  const links: IpLink[] = [
    {
      ifname: "lo",
      link_type: "loopback",
      addr_info: [{ family: "inet", local: "127.0.0.1", prefixlen: 8, scope: "host" }],
    },
    V0,
    {
      ifname: "br-phy",
      link_type: "ether",
      addr_info: [{ family: "inet", local: "198.18.1.1", prefixlen: 24, scope: "global" }],
    },
  ];
  const check = {
    links,
    datapath: "netdev" as const,
    bridgeInterfaces: new Set(["br-phy"]),
  };

  it("is quiet when the encapsulation IP is on an OVS bridge, or with the kernel datapath", () => {
    assert.equal(tunnelProblem({ ...check, encapIp: "198.18.1.1" }), undefined);
    assert.equal(tunnelProblem({ ...check, encapIp: "198.18.9.1", datapath: "system" }), undefined);
  });

  it("names the interface holding the address and the command that fixes it", () => {
    assert.equal(
      tunnelProblem({ ...check, encapIp: "198.18.9.1" }),
      "Geneve tunnels to other chassis cannot work: this member uses the userspace datapath " +
        "(no openvswitch kernel module), which sends tunnels only from an address on an OVS " +
        "bridge, and the encapsulation IP 198.18.9.1 is on v0; " +
        "run `microovn chassis set underlay-interface v0`",
    );
    assert.match(
      tunnelProblem({ ...check, encapIp: "127.0.0.1" })!,
      /is on lo; give the chassis an address on the interface facing the other machines/,
    );
  });

  it("says when the encapsulation IP is not here at all, with either datapath", () => {
    for (const datapath of ["netdev", "system"] as const) {
      assert.match(
        tunnelProblem({ ...check, datapath, encapIp: "203.0.113.9" })!,
        /the encapsulation IP 203\.0\.113\.9 is not an address of this machine; run `microovn chassis set encap-ip IP`/,
      );
    }
  });
});

describe("choosing the datapath", () => {
  function probe(loaded: boolean, loads: boolean) {
    const calls = { load: 0 };
    let state = loaded;
    return {
      calls,
      probe: {
        moduleLoaded: () => state,
        loadModule: () => {
          calls.load++;
          state = loads;
          return Promise.resolve();
        },
      },
    };
  }

  it("takes the kernel datapath when the openvswitch module is loaded, without loading it", async () => {
    const p = probe(true, true);
    assert.equal(await detectDatapath(p.probe), "system");
    assert.equal(p.calls.load, 0);
  });

  it("loads the module if it can, and takes the kernel datapath then", async () => {
    const p = probe(false, true);
    assert.equal(await detectDatapath(p.probe), "system");
    assert.equal(p.calls.load, 1);
  });

  it("falls back to the userspace datapath when the module cannot be loaded", async () => {
    const p = probe(false, false);
    assert.equal(await detectDatapath(p.probe), "netdev");
    assert.equal(p.calls.load, 1);
  });
});

describe("chassis settings that cannot work", () => {
  it("refuses br-int and malformed names in bridge mappings", () => {
    for (const bad of ["physnet1:br-int", "physnet1:..", "physnet1:-x", "-p:br-ex", "p:br ex"]) {
      assert.throws(() => parseBridgeMappings(bad), code("BAD_BRIDGE_MAPPINGS"), bad);
    }
    assert.throws(
      () => parseBridgeMappings("physnet1:br-int"),
      /onto br-int, the integration bridge ovn-controller owns; map it onto a bridge of its own/,
    );
    assert.deepEqual(parseBridgeMappings("physnet1:br-phy"), { physnet1: "br-phy" });
  });

  it("takes the tunnel endpoint from encap-ip, else the underlay, else the member address", () => {
    const base = { bridgeMappings: {}, gateway: false };
    const underlay = { interface: "eth1", address: "198.18.1.1" };
    assert.equal(encapsulationIp(base, "10.0.0.1"), "10.0.0.1");
    assert.equal(encapsulationIp({ ...base, underlay }, "10.0.0.1"), "198.18.1.1");
    assert.equal(
      encapsulationIp({ ...base, underlay, encapIp: "198.18.2.1" }, "10.0.0.1"),
      "198.18.2.1",
    );
  });
});
