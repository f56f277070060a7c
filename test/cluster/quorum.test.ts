/**
 * A two-member cluster that loses one member has no majority: its databases
 * have no leader. `status` must say so and `waitready` must not return
 * until they take writes again.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { killNode, startLab, stopLab } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;

before(async () => {
  lab = await startLab(2);
});

after(() => stopLab(lab));

describe("a cluster without a majority", () => {
  it("is writable with both members", async () => {
    await lab!.ok("m1", ["waitready", "--timeout", "30"]);
    assert.match(await lab!.ok("m1", ["status"]), /OVN Northbound: OK .*\[raft: (leader|follower)/);
  });

  it("says there is no leader, and waitready waits, while one of two members is down", async () => {
    await killNode(lab!, "m2");
    await waitFor(
      "m1's status to report the lost majority",
      async () =>
        (await lab!.ok("m1", ["status"])).match(/: No leader! Writes fail/g)?.length === 3,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const status = await lab!.ok("m1", ["status"]);
    assert.match(status, /OVN Southbound: No leader! Writes fail/);
    assert.match(status, /MicroOVN cluster state: No leader! Writes fail/);
    assert.match(status, /cannot reach a majority of its Raft cluster/);
    const waited = await lab!.cli("m1", ["waitready", "--timeout", "2"]);
    assert.notEqual(waited.exitCode, 0, "waitready must not return while NB has no leader");
    assert.match(waited.stderr, /not ready within 2 s/);
    assert.match(waited.stderr, /- OVN Northbound: no leader/);
    const write = await lab!.cli("m1", ["ovn-nbctl", "--timeout=2", "ls-add", "during-outage"]);
    assert.notEqual(write.exitCode, 0, "and indeed NB takes no write");
  });

  it("is writable again once waitready returns after the member comes back", async () => {
    // Any changing command starts m2's daemon again, which brings its servers back.
    await lab!.ok("m2", ["waitready", "--timeout", "60"]);
    await lab!.ok("m1", ["waitready", "--timeout", "60"]);
    await lab!.ok("m1", ["ovn-nbctl", "ls-add", "after-outage"]);
    assert.match(await lab!.ok("m1", ["status"]), /OVN Northbound: OK/);
  });
});
