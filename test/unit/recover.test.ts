/**
 * When `cluster recover` may run, decided from each database's Raft state
 * as this member's servers report it a few times over.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { recoveryRefusal, type RaftSample } from "../../src/lifecycle/recover.js";

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
