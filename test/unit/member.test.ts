import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { applyChassisChange } from "../../src/lifecycle/chassis-settings.js";
import { certificateServices } from "../../src/lifecycle/certificates.js";
import {
  parseServiceList,
  checkAddress,
  checkMemberName,
  defaultChassisSettings,
  formatBridgeMappings,
  parseBridgeMappings,
} from "../../src/member/config.js";
import { chassisExternalIds } from "../../src/ovn/chassis.js";
import { parseClusterStatus } from "../../src/ovn/raft.js";
import { VERSION } from "../../src/version.js";
import { MicroOvnError } from "../../src/errors.js";

const code = (c: string) => (e: unknown) => e instanceof MicroOvnError && e.code === c;

describe("member settings", () => {
  it("accepts host-like member names and refuses others", () => {
    for (const ok of ["node1", "a", "movn-1.lab"]) assert.equal(checkMemberName(ok), ok);
    for (const bad of ["", "-x", "x-", "a b", "é", "x".repeat(64)]) {
      assert.throws(() => checkMemberName(bad), code("BAD_MEMBER_NAME"), bad);
    }
  });

  it("accepts IPv4 and IPv6 addresses only", () => {
    assert.equal(checkAddress("10.0.0.1"), "10.0.0.1");
    assert.equal(checkAddress("fd00::1"), "fd00::1");
    assert.throws(() => checkAddress("host.example"), code("BAD_ADDRESS"));
  });

  it("parses and formats bridge mappings", () => {
    const m = parseBridgeMappings("physnet1:br-ex, physnet2:br-vlan");
    assert.deepEqual(m, { physnet1: "br-ex", physnet2: "br-vlan" });
    assert.equal(formatBridgeMappings(m), "physnet1:br-ex,physnet2:br-vlan");
    assert.deepEqual(parseBridgeMappings(""), {});
    for (const bad of ["physnet1", "a:b:c", "p:this-bridge-name-is-too-long", "p:x,p:y"]) {
      assert.throws(() => parseBridgeMappings(bad), code("BAD_BRIDGE_MAPPINGS"), bad);
    }
  });

  it("changes one chassis setting at a time and clears with null", () => {
    let s = applyChassisChange(defaultChassisSettings(), { bridgeMappings: "physnet1:br-ex" });
    s = applyChassisChange(s, { gateway: true, encapIp: "192.168.1.5" });
    assert.deepEqual(s, {
      bridgeMappings: { physnet1: "br-ex" },
      gateway: true,
      encapIp: "192.168.1.5",
    });
    s = applyChassisChange(s, { encapIp: null, gateway: null });
    assert.deepEqual(s, { bridgeMappings: { physnet1: "br-ex" }, gateway: false });
    assert.throws(() => applyChassisChange(s, { encapIp: "x" }), code("BAD_ADDRESS"));
    // Over the control API the values are whatever JSON a caller sent.
    assert.throws(
      () => applyChassisChange(s, { bridgeMappings: 5 as unknown as string }),
      code("BAD_BRIDGE_MAPPINGS"),
    );
    assert.throws(
      () => applyChassisChange(s, { encapIp: ["10.0.0.1"] as unknown as string }),
      code("BAD_ADDRESS"),
    );
  });

  it("turns chassis settings into ovn-controller's external_ids", () => {
    const base = {
      name: "n1",
      address: "10.0.0.1",
      sbRemotes: ["ssl:10.0.0.1:6642", "ssl:10.0.0.2:6642"],
      datapathType: "netdev" as const,
    };
    assert.deepEqual(
      Object.fromEntries(chassisExternalIds({ ...base, settings: defaultChassisSettings() })),
      {
        "system-id": "n1",
        hostname: "n1",
        "ovn-remote": "ssl:10.0.0.1:6642,ssl:10.0.0.2:6642",
        "ovn-encap-type": "geneve",
        "ovn-encap-ip": "10.0.0.1",
        "ovn-bridge-datapath-type": "netdev",
      },
    );
    const ids = chassisExternalIds({
      ...base,
      settings: { bridgeMappings: { physnet1: "br-ex" }, gateway: true, encapIp: "192.168.9.1" },
    });
    assert.equal(ids.get("ovn-encap-ip"), "192.168.9.1");
    assert.equal(ids.get("ovn-bridge-mappings"), "physnet1:br-ex");
    assert.equal(ids.get("ovn-cms-options"), "enable-chassis-as-gw");
  });

  it("gives each service set its certificates", () => {
    assert.deepEqual(certificateServices(["switch"]), ["client", "microovn"]);
    assert.deepEqual(certificateServices(["central", "switch", "chassis"]), [
      "ovnnb",
      "ovnsb",
      "ovn-northd",
      "ovn-controller",
      "client",
      "microovn",
    ]);
  });

  it("reads cluster/status", () => {
    const s = parseClusterStatus(
      [
        "3f67",
        "Name: OVN_Northbound",
        "Cluster ID: 6974 (6974bc68-96f6-4188-b958-a26c90c4e19a)",
        "Server ID: 3f67 (3f67eb8e-1368-4f6d-820a-df18e774cd68)",
        "Address: ssl:127.0.0.1:6643",
        "Status: cluster member",
        "Role: leader",
        "Term: 3",
        "Leader: self",
        "Servers:",
        "    3f67 (3f67 at ssl:127.0.0.1:6643) (self) next_index=2 match_index=4",
        "    a1b2 (a1b2 at ssl:127.0.0.2:6643) next_index=5 match_index=4",
        "",
      ].join("\n"),
    );
    assert.deepEqual(s, {
      serverId: "3f67",
      clusterId: "6974",
      status: "cluster member",
      role: "leader",
      term: 3,
      leader: "self",
      address: "ssl:127.0.0.1:6643",
      servers: 2,
    });
  });

  it("has package.json's version", () => {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as {
      version: string;
    };
    assert.equal(VERSION, pkg.version);
  });

  it("parses a service list, naming every word that is not a service", () => {
    assert.deepEqual(parseServiceList(["central", "chassis", "central"]), ["central", "chassis"]);
    assert.throws(
      () => parseServiceList(["foo", "central"]),
      (e: MicroOvnError) =>
        e.code === "UNKNOWN_SERVICE" &&
        e.message === '"foo" is not a service; choose from central, switch, chassis',
    );
    assert.throws(() => parseServiceList(["foo", "bar"]), /"foo", "bar" are not services/);
    assert.throws(() => parseServiceList([]), /no service given/);
  });
});
