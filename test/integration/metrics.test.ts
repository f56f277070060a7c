/**
 * One real member's /metrics: it answers on 127.0.0.1:9310 with every
 * program's metrics, promtool accepts it, `metrics.address` moves it live
 * (HTTPS with the member's certificate off loopback, plain HTTP when
 * metrics.tls is off, nothing at all with off), a bad value is refused and
 * changes nothing, and the OpenStack API's request durations arrive
 * labelled by route pattern.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestMember } from "../helpers/member.js";
import {
  NO_PROMTOOL,
  fetchIn,
  parseSamples,
  promtoolProblems,
  type Sample,
} from "../helpers/metrics.js";
import { waitFor } from "../helpers/wait.js";

const DEFAULT_URL = "http://127.0.0.1:9310/metrics";

describe("metrics of one member", { timeout: 240_000 }, () => {
  let m: TestMember;
  let caEnv: Record<string, string>;

  const scrape = (url = DEFAULT_URL) => fetchIn(m.namespace, url, caEnv);
  const has = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
    samples.some(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
  /** Waits until `url` answers, or (with `gone`) until it no longer does. */
  const waitServed = (url: string, gone = false) =>
    waitFor(
      `${url} ${gone ? "closed" : "served"}`,
      async () => {
        const ok = await scrape(url).then(
          () => true,
          () => false,
        );
        return ok !== gone;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );

  before(async () => {
    m = await TestMember.create("metr");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    caEnv = { NODE_EXTRA_CA_CERTS: m.path("data", "pki", "cacert.pem") };
  });

  after(async () => {
    await m.cleanup();
  });

  it("serves every program's metrics on 127.0.0.1:9310", async () => {
    const samples = await waitFor(
      "ovn-controller connected on /metrics",
      async () => {
        const s = parseSamples(await scrape());
        return (
          s.some(
            (x) => x.name === "ovn_controller_southbound_database_connected" && x.value === 1,
          ) && s
        );
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    for (const db of ["OVN_Northbound", "OVN_Southbound"]) {
      assert.ok(
        has(samples, "ovn_db_cluster_server_role", { db_name: db, server_role: "leader" }),
        db,
      );
      assert.ok(has(samples, "ovn_db_db_size_bytes", { db_name: db }), db);
      assert.ok(has(samples, "ovn_db_jsonrpc_server_sessions", { db_name: db }), db);
    }
    assert.ok(
      has(samples, "microovn_db_cluster_server_role", {
        db_name: "MicroOVN",
        server_role: "leader",
      }),
    );
    for (const name of [
      "ovn_northd_status",
      "ovn_northd_nb_connection_status",
      "ovn_northd_sb_connection_status",
      "ovn_northd_ovnnb_db_run_95th_percentile",
      "ovn_controller_integration_bridge_openflow_total",
      "ovn_controller_build_info",
      "ovn_db_build_info",
      "ovs_build_info",
      "ovs_vswitchd_bridge_flows_total",
      "ovs_vswitchd_bridge_ports_total",
      "microovn_join_duration_seconds",
    ]) {
      assert.ok(has(samples, name), name);
    }
    assert.ok(has(samples, "ovn_controller_encap_ip", { ipaddress: "127.0.0.1" }));
    assert.ok(has(samples, "microovn_member_up", { member: "node1" }));
    assert.ok(has(samples, "microovn_process_up", { process: "ovn-controller" }));
    const expiry = samples.find(
      (s) =>
        s.name === "microovn_certificate_expiry_timestamp_seconds" && s.labels.service === "ovnnb",
    );
    assert.ok(
      expiry && expiry.value * 1000 > Date.now() + 300 * 24 * 3600 * 1000,
      "ovnnb expires in a year or more",
    );
    const joined = samples.find((s) => s.name === "microovn_join_duration_seconds");
    assert.equal(joined?.labels.how, "bootstrap");
    assert.ok(joined.value > 0 && joined.value < 60, `bootstrap took ${joined.value} s`);
  });

  it("passes promtool check metrics", { skip: NO_PROMTOOL }, async () => {
    assert.equal(await promtoolProblems(await scrape()), "");
  });

  it("moves with metrics.address: HTTPS off loopback, plain with metrics.tls off, gone with off", async () => {
    await m.ok(["config", "set", "metrics.address", "member:9311"]);
    // The member's address is 127.0.0.1, but `member` is never taken for loopback: HTTPS.
    await waitServed("https://127.0.0.1:9311/metrics");
    await waitServed(DEFAULT_URL, true);
    assert.match(await scrape("https://127.0.0.1:9311/metrics"), /^ovn_northd_status 1$/m);
    await assert.rejects(
      fetchIn(m.namespace, "https://127.0.0.1:9311/metrics"),
      "not trusted without the cluster CA",
    );

    await m.ok(["config", "set", "metrics.tls", "off"]);
    await waitServed("http://127.0.0.1:9311/metrics");

    await m.ok(["config", "set", "metrics.address", "off"]);
    await waitServed("http://127.0.0.1:9311/metrics", true);

    await m.ok(["config", "delete", "metrics.address"]);
    await m.ok(["config", "delete", "metrics.tls"]);
    await waitServed(DEFAULT_URL);
  });

  it("refuses a bad metrics.address, saying what to give, and changes nothing", async () => {
    for (const bad of ["10.1.2.3:9310", "member", "0.0.0.0:99999"]) {
      const r = await m.cli(["config", "set", "metrics.address", bad]);
      assert.notEqual(r.exitCode, 0, bad);
      assert.match(r.stderr, /metrics\.address cannot be/);
      assert.match(r.stderr, /member:9310/);
    }
    const r = await m.cli(["config", "get", "metrics.address"]);
    assert.doesNotMatch(r.stdout, /10\.1\.2\.3|99999/);
    assert.match(await scrape(), /^ovn_northd_status 1$/m);
  });

  it("a taken port keeps the daemon up, and status says so until the port is free", async () => {
    // NB listens on 127.0.0.1:6641 in the member's namespace.
    await m.ok(["config", "set", "metrics.address", "127.0.0.1:6641"]);
    await waitFor(
      "status naming the taken port",
      async () =>
        /metrics cannot listen on 127\.0\.0\.1:6641.*free the port/.test(await m.ok(["status"])),
      { timeoutMs: 20_000, intervalMs: 300 },
    );
    const report = JSON.parse(await m.ok(["status", "--json"])) as { problems: string[] };
    assert.ok(
      report.problems.some((p) => /EADDRINUSE/.test(p)),
      report.problems.join("; "),
    );
    await m.ok(["config", "delete", "metrics.address"]);
    await waitServed(DEFAULT_URL);
    await waitFor(
      "status without the metrics problem",
      async () => !/metrics cannot listen on/.test(await m.ok(["status"])),
      { timeoutMs: 20_000, intervalMs: 300 },
    );
  });

  it("carries the OpenStack API's request durations, labelled by route pattern", async () => {
    await m.ok(["enable", "openstack-api"]);
    const networkId = "3f1c2b9e-0000-4000-8000-000000000001";
    await waitFor(
      "the Networking API answering",
      () =>
        fetchIn(m.namespace, `https://127.0.0.1:9696/v2.0/networks/${networkId}`, caEnv).then(
          () => true,
          // Refused without a token (exit 1) is an answer; no connection (exit 2) is not.
          (e: Error) => /exit status 1/.test(e.message),
        ),
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await fetchIn(m.namespace, "https://127.0.0.1:5000/v3", caEnv);
    const samples = await waitFor(
      "request durations on /metrics",
      async () => {
        const s = parseSamples(await scrape());
        return (
          has(s, "microovn_openstack_api_request_duration_seconds_count", { route: "/v3" }) && s
        );
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const routes = samples
      .filter((s) => s.name === "microovn_openstack_api_request_duration_seconds_count")
      .map((s) => s.labels.route!);
    assert.ok(
      routes.some((r) => /^\/v2\.0\/networks\/:\w+$/.test(r)),
      routes.join(", "),
    );
    assert.ok(!routes.some((r) => r.includes(networkId)), "no id in a label");
    if (!NO_PROMTOOL) assert.equal(await promtoolProblems(await scrape()), "");
  });
});
