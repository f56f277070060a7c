/**
 * The pure parts of agents and availability zones: the alive rule, when
 * nb_cfg is raised again, what a chassis' ovn-cms-options say, and the
 * `chassis set availability-zones` setting that writes them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroOvnError } from "../../src/errors.js";
import { applyChassisChange } from "../../src/lifecycle/chassis-settings.js";
import { parseAvailabilityZones, type ChassisSettings } from "../../src/member/config.js";
import { chassisExternalIds } from "../../src/ovn/chassis.js";
import {
  AGENT_DOWN_TIME_S,
  isAlive,
  pingDue,
} from "../../src/openstack/networking/agents/alive.js";
import { agentTime } from "../../src/openstack/networking/agents/agents.js";
import { availabilityZones } from "../../src/openstack/networking/agents/availability-zones.js";
import {
  availabilityZonesOf,
  isGatewayChassis,
} from "../../src/openstack/networking/agents/chassis-options.js";

const NOW = Date.parse("2026-11-29T12:00:00Z");

function chassis(cms: string | undefined, where: "other_config" | "external_ids" = "other_config") {
  const options = new Map(cms === undefined ? [] : [["ovn-cms-options", cms]]);
  return where === "other_config"
    ? { other_config: options, external_ids: new Map<string, string>() }
    : { other_config: new Map<string, string>(), external_ids: options };
}

describe("the alive rule", () => {
  const since = (s: number) => NOW - s * 1000;

  it("holds while the chassis is at most one raise behind, however old its answer", () => {
    for (const behind of [0, 1]) {
      assert.equal(
        isAlive({
          globalNbCfg: 10,
          chassis: { nbCfg: 10 - behind, nbCfgTimestampMs: since(3600) },
          nowMs: NOW,
        }),
        true,
      );
    }
  });

  it("holds further behind only while the last answer is younger than agent_down_time", () => {
    const chassisAt = (ago: number) => ({ nbCfg: 7, nbCfgTimestampMs: since(ago) });
    assert.equal(isAlive({ globalNbCfg: 10, chassis: chassisAt(10), nowMs: NOW }), true);
    assert.equal(
      isAlive({ globalNbCfg: 10, chassis: chassisAt(AGENT_DOWN_TIME_S - 1), nowMs: NOW }),
      true,
    );
    assert.equal(
      isAlive({ globalNbCfg: 10, chassis: chassisAt(AGENT_DOWN_TIME_S), nowMs: NOW }),
      false,
    );
    assert.equal(
      isAlive({ globalNbCfg: 10, chassis: chassisAt(30), nowMs: NOW, downTimeS: 20 }),
      false,
    );
  });

  it("never holds for a chassis without Chassis_Private", () => {
    assert.equal(isAlive({ globalNbCfg: 0, chassis: undefined, nowMs: NOW }), false);
  });

  it("raises nb_cfg first, then again only after half agent_down_time", () => {
    assert.equal(pingDue(undefined, NOW), true);
    assert.equal(pingDue("not a time", NOW), true);
    const half = Math.floor(AGENT_DOWN_TIME_S / 2) * 1000;
    assert.equal(pingDue(new Date(NOW - half + 1000).toISOString(), NOW), false);
    assert.equal(pingDue(new Date(NOW - half).toISOString(), NOW), true);
  });

  it("writes times as Neutron's agents show them", () => {
    assert.equal(agentTime(NOW + 123), "2026-11-29 12:00:00");
  });
});

describe("ovn-cms-options", () => {
  it("makes a gateway of enable-chassis-as-gw among other options, in either column", () => {
    assert.equal(isGatewayChassis(chassis("enable-chassis-as-gw")), true);
    assert.equal(isGatewayChassis(chassis("foo, enable-chassis-as-gw", "external_ids")), true);
    assert.equal(isGatewayChassis(chassis("enable-chassis-as-gw-not")), false);
    assert.equal(isGatewayChassis(chassis(undefined)), false);
  });

  it("reads availability-zones=a:b, each zone once, blanks dropped", () => {
    assert.deepEqual(availabilityZonesOf(chassis("availability-zones=az1:az2")), ["az1", "az2"]);
    assert.deepEqual(
      availabilityZonesOf(chassis("enable-chassis-as-gw,availability-zones= az2 ::az1:az2")),
      ["az2", "az1"],
    );
    assert.deepEqual(availabilityZonesOf(chassis("availability-zones=")), []);
    assert.deepEqual(availabilityZonesOf(chassis("availability-zones")), []);
    assert.deepEqual(availabilityZonesOf(chassis(undefined)), []);
  });

  it("lists every chassis' zones for networks and gateways' for routers too, once each", () => {
    const zones = availabilityZones([
      chassis("availability-zones=b:a"),
      chassis("enable-chassis-as-gw,availability-zones=b"),
      chassis("enable-chassis-as-gw,availability-zones=b:c"),
    ]);
    assert.deepEqual(
      zones.map((z) => `${z.name}/${z.resource}/${z.state}`),
      [
        "a/network/available",
        "b/network/available",
        "b/router/available",
        "c/network/available",
        "c/router/available",
      ],
    );
  });
});

describe("the availability-zones chassis setting", () => {
  const identity = (settings: ChassisSettings) => ({
    name: "node1",
    address: "10.0.0.1",
    sbRemotes: ["ssl:10.0.0.1:6642"],
    datapathType: "netdev" as const,
    settings,
  });

  it("writes the zones into ovn-cms-options, with the gateway option or alone", () => {
    let s: ChassisSettings = { bridgeMappings: {}, gateway: true };
    s = applyChassisChange(s, { availabilityZones: "az1:az2" });
    assert.deepEqual(s.availabilityZones, ["az1", "az2"]);
    const ids = chassisExternalIds(identity(s));
    assert.equal(ids.get("ovn-cms-options"), "enable-chassis-as-gw,availability-zones=az1:az2");
    assert.deepEqual(availabilityZonesOf({ other_config: ids, external_ids: new Map() }), [
      "az1",
      "az2",
    ]);
    s = applyChassisChange(s, { gateway: false });
    assert.equal(
      chassisExternalIds(identity(s)).get("ovn-cms-options"),
      "availability-zones=az1:az2",
    );
    s = applyChassisChange(s, { availabilityZones: null });
    assert.equal(s.availabilityZones, undefined);
    assert.equal(chassisExternalIds(identity(s)).has("ovn-cms-options"), false);
  });

  it("refuses names the option cannot carry, saying what a name may be", () => {
    const s: ChassisSettings = { bridgeMappings: {}, gateway: false };
    for (const bad of ["", "az1,az2", "az1::az2", "a=b", "zone one", "az1:az1", "-az"]) {
      assert.throws(
        () => applyChassisChange(s, { availabilityZones: bad }),
        (e: unknown) =>
          e instanceof MicroOvnError &&
          e.code === "BAD_AVAILABILITY_ZONES" &&
          /availability zone name|named twice/.test(e.message),
        bad,
      );
    }
    assert.deepEqual(parseAvailabilityZones(" az1 : z-2.b_c "), ["az1", "z-2.b_c"]);
  });
});
