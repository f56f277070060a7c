/**
 * The pure parts of VIF plug: argument checks, what a plug does to conf.db
 * as it is (and what it refuses), a port's MAC and MTU from NB rows, the
 * libvirt XML, and reading a DHCP lease in the lab.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroOvnError } from "../../src/errors.js";
import {
  checkLibvirtPortId,
  libvirtInterfaceXml,
  tapName,
  xmlAttribute,
} from "../../src/cli/format/libvirt-xml.js";
import { leaseScript, parseLease } from "../../src/lab/dhcp.js";
import { checkVifPort, plugPlacement, portMac, switchMtu } from "../../src/ovn/logical-port.js";
import type { IpLink } from "../../src/ovn/underlay.js";
import {
  checkInterfaceName,
  checkMac,
  checkPortId,
  checkVifLink,
  findVif,
  planPlug,
  vifsOf,
  type SwitchInterface,
} from "../../src/ovn/vif.js";

const code = (c: string, message?: RegExp) => (e: unknown) =>
  e instanceof MicroOvnError && e.code === c && (message === undefined || message.test(e.message));

const PORT = "9e1d2c3b-4a5f-4678-9abc-def012345678";

function iface(
  name: string,
  bridge: string | undefined,
  ids: Record<string, string> = {},
): SwitchInterface {
  return {
    uuid: `uuid-${name}`,
    name,
    ...(bridge ? { bridge, portUuid: `port-${name}` } : {}),
    externalIds: new Map(Object.entries(ids)),
  };
}

/** conf.db of a chassis with one VM plugged (vm1-h), its underlay on br-phy. */
const CONF_DB: SwitchInterface[] = [
  iface("br-int", "br-int"),
  iface("br-phy", "br-phy"),
  iface("ul0", "br-phy"),
  iface("ovn-m2-0", "br-int"),
  iface("vm1-h", "br-int", {
    "iface-id": "port-a",
    "attached-mac": "fa:16:3e:00:00:0a",
    "iface-status": "active",
    "ovn-installed": "true",
  }),
];

describe("VIF arguments", () => {
  it("takes MACs as six hex pairs, lowercased, unicast only", () => {
    assert.equal(checkMac("FA:16:3E:AB:cd:01"), "fa:16:3e:ab:cd:01");
    for (const bad of [
      "fa:16:3e:ab:cd",
      "fa-16-3e-ab-cd-01",
      "fa:16:3e:ab:cd:0g",
      "",
      "fa:16:3e:ab:cd:01:02",
    ]) {
      assert.throws(
        () => checkMac(bad),
        code("BAD_MAC", /is not a MAC address; write it as six hex pairs/),
      );
    }
    assert.throws(() => checkMac("01:00:5e:00:00:01"), code("BAD_MAC", /multicast/));
    assert.throws(() => checkMac("ff:ff:ff:ff:ff:ff"), code("BAD_MAC", /multicast/));
  });

  it("takes interface names the kernel can hold", () => {
    assert.equal(checkInterfaceName("tap9e1d2c3b-4a"), "tap9e1d2c3b-4a");
    assert.equal(checkInterfaceName("a234567890abcde"), "a234567890abcde");
    for (const bad of ["", "a234567890abcdef", "a/b", "a b", "a:1", ".", ".."]) {
      assert.throws(() => checkInterfaceName(bad), code("BAD_INTERFACE"), bad);
    }
  });

  it("takes any printable port name without blanks", () => {
    assert.equal(checkPortId(PORT), PORT);
    assert.equal(checkPortId("lab-vm1"), "lab-vm1");
    for (const bad of ["", "a b", "a\nb", "x".repeat(256)]) {
      assert.throws(() => checkPortId(bad), code("BAD_PORT_ID"));
    }
  });
});

describe("the interface to plug, as the kernel sees it", () => {
  const links: IpLink[] = [
    { ifname: "lo", link_type: "loopback", address: "00:00:00:00:00:00" },
    {
      ifname: "eth0",
      link_type: "ether",
      address: "02:00:00:00:00:01",
      addr_info: [
        { family: "inet", local: "198.18.0.1", prefixlen: 24, scope: "global" },
        { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
      ],
    },
    {
      ifname: "tap1",
      link_type: "ether",
      address: "fe:16:3e:00:00:01",
      addr_info: [
        { family: "inet6", local: "fe80::fc16:3eff:fe00:1", prefixlen: 64, scope: "link" },
      ],
    },
  ];

  it("is one with no addresses but link-local ones", () => {
    assert.equal(checkVifLink(links, "tap1").address, "fe:16:3e:00:00:01");
  });

  it("refuses a missing one, loopback, and one that carries this member's network", () => {
    assert.throws(
      () => checkVifLink(links, "tap2"),
      code("NO_SUCH_INTERFACE", /no interface "tap2" on this member .*nothing was changed/),
    );
    assert.throws(() => checkVifLink(links, "lo"), code("NOT_A_VIF", /loopback/));
    assert.throws(
      () => checkVifLink(links, "eth0"),
      code("NOT_A_VIF", /eth0 holds 198\.18\.0\.1\/24: it is this member's own network/),
    );
  });
});

describe("planning a plug against conf.db", () => {
  const request = { portId: PORT, iface: "tap1", mac: "fa:16:3e:00:00:01" };

  it("adds a new interface", () => {
    assert.deepEqual(planPlug(CONF_DB, request), { kind: "insert" });
  });

  it("does nothing for the same pair again, and rewrites a changed MAC or status", () => {
    const plugged = [
      ...CONF_DB,
      iface("tap1", "br-int", {
        "iface-id": PORT,
        "attached-mac": "fa:16:3e:00:00:01",
        "iface-status": "active",
        "ovn-installed": "true",
      }),
    ];
    assert.deepEqual(planPlug(plugged, request), { kind: "unchanged" });
    assert.deepEqual(planPlug(plugged, { ...request, mac: "fa:16:3e:00:00:02" }), {
      kind: "update",
      uuid: "uuid-tap1",
    });
    const inactive = [
      ...CONF_DB,
      iface("tap1", "br-int", { "iface-id": PORT, "attached-mac": request.mac }),
    ];
    assert.deepEqual(planPlug(inactive, request), { kind: "update", uuid: "uuid-tap1" });
  });

  it("refuses an interface plugged for another port, naming it", () => {
    assert.throws(
      () => planPlug(CONF_DB, { ...request, iface: "vm1-h" }),
      code(
        "INTERFACE_PLUGGED",
        /vm1-h is already plugged for port port-a; unplug it first \(`microovn port unplug vm1-h`\)/,
      ),
    );
  });

  it("refuses a port plugged under another interface", () => {
    assert.throws(
      () => planPlug(CONF_DB, { ...request, portId: "port-a" }),
      code(
        "PORT_PLUGGED",
        /port port-a is already plugged here as vm1-h; to move it, unplug it first/,
      ),
    );
  });

  it("refuses interfaces that bridges hold for other reasons", () => {
    for (const [name, bridge] of [
      ["ul0", "br-phy"],
      ["br-int", "br-int"],
      ["ovn-m2-0", "br-int"],
    ]) {
      assert.throws(
        () => planPlug(CONF_DB, { ...request, iface: name! }),
        code(
          "NOT_A_VIF",
          new RegExp(
            `${name} is a port of bridge ${bridge}, not a VM's interface; nothing was changed`,
          ),
        ),
      );
    }
    // An iface-id on another bridge is not a plug of ours either.
    const elsewhere = [iface("tap1", "br-ex", { "iface-id": PORT })];
    assert.throws(() => planPlug(elsewhere, request), code("NOT_A_VIF", /bridge br-ex/));
  });
});

describe("plugged interfaces", () => {
  const vifs = vifsOf([
    ...CONF_DB,
    iface("tap0", "br-int", { "iface-id": PORT, "attached-mac": "fa:16:3e:00:00:01" }),
  ]);

  it("are the interfaces with an iface-id, bound once ovn-installed", () => {
    assert.deepEqual(vifs, [
      { iface: "tap0", portId: PORT, mac: "fa:16:3e:00:00:01", bridge: "br-int", bound: false },
      { iface: "vm1-h", portId: "port-a", mac: "fa:16:3e:00:00:0a", bridge: "br-int", bound: true },
    ]);
  });

  it("are found by interface name or port id; anything else is refused", () => {
    assert.equal(findVif(vifs, "tap0").portId, PORT);
    assert.equal(findVif(vifs, "port-a").iface, "vm1-h");
    assert.throws(
      () => findVif(vifs, "ul0"),
      code("NOT_PLUGGED", /nothing is plugged here as "ul0"/),
    );
  });
});

describe("a logical port's MAC and its network's MTU", () => {
  it("takes the MAC from the first address that has one, or the dynamic one", () => {
    assert.equal(portMac(["FA:16:3E:11:22:33 10.0.0.5 fd00::5"]), "fa:16:3e:11:22:33");
    assert.equal(portMac(["unknown", "fa:16:3e:11:22:33"]), "fa:16:3e:11:22:33");
    assert.equal(portMac(["router"]), undefined);
    assert.equal(portMac([]), undefined);
    assert.equal(portMac(["dynamic"], "0a:00:00:00:00:07 10.0.0.7"), "0a:00:00:00:00:07");
    assert.equal(portMac(["dynamic"], undefined), undefined);
  });

  it("is a VM's port only when its type is empty", () => {
    checkVifPort({ name: PORT, type: "" });
    for (const type of ["router", "localnet", "external", "virtual", "localport"]) {
      assert.throws(
        () => checkVifPort({ name: "p", type }),
        code(
          "NOT_A_VIF_PORT",
          new RegExp(`port p is a "${type}" port in NB, which ovn-controller never binds`),
        ),
      );
    }
  });

  it("tells where requested-chassis lets this chassis bind a plugged port", () => {
    assert.equal(plugPlacement([], "m2"), "here");
    assert.equal(plugPlacement(["m2"], "m2"), "here");
    assert.equal(plugPlacement(["m2", "m1"], "m2"), "here");
    // A live migration's destination: bound beside the main chassis.
    assert.equal(plugPlacement(["m1", "m2"], "m2"), "migrating-here");
    assert.equal(plugPlacement(["m1"], "m2"), "elsewhere");
    assert.equal(plugPlacement(["m1", "m3"], "m2"), "elsewhere");
  });

  it("takes neutron:mtu when it is a whole number a link can carry", () => {
    assert.equal(switchMtu(new Map([["neutron:mtu", "1442"]])), 1442);
    for (const bad of ["", "1442.5", "abc", "67", "65536", "-1"]) {
      assert.equal(switchMtu(new Map([["neutron:mtu", bad]])), undefined, bad);
    }
    assert.equal(switchMtu(new Map()), undefined);
  });
});

describe("libvirt's interface element", () => {
  it("names the tap as Neutron does", () => {
    assert.equal(tapName(PORT), "tap9e1d2c3b-4a");
    assert.equal(tapName(PORT).length, 14);
  });

  it("is the element libvirt plugs into br-int with the port's id", () => {
    assert.equal(
      libvirtInterfaceXml({ portId: PORT, mac: "fa:16:3e:11:22:33", mtu: 1442 }),
      `<interface type='bridge'>
  <mac address='fa:16:3e:11:22:33'/>
  <source bridge='br-int'/>
  <virtualport type='openvswitch'>
    <parameters interfaceid='${PORT}'/>
  </virtualport>
  <target dev='tap9e1d2c3b-4a'/>
  <model type='virtio'/>
  <mtu size='1442'/>
</interface>
`,
    );
    assert.doesNotMatch(libvirtInterfaceXml({ portId: PORT, mac: "fa:16:3e:11:22:33" }), /<mtu/);
  });

  it("escapes every attribute value", () => {
    assert.equal(xmlAttribute(`a&b<c>d"e'f`), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    assert.equal(xmlAttribute("&amp;"), "&amp;amp;");
    const xml = libvirtInterfaceXml({ portId: "x'/><evil a='&", mac: "m" });
    assert.match(xml, /<parameters interfaceid='x&apos;\/&gt;&lt;evil a=&apos;&amp;'\/>/);
    assert.doesNotMatch(xml, /<evil/);
  });

  it("takes only a UUID as the port id, as libvirt does", () => {
    assert.equal(checkLibvirtPortId(PORT.toUpperCase()), PORT.toUpperCase());
    for (const bad of ["lab-vm1", `${PORT}0`, PORT.replaceAll("-", ""), ""]) {
      assert.throws(() => checkLibvirtPortId(bad), code("NOT_A_UUID", /libvirt takes only a UUID/));
    }
  });
});

describe("a DHCP lease in the lab", () => {
  it("is read from what udhcpc gave the script", () => {
    assert.deepEqual(
      parseLease(
        "ip=10.0.0.5\nmask=24\nrouter=10.0.0.1 10.0.0.254\nmtu=1400\nlease=43200\nserverid=10.0.0.1\n",
      ),
      {
        ip: "10.0.0.5",
        prefixLength: 24,
        router: "10.0.0.1",
        mtu: 1400,
        leaseSeconds: 43200,
        serverId: "10.0.0.1",
      },
    );
    assert.deepEqual(parseLease("ip=10.0.0.5\nmask=24\nrouter=\nmtu=\nlease=\nserverid=\n"), {
      ip: "10.0.0.5",
      prefixLength: 24,
    });
    assert.equal(parseLease("ip=10.0.0.5\nmask=24\nmtu=40\n").mtu, undefined, "no MTU below 68");
  });

  it("without an address is refused", () => {
    for (const text of [
      "",
      "ip=\nmask=24\n",
      "ip=10.0.0.5\nmask=\n",
      "ip=10.0.0.5\nmask=33\n",
      "ip=x\nmask=24\n",
    ]) {
      assert.throws(() => parseLease(text), code("BAD_LEASE"), JSON.stringify(text));
    }
  });

  it("is written by a script that quotes its file's name", () => {
    const script = leaseScript("/tmp/it's here/vm1.lease");
    assert.match(script, /^#!\/bin\/sh\n/);
    assert.match(script, /\[ "\$1" = bound \] \|\| exit 0/);
    assert.match(
      script,
      /> '\/tmp\/it'\\''s here\/vm1\.lease\.tmp' && mv '\/tmp\/it'\\''s here\/vm1\.lease\.tmp' '\/tmp\/it'\\''s here\/vm1\.lease'$/m,
    );
  });
});
