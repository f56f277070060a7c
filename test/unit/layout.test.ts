import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  databaseRemotes,
  normalizeLayout,
  raftPeers,
  sameLayout,
  stateDbRaftPeers,
  stateDbRemotes,
  type LayoutMember,
} from "../../src/cluster/layout.js";
import { memberStatus, OFFLINE_AFTER_MS } from "../../src/cluster/members.js";
import { parseLifetime } from "../../src/lifecycle/add.js";

const members: LayoutMember[] = [
  { name: "m4", address: "10.0.0.4", role: "spare", services: ["switch", "chassis"] },
  { name: "m1", address: "10.0.0.1", role: "voter", services: ["switch", "central", "chassis"] },
  { name: "m2", address: "fd00::2", role: "voter", services: ["central", "switch", "chassis"] },
];

describe("cluster layout", () => {
  it("has one canonical form, so equal layouts compare equal", () => {
    const layout = normalizeLayout(members);
    assert.deepEqual(
      layout.members.map((m) => m.name),
      ["m1", "m2", "m4"],
    );
    assert.deepEqual(layout.members[0]!.services, ["central", "chassis", "switch"]);
    assert.ok(sameLayout({ members }, { members: [...members].reverse() }));
    assert.ok(!sameLayout({ members }, { members: members.slice(1) }));
    const moved = members.map((m) => (m.name === "m4" ? { ...m, address: "10.0.0.40" } : m));
    assert.ok(!sameLayout({ members }, { members: moved }));
  });

  it("derives database remotes and Raft peers from centrals and voters", () => {
    const layout = normalizeLayout(members);
    assert.deepEqual(databaseRemotes(layout, "sb"), ["ssl:10.0.0.1:6642", "ssl:[fd00::2]:6642"]);
    assert.deepEqual(databaseRemotes(layout, "nb"), ["ssl:10.0.0.1:6641", "ssl:[fd00::2]:6641"]);
    assert.deepEqual(raftPeers(layout, "nb", "m1"), ["ssl:[fd00::2]:6643"]);
    assert.deepEqual(raftPeers(layout, "sb", "m4"), ["ssl:10.0.0.1:6644", "ssl:[fd00::2]:6644"]);
    assert.deepEqual(stateDbRemotes(layout), ["ssl:10.0.0.1:6649", "ssl:[fd00::2]:6649"]);
    assert.deepEqual(stateDbRaftPeers(layout, "m2"), ["ssl:10.0.0.1:6650"]);
  });

  it("calls a member OFFLINE once its heartbeat is older than the limit", () => {
    const now = 1_000_000;
    assert.equal(memberStatus({ heartbeat: now - 1000 }, now), "ONLINE");
    assert.equal(memberStatus({ heartbeat: now - OFFLINE_AFTER_MS }, now), "ONLINE");
    assert.equal(memberStatus({ heartbeat: now - OFFLINE_AFTER_MS - 1 }, now), "OFFLINE");
  });
});

describe("token lifetimes", () => {
  it("reads seconds and s, m, h, d", () => {
    assert.equal(parseLifetime("90"), 90);
    assert.equal(parseLifetime("30m"), 1800);
    assert.equal(parseLifetime("3h"), 10800);
    assert.equal(parseLifetime("2d"), 172800);
  });

  it("refuses nonsense, zero and more than 30 days", () => {
    for (const bad of ["", "forever", "0", "-5", "1.5h", "31d"]) {
      assert.throws(() => parseLifetime(bad), /is not a token lifetime/, bad);
    }
  });
});
