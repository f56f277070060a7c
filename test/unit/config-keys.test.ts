import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CENTRAL_IPS,
  OPENSTACK_API_DISTRIBUTED_FIPS,
  configKey,
  parseCentralIps,
} from "../../src/cluster/config-keys.js";
import { normalizeLayout, sameLayout } from "../../src/cluster/layout.js";

describe("cluster settings", () => {
  it("takes ovn.central-ips as a comma-separated list of IPv4 and IPv6 addresses", () => {
    assert.deepEqual(parseCentralIps("10.0.0.1"), ["10.0.0.1"]);
    assert.deepEqual(parseCentralIps(" 10.0.0.1, fd00::2 ,10.0.0.3"), [
      "10.0.0.1",
      "fd00::2",
      "10.0.0.3",
    ]);
    assert.equal(configKey(CENTRAL_IPS).check("10.0.0.1 ,10.0.0.2"), "10.0.0.1,10.0.0.2");
  });

  it("refuses anything else, naming the key and the bad entry", () => {
    for (const [value, why] of [
      ["", /at least one IP address/],
      ["10.0.0", /"10\.0\.0" is not an IP address/],
      ["10.0.0.1,,10.0.0.2", /"" is not an IP address/],
      ["central.example.com", /"central\.example\.com" is not an IP address/],
      ["10.0.0.1:6642", /is not an IP address/],
      ["10.0.0.1,10.0.0.1", /10\.0\.0\.1 is listed twice/],
    ] as const) {
      assert.throws(
        () => parseCentralIps(value),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "BAD_CONFIG_VALUE");
          assert.match(e.message, /^ovn\.central-ips cannot be/);
          assert.match(e.message, why);
          return true;
        },
      );
    }
  });

  it("takes true or false for openstack-api.distributed-floating-ips, and says so otherwise", () => {
    const key = configKey(OPENSTACK_API_DISTRIBUTED_FIPS);
    assert.equal(key.check("true"), "true");
    assert.equal(key.check("false"), "false");
    for (const bad of ["yes", "", "TRUE "]) {
      assert.throws(
        () => key.check(bad),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "BAD_CONFIG_VALUE");
          assert.match(e.message, /^openstack-api\.distributed-floating-ips cannot be/);
          assert.match(e.message, /choose one of true, false/);
          return true;
        },
      );
    }
  });

  it("refuses unknown keys, listing the known ones", () => {
    assert.throws(
      () => configKey("ovn.centrals"),
      /"ovn\.centrals" is not a setting; known: ovn\.central-ips/,
    );
  });

  it("keeps settings in the layout's canonical form, so a change is a layout change", () => {
    const members = [{ name: "m1", address: "10.0.0.1", role: "voter" as const, services: [] }];
    const plain = normalizeLayout(members);
    assert.equal(plain.config, undefined);
    const set = normalizeLayout(members, { b: "2", [CENTRAL_IPS]: "10.1.0.1" });
    assert.deepEqual(Object.keys(set.config!), ["b", CENTRAL_IPS]);
    assert.ok(!sameLayout(plain, set));
    assert.ok(sameLayout(set, normalizeLayout(members, { [CENTRAL_IPS]: "10.1.0.1", b: "2" })));
  });
});
