/**
 * Rescheduling a gateway, pure: which Gateway_Chassis rows go, which
 * priorities change and which rows come when the qualifying chassis
 * change; the active (highest priority) chassis never moves while it
 * still qualifies.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isEmptyPlan,
  planGatewayChassis,
  type CurrentGatewayChassis,
} from "../../src/openstack/networking/routers/gateway-schedule.js";

const LRP = "lrp-p1";

function row(chassis: string, priority: number): CurrentGatewayChassis {
  return {
    uuid: `u-${chassis}-${priority}`,
    name: `${LRP}_${chassis}`,
    chassis_name: chassis,
    priority,
  };
}

/** The rows after the plan, highest priority first, as `chassis:priority`. */
function after(current: CurrentGatewayChassis[], candidates: string[]): string[] {
  const plan = planGatewayChassis(LRP, current, candidates);
  const rows = current
    .filter((r) => !plan.remove.includes(r.uuid))
    .map((r) => ({
      chassis: r.chassis_name,
      priority: plan.reprioritize.find((p) => p.uuid === r.uuid)?.priority ?? r.priority,
    }))
    .concat(plan.add.map((a) => ({ chassis: a.chassis_name, priority: a.priority })));
  const priorities = rows.map((r) => r.priority);
  assert.equal(new Set(priorities).size, priorities.length, `distinct: ${priorities.join(",")}`);
  assert.ok(
    priorities.every((p) => p >= 1 && p <= 32767),
    `in range: ${priorities.join(",")}`,
  );
  return rows.sort((a, b) => b.priority - a.priority).map((r) => `${r.chassis}:${r.priority}`);
}

describe("gateway rescheduling", () => {
  it("changes nothing while the same chassis qualify, whatever order SB lists them in", () => {
    const current = [row("c1", 2), row("c2", 1)];
    assert.ok(isEmptyPlan(planGatewayChassis(LRP, current, ["c2", "c1"])));
    assert.ok(isEmptyPlan(planGatewayChassis(LRP, [], [])));
  });

  it("gives a gateway with no rows one per candidate, the first the highest", () => {
    const plan = planGatewayChassis(LRP, [], ["c1", "c2"]);
    assert.deepEqual(plan.add, [
      { name: "lrp-p1_c1", chassis_name: "c1", priority: 2 },
      { name: "lrp-p1_c2", chassis_name: "c2", priority: 1 },
    ]);
    assert.deepEqual(plan.remove, []);
  });

  it("removes the row of a chassis that went or stopped qualifying, and only that one", () => {
    const current = [row("c1", 3), row("c2", 2), row("c3", 1)];
    const plan = planGatewayChassis(LRP, current, ["c1", "c3"]);
    assert.deepEqual(plan.remove, ["u-c2-2"]);
    assert.deepEqual(plan.add, []);
    assert.deepEqual(plan.reprioritize, [], "the others keep their priorities");
    // The active one going hands the gateway to the next, as OVN's failover had.
    assert.deepEqual(after(current, ["c2", "c3"]), ["c2:2", "c3:1"]);
    assert.deepEqual(after(current, []), []);
  });

  it("adds a new chassis below every other, so the active one stays", () => {
    const current = [row("c2", 5), row("c3", 4)];
    // c1 sorts first by name, but it is new: it goes last.
    assert.deepEqual(after(current, ["c1", "c2", "c3"]), ["c2:5", "c3:4", "c1:3"]);
    const plan = planGatewayChassis(LRP, current, ["c1", "c2", "c3"]);
    assert.deepEqual(plan.reprioritize, [], "room below: nothing else is written");
  });

  it("numbers the rows again, in the order they had, when there is no room below", () => {
    const current = [row("c2", 2), row("c3", 1)];
    const plan = planGatewayChassis(LRP, current, ["c1", "c2", "c3", "c4"]);
    assert.deepEqual(after(current, ["c1", "c2", "c3", "c4"]), ["c2:4", "c3:3", "c1:2", "c4:1"]);
    assert.deepEqual(
      plan.reprioritize.map((p) => p.uuid),
      ["u-c2-2", "u-c3-1"],
    );
  });

  it("adds and removes in one plan", () => {
    const current = [row("c1", 2), row("c2", 1)];
    // c2 was at 1: no room below it, so both are numbered again, c2 still first.
    assert.deepEqual(after(current, ["c2", "c3"]), ["c2:2", "c3:1"]);
  });

  it("makes priorities distinct and drops a second row for one chassis (rows written by hand)", () => {
    const tied = [row("c2", 3), row("c1", 3)];
    // A tie is broken by name: c1 stays first.
    assert.deepEqual(after(tied, ["c1", "c2"]), ["c1:2", "c2:1"]);
    const twice = [row("c1", 4), row("c1", 2), row("c2", 3)];
    const plan = planGatewayChassis(LRP, twice, ["c1", "c2"]);
    assert.deepEqual(plan.remove, ["u-c1-2"]);
    assert.deepEqual(after(twice, ["c1", "c2"]), ["c1:4", "c2:3"]);
  });

  it("names each new chassis once, whatever the candidate list repeats", () => {
    const plan = planGatewayChassis(LRP, [row("c1", 1)], ["c2", "c2", "c1"]);
    assert.deepEqual(
      plan.add.map((a) => a.chassis_name),
      ["c2"],
    );
  });
});
