import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatStatus } from "../../src/cli/format/status.js";
import { CONFIG_KEYS, ELECTION_TIMER, parseElectionTimer } from "../../src/cluster/config-keys.js";
import type { StatusReport } from "../../src/daemon/status.js";
import {
  DEFAULT_ELECTION_TIMER_MS,
  MAX_ELECTION_TIMER_MS,
  MIN_ELECTION_TIMER_MS,
  electionTimerSteps,
} from "../../src/ovn/election-timer.js";
import { parseClusterStatus } from "../../src/ovn/raft.js";

describe("election timer steps", () => {
  it("doubles on the way up, landing on the target", () => {
    assert.deepEqual(electionTimerSteps(1000, 16000), [2000, 4000, 8000, 16000]);
    assert.deepEqual(electionTimerSteps(1000, 5000), [2000, 4000, 5000]);
    assert.deepEqual(electionTimerSteps(1000, 2000), [2000]);
    assert.deepEqual(electionTimerSteps(1000, 1500), [1500]);
    assert.deepEqual(electionTimerSteps(1000, 60000), [2000, 4000, 8000, 16000, 32000, 60000]);
  });

  it("goes down in one step (OVN takes any decrease), and not at all when there", () => {
    assert.deepEqual(electionTimerSteps(16000, 1000), [1000]);
    assert.deepEqual(electionTimerSteps(4000, 4000), []);
  });

  it("never asks more than twice the value before", () => {
    for (const [from, to] of [
      [1000, 60000],
      [1234, 59999],
      [3000, 7000],
    ] as const) {
      let before: number = from;
      for (const step of electionTimerSteps(from, to)) {
        assert.ok(step <= before * 2, `${before} → ${step}`);
        before = step;
      }
      assert.equal(before, to);
    }
  });

  it("refuses values that are no timers", () => {
    assert.throws(() => electionTimerSteps(0, 1000), RangeError);
    assert.throws(() => electionTimerSteps(1000, Number.NaN), RangeError);
  });
});

describe("ovn.election-timer", () => {
  it("takes whole milliseconds within 1000–60000, in canonical form", () => {
    const check = (value: string) => CONFIG_KEYS[ELECTION_TIMER]!.check(value);
    assert.equal(check("1000"), "1000");
    assert.equal(check(" 60000 "), "60000");
    assert.equal(check("04000"), "4000");
    assert.equal(parseElectionTimer(`${DEFAULT_ELECTION_TIMER_MS}`), DEFAULT_ELECTION_TIMER_MS);
    assert.ok(DEFAULT_ELECTION_TIMER_MS >= MIN_ELECTION_TIMER_MS);
    assert.ok(DEFAULT_ELECTION_TIMER_MS <= MAX_ELECTION_TIMER_MS);
  });

  it("refuses anything else, saying what to give", () => {
    for (const bad of ["999", "60001", "0", "-2000", "2s", "1e4", "2000.5", "", "abc"]) {
      assert.throws(
        () => CONFIG_KEYS[ELECTION_TIMER]!.check(bad),
        (e: Error & { code?: string }) =>
          e.code === "BAD_CONFIG_VALUE" &&
          e.message.includes(ELECTION_TIMER) &&
          /whole milliseconds from 1000 to 60000/.test(e.message),
        bad,
      );
    }
  });
});

describe("election timer in status", () => {
  it("is read from cluster/status", () => {
    const text = [
      "Role: leader",
      "Term: 3",
      "Last Election won: 2025 ms ago",
      "Election timer: 4000",
      "Log: [2, 9]",
    ].join("\n");
    assert.equal(parseClusterStatus(text).electionTimerMs, 4000);
    assert.equal(parseClusterStatus("Role: leader\n").electionTimerMs, undefined);
  });

  it("is shown for each database whose server runs here", () => {
    const raft = parseClusterStatus("Role: leader\nTerm: 2\nElection timer: 4000\n");
    const report: StatusReport = {
      bootstrapped: true,
      members: [{ name: "m1", address: "10.0.0.1", role: "voter", services: ["central"] }],
      databases: [
        { title: "OVN Northbound", database: "OVN_Northbound", runningSchema: "7.0.0", raft },
        {
          title: "OVN Southbound",
          database: "OVN_Southbound",
          runningSchema: "20.27.0",
          raft: { ...raft, electionTimerMs: 8000 },
        },
      ],
      processes: [],
      certificates: [],
      problems: [],
    };
    assert.match(
      formatStatus(report),
      /\nElection timer: OVN Northbound 4000 ms, OVN Southbound 8000 ms\n/,
    );
    const noRaft = { ...report, databases: report.databases.map(({ raft: _, ...db }) => db) };
    assert.doesNotMatch(formatStatus(noRaft), /Election timer/);
  });
});
