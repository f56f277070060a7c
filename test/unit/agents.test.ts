/**
 * The pure parts of agents and availability zones: the alive rule, when
 * nb_cfg is raised again, and what a chassis' ovn-cms-options say.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
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
