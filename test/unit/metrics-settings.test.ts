/**
 * metrics.address and metrics.tls: what a member listens on, and the
 * values refused with a sentence saying what to give.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { METRICS_ADDRESS, METRICS_TLS, configKey } from "../../src/cluster/config-keys.js";
import { parseListenAddress } from "../../src/cluster/listen-address.js";
import { MetricSet } from "../../src/metrics/metric-set.js";

describe("metrics settings", () => {
  it("takes wildcards, loopback, member and off, in their canonical form", () => {
    const check = (v: string) => configKey(METRICS_ADDRESS).check(v);
    assert.equal(check("0.0.0.0:9310"), "0.0.0.0:9310");
    assert.equal(check(" [::]:9100 "), "[::]:9100");
    assert.equal(check("member:9310"), "member:9310");
    assert.equal(check("127.0.0.1:19310"), "127.0.0.1:19310");
    assert.equal(check("[::1]:9310"), "[::1]:9310");
    assert.equal(check("off"), "off");
    assert.deepEqual(parseListenAddress("member:9310"), {
      off: false,
      host: "member",
      port: 9310,
      loopback: false,
    });
    assert.equal((parseListenAddress("127.0.0.2:1") as { loopback: boolean }).loopback, true);
    assert.equal(configKey(METRICS_TLS).check("off"), "off");
  });

  it("refuses anything else, saying what to give", () => {
    for (const [value, why] of [
      ["10.0.0.1:9310", /one machine's address, but the setting applies to every member/],
      ["9310", /give HOST:PORT/],
      ["member", /give HOST:PORT/],
      ["0.0.0.0:0", /port 0 is not from 1 to 65535/],
      ["0.0.0.0:70000", /port 70000 is not from 1 to 65535/],
      ["::1:9310", /give HOST:PORT/],
      ["[10.0.0.1]:9310", /is not an IPv6 address/],
      ["example.com:9310", /"example\.com" is not an IP address/],
      ["", /give HOST:PORT/],
    ] as const) {
      assert.throws(
        () => configKey(METRICS_ADDRESS).check(value),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "BAD_CONFIG_VALUE");
          assert.match(e.message, /^metrics\.address cannot be/);
          assert.match(e.message, why);
          assert.match(e.message, /member:9310/);
          return true;
        },
        value,
      );
    }
    assert.throws(() => configKey(METRICS_TLS).check("yes"), /choose one of on, off/);
  });

  it("types names ending in _total as counters, so promtool accepts them", async () => {
    const set = new MetricSet();
    set.gauge("ovs_vswitchd_bridge_flows_total", "flows", 11, { bridge: "br-int" });
    set.gauge("ovn_northd_status", "status", 1);
    const text = await set.registry.metrics();
    assert.match(text, /^# TYPE ovs_vswitchd_bridge_flows_total counter$/m);
    assert.match(text, /^ovs_vswitchd_bridge_flows_total\{bridge="br-int"\} 11$/m);
    assert.match(text, /^# TYPE ovn_northd_status gauge$/m);
  });
});
