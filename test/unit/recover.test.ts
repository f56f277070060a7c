/**
 * When `cluster recover` may run, decided from each database's Raft state
 * as this member's servers report it a few times over; what it says.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeRecovery, describeRecoveryPlan } from "../../src/cli/format/recovery.js";
import {
  recoveryRefusal,
  type RaftSample,
  type RecoveryResult,
} from "../../src/lifecycle/recover.js";

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

describe("recover output", () => {
  const result: RecoveryResult = {
    member: "m3",
    lost: ["m1", "m2"],
    backup: "/var/lib/microovn/backup_1",
    clusterIds: { OVN_Northbound: "1a2b", OVN_Southbound: "3c4d", MicroOVN: "5e6f" },
    chassisDeleted: ["m1"],
    previousCa: "generated",
  };

  it("says what was done, where the old files are and what comes next", () => {
    const out = describeRecovery(result);
    assert.match(out, /^Recovered: m3 is the only member of a new cluster \(OVN_Northbound 1a2b, /);
    assert.match(out, /\nRemoved for good: m1, m2 \(chassis deleted: m1\)\n/);
    assert.match(out, /are in \/var\/lib\/microovn\/backup_1\.\n/);
    assert.match(out, /Wipe the state dir of every removed machine/);
    assert.doesNotMatch(out, /external/);
    assert.match(describeRecovery({ ...result, previousCa: "external" }), /set-ca` puts one back/);
  });

  it("asks about every member it removes, and says when it finishes an earlier run", () => {
    assert.match(describeRecoveryPlan(result), /^m3 becomes .*Removed for good: m1, m2 /s);
    const again = describeRecoveryPlan({ ...result, unfinished: "/x/backup_1" });
    assert.match(
      again,
      /^A recovery begun earlier stopped half way \(old files in \/x\/backup_1\)/,
    );
  });
});
