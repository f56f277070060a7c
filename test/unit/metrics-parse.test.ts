/**
 * The parsers of src/metrics/read/parse.ts, fed with what OVN 23.03 and
 * OVS 3.1 printed on this machine (test/fixtures/metrics/).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  parseCounts,
  parseCoverage,
  parseDpifShow,
  parseFlowCount,
  parseNorthdStatus,
  parseRaftMetrics,
  parseStopwatches,
  parseVersion,
} from "../../src/metrics/read/parse.js";

function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/metrics/${name}`, import.meta.url), "utf8");
}

describe("metrics parsers", () => {
  it("reads a one-server cluster/status: full ids, role, term, log, no connections", () => {
    const raft = parseRaftMetrics(fixture("cluster-status-one.txt"));
    assert.deepEqual(raft, {
      clusterId: "09fe526a-58e8-4bcb-9aff-02220c5f1789",
      serverId: "f1ba6016-9b8a-477f-89f5-c352d7f4d5a5",
      status: "cluster member",
      role: "leader",
      term: 2,
      electionTimerMs: 2000,
      logIndexStart: 2,
      logIndexNext: 5,
      logNotCommitted: 0,
      logNotApplied: 0,
      inbound: 0,
      outbound: 0,
      inboundErrors: 0,
      outboundErrors: 0,
    });
  });

  it("reads a follower of three: its connections to and from the others", () => {
    const raft = parseRaftMetrics(fixture("cluster-status-three.txt"))!;
    assert.equal(raft.role, "follower");
    assert.equal(raft.status, "cluster member");
    assert.deepEqual(
      [raft.outbound, raft.inbound, raft.outboundErrors, raft.inboundErrors],
      [2, 2, 0, 0],
    );
  });

  it("counts Raft connections by direction, failed ones apart", () => {
    const text = fixture("cluster-status-one.txt").replace(
      "Connections:",
      "Connections: ->0000 <-5b2e ->5b2e (->a1b2) (<-c3d4) <-9f00",
    );
    const raft = parseRaftMetrics(text)!;
    assert.deepEqual(
      [raft.outbound, raft.inbound, raft.outboundErrors, raft.inboundErrors],
      [2, 2, 1, 1],
    );
  });

  it("gives nothing for text that is no cluster/status", () => {
    assert.equal(parseRaftMetrics("ovsdb-server: unknown command"), undefined);
    assert.equal(parseRaftMetrics(""), undefined);
  });

  it("reads memory/show counts", () => {
    const counts = parseCounts(fixture("ovsdb-memory.txt"));
    assert.equal(counts.get("sessions"), 2);
    assert.equal(counts.get("monitors"), 3);
    assert.equal(parseCounts(fixture("vswitchd-memory.txt")).get("rules"), 15);
  });

  it("reads coverage totals", () => {
    const totals = parseCoverage(fixture("northd-coverage.txt"));
    assert.equal(totals.get("txn_success"), 2);
    assert.equal(totals.get("txn_unchanged"), 44);
    assert.equal(totals.has("events"), false);
  });

  it("reads every stopwatch with its statistics", () => {
    const watches = parseStopwatches(fixture("northd-stopwatch.txt"));
    assert.equal(watches.size, 12);
    assert.deepEqual(watches.get("ovn-northd-loop"), {
      samples: 29,
      maximum: 5,
      minimum: 0,
      percentile95: 1,
      shortTermAverage: 0,
      longTermAverage: 3.789236,
    });
  });

  it("reads bridges and typed ports from dpif/show", () => {
    assert.deepEqual(parseDpifShow(fixture("dpif-show.txt")), [
      { name: "br-int", ports: [{ name: "br-int", type: "tap" }] },
    ]);
    assert.deepEqual(
      parseDpifShow(fixture("dpif-show-three.txt")).map((b) => [
        b.name,
        b.ports.map((p) => p.type),
      ]),
      [
        ["br-int", ["tap", "geneve", "geneve"]],
        ["br-phy", ["tap", "system"]],
      ],
    );
    const text = [
      "netdev@ovs-netdev: hit:10 missed:2",
      "  br-int:",
      "    br-int 65534/1: (tap)",
      "    ovn-m2-0 1/2: (geneve: csum=true, key=flow, remote_ip=198.18.0.3)",
      "    patch-br-int-to-ln 2/none: (patch: peer=patch-ln-to-br-int)",
      "  br-phy:",
      "    br-phy 65534/3: (tap)",
      "    eth1 1/4: (system)",
    ].join("\n");
    const bridges = parseDpifShow(text);
    assert.deepEqual(
      bridges.map((b) => [b.name, b.ports.map((p) => p.type)]),
      [
        ["br-int", ["tap", "geneve", "patch"]],
        ["br-phy", ["tap", "system"]],
      ],
    );
  });

  it("reads dump-aggregate's flow count, versions and northd's status", () => {
    assert.equal(
      parseFlowCount("NXST_AGGREGATE reply (xid=0x4): packet_count=0 byte_count=0 flow_count=11"),
      11,
    );
    assert.equal(parseFlowCount("ovs-ofctl: br-int is not a bridge or a socket"), undefined);
    assert.deepEqual(parseVersion(fixture("controller-version.txt")), {
      version: "23.03.1",
      ovsLibrary: "3.1.0",
    });
    assert.deepEqual(parseVersion("ovs-vswitchd (Open vSwitch) 3.1.0\n"), { version: "3.1.0" });
    assert.equal(parseNorthdStatus("Status: standby\n"), "standby");
    assert.equal(parseNorthdStatus("connected"), undefined);
  });
});
