/**
 * Changing the election timer of a real three-server NB Raft cluster
 * (src/ovn/election-timer.ts): only through the leader, doubling on the
 * way up, one step down, and raised around a job by withElectionTimer,
 * which puts it back also when the job fails.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  changeElectionTimer,
  electionTimerHeld,
  withElectionTimer,
  type RaftServer,
} from "../../src/ovn/election-timer.js";
import { readClusterStatus } from "../../src/ovn/raft.js";
import { SCHEMAS, startRaftCluster, type RaftClusterHandle } from "../helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

let dir: string;
let cluster: RaftClusterHandle | undefined;

before(async () => {
  dir = await makeTempDir("etimer");
  cluster = await startRaftCluster({ dir, schemaFile: SCHEMAS.northbound, electionTimerMs: 1000 });
});

after(async () => {
  await cluster?.stop();
  await removeDir(dir);
});

function server(i: number): RaftServer {
  return { controlSocket: cluster!.members[i]!.ctlPath, database: cluster!.database };
}

async function leader(): Promise<number> {
  return (
    await waitFor("a raft leader", async () => {
      const i = await cluster!.leaderIndex();
      return i >= 0 ? { i } : undefined;
    })
  ).i;
}

/** Every server's election timer. */
async function timers(): Promise<(number | undefined)[]> {
  return Promise.all(
    cluster!.members.map(
      async (m) => (await readClusterStatus(m.ctlPath, cluster!.database))?.electionTimerMs,
    ),
  );
}

function waitForTimers(ms: number): Promise<unknown> {
  return waitFor(`every server at ${ms} ms`, async () => (await timers()).every((t) => t === ms));
}

describe("election timer on a real Raft cluster", () => {
  it("is refused on a follower, which changes nothing", async () => {
    const follower = ((await leader()) + 1) % 3;
    await assert.rejects(
      changeElectionTimer(server(follower), 4000),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "NOT_RAFT_LEADER");
        assert.match(e.message, /only the leader changes the election timer/);
        return true;
      },
    );
    assert.deepEqual(await timers(), [1000, 1000, 1000]);
  });

  it("goes up in doublings through the leader and reaches every server", async () => {
    const steps = await changeElectionTimer(server(await leader()), 10000);
    assert.deepEqual(steps, [2000, 4000, 8000, 10000]);
    await waitForTimers(10000);
  });

  it("goes down in one step, and does nothing when already there", async () => {
    assert.deepEqual(await changeElectionTimer(server(await leader()), 1500), [1500]);
    await waitForTimers(1500);
    assert.deepEqual(await changeElectionTimer(server(await leader()), 1500), []);
  });

  it("is raised around a job by withElectionTimer and put back after", async () => {
    const lead = server(await leader());
    const result = await withElectionTimer(lead, 6000, async () => {
      assert.ok(electionTimerHeld(lead.controlSocket), "held while the job runs");
      await waitForTimers(6000);
      return "converted";
    });
    assert.equal(result, "converted");
    assert.equal(electionTimerHeld(lead.controlSocket), false);
    await waitForTimers(1500);
  });

  it("is put back when the job fails, and the job's error comes through", async () => {
    const lead = server(await leader());
    await assert.rejects(
      withElectionTimer(lead, 3000, async () => {
        await waitForTimers(3000);
        throw new Error("conversion failed");
      }),
      /conversion failed/,
    );
    await waitForTimers(1500);
  });

  it("does not run the job on a follower", async () => {
    let ran = false;
    const follower = server(((await leader()) + 1) % 3);
    await assert.rejects(
      withElectionTimer(follower, 6000, () => {
        ran = true;
        return Promise.resolve();
      }),
      /NOT_RAFT_LEADER|not its cluster's leader/,
    );
    assert.equal(ran, false);
    assert.deepEqual(await timers(), [1500, 1500, 1500]);
  });
});
