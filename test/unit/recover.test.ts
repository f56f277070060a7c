/**
 * When `cluster recover` may run, decided from each database's Raft state
 * as this member's servers report it a few times over; which members it
 * keeps and which it removes; what it says.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeRecovery, describeRecoveryPlan } from "../../src/cli/format/recovery.js";
import {
  recoveryRefusal,
  sortSurvivors,
  type RaftSample,
  type RecoveryResult,
} from "../../src/lifecycle/recover.js";
import type { LayoutMember } from "../../src/cluster/layout.js";

const lost: RaftSample = { role: "candidate", leader: "unknown", servers: 3 };
const follower: RaftSample = { role: "follower", leader: "a1b2", servers: 3 };
const leader: RaftSample = { role: "leader", leader: "self", servers: 3 };

function databases(
  nb: readonly RaftSample[],
  sb: readonly RaftSample[] = [lost, lost, lost],
  state: readonly RaftSample[] = [lost, lost, lost],
) {
  return [
    { database: "OVN_Northbound", samples: nb },
    { database: "OVN_Southbound", samples: sb },
    { database: "MicroOVN", samples: state },
  ];
}

describe("whether recovery may run", () => {
  it("allows it when no database has had a leader in any sample", () => {
    assert.equal(recoveryRefusal(databases([lost, lost, lost])), undefined);
    // A follower that lost its leader says so as a follower too.
    const orphan: RaftSample = { role: "follower", leader: "unknown", servers: 3 };
    assert.equal(recoveryRefusal(databases([orphan, lost, lost])), undefined);
  });

  it("refuses while one database still has a leader, naming it and the way out", () => {
    const refusal = recoveryRefusal(databases([lost, lost, lost], [lost, follower, lost]));
    assert.match(refusal ?? "", /^OVN_Southbound still has a leader \(a1b2\)/);
    assert.match(refusal ?? "", /cluster remove NAME --force/);
    assert.match(refusal ?? "", /Nothing was changed$/);
  });

  it("refuses when this member is a leader, even in one sample only (it steps down later)", () => {
    const refusal = recoveryRefusal(databases([leader, lost, lost]));
    assert.match(refusal ?? "", /^OVN_Northbound still has a leader \(this member\)/);
  });

  it("refuses when a server does not answer: its state is unknown", () => {
    const refusal = recoveryRefusal(
      databases([lost, lost, lost], [lost, lost, lost], [lost, undefined]),
    );
    assert.match(refusal ?? "", /MicroOVN server does not answer.*Nothing was changed/);
    assert.match(recoveryRefusal(databases([])) ?? "", /OVN_Northbound server does not answer/);
  });

  it("refuses on a member that is alone in every cluster already", () => {
    const alone: RaftSample = { role: "candidate", leader: "unknown", servers: 1 };
    assert.match(
      recoveryRefusal(databases([alone], [alone], [alone])) ?? "",
      /only server of every database already/,
    );
  });
});

describe("whom recovery keeps", () => {
  const member = (
    name: string,
    role: LayoutMember["role"],
    services: LayoutMember["services"],
  ): LayoutMember => ({ name, address: "192.0.2.1", role, services });
  const layout = [
    member("m1", "voter", ["central", "chassis", "switch"]),
    member("m2", "voter", ["central", "chassis", "switch"]),
    member("m3", "voter", ["central", "chassis", "switch"]),
    member("m4", "spare", ["chassis", "switch"]),
    member("m5", "spare", ["chassis", "switch"]),
    member("m6", "spare", ["central", "chassis", "switch"]),
    member("m7", "voter", ["chassis", "switch"]),
  ];

  it("keeps the spares that answered, without central; everyone else is lost", () => {
    const all = new Set(layout.map((m) => m.name));
    // m6 holds NB and SB servers, m7 a state database server: lost although they answer.
    assert.deepEqual(sortSurvivors("m3", layout, all), {
      kept: ["m4", "m5"],
      lost: ["m1", "m2", "m6", "m7"],
    });
  });

  it("loses a spare that did not answer, and never lists this member", () => {
    assert.deepEqual(sortSurvivors("m3", layout.slice(0, 5), new Set(["m3", "m5"])), {
      kept: ["m5"],
      lost: ["m1", "m2", "m4"],
    });
    assert.deepEqual(sortSurvivors("m3", layout.slice(0, 3), new Set()), {
      kept: [],
      lost: ["m1", "m2"],
    });
  });
});

describe("recover output", () => {
  const result: RecoveryResult = {
    member: "m3",
    kept: ["m4", "m5"],
    lost: ["m1", "m2"],
    dropped: [],
    backup: "/var/lib/microovn/backup_1",
    clusterIds: { OVN_Northbound: "1a2b", OVN_Southbound: "3c4d", MicroOVN: "5e6f" },
    chassisDeleted: ["m1"],
    previousCa: "generated",
  };

  it("says what was done, whom it kept, where the old files are and what comes next", () => {
    const out = describeRecovery(result);
    assert.match(
      out,
      /^Recovered: m3 is the only database member of a new cluster \(OVN_Northbound 1a2b, /,
    );
    assert.match(
      out,
      /\nKept: m4, m5 \(certificates from the new CA, ovn-controller on the new SB\)\n/,
    );
    assert.match(out, /\nRemoved for good: m1, m2 \(chassis deleted: m1\)\n/);
    assert.doesNotMatch(out, /did not find the new cluster/);
    assert.match(out, /are in \/var\/lib\/microovn\/backup_1\.\n/);
    assert.match(out, /Wipe the state dir of every removed machine/);
    assert.doesNotMatch(out, /external/);
    assert.match(describeRecovery({ ...result, previousCa: "external" }), /set-ca` puts one back/);
    assert.match(describeRecovery({ ...result, kept: [] }), /\nKept: no other member\n/);
  });

  it("says which kept members were removed after all, having lost the new cluster", () => {
    const out = describeRecovery({
      ...result,
      kept: ["m4"],
      lost: ["m1", "m2", "m5"],
      dropped: ["m5"],
    });
    assert.match(out, /\nRemoved for good: m1, m2, m5 /);
    assert.match(
      out,
      /\nm5 answered before but did not find the new cluster in time, so it was removed too\.\n/,
    );
  });

  it("asks about every member it keeps and removes, and says when it finishes an earlier run", () => {
    assert.match(
      describeRecoveryPlan(result),
      /^m3 becomes .*\nKept: m4, m5 \(they answer .*\nRemoved for good: m1, m2 \(down, or holding/s,
    );
    const again = describeRecoveryPlan({ ...result, unfinished: "/x/backup_1" });
    assert.match(
      again,
      /^A recovery begun earlier stopped half way \(old files in \/x\/backup_1\)/,
    );
  });
});
