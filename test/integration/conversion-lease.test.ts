/**
 * The conversion lease on a real three-server Raft cluster of the state
 * database (schemas/microovn.ovsschema): of members asking at once, through
 * different servers, exactly one gets it; others are refused while it
 * holds it and may take it once it is given up or has lapsed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { MicroOVNDatabase } from "../../src/ovsdb/models/microovn.js";
import { PROJECT_SCHEMAS } from "../../src/ovsdb/schema/installed.js";
import { leaseKey, releaseLease, takeLease, type LeaseTaker } from "../../src/upgrade/lease.js";
import { startRaftCluster, type RaftClusterHandle } from "../helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

let dir: string;
let cluster: RaftClusterHandle;

before(async () => {
  dir = await makeTempDir("lease");
  cluster = await startRaftCluster({ dir, schemaFile: PROJECT_SCHEMAS.microovn.file });
});

after(async () => {
  await cluster?.stop();
  await removeDir(dir);
});

/** Member `me`, reaching the state database through server `server` only. */
function taker(me: string, server: number): LeaseTaker {
  return {
    me,
    connect: () =>
      OvsdbClient.connect<MicroOVNDatabase>({
        remotes: cluster.members[server]!.unixRemote,
        database: PROJECT_SCHEMAS.microovn.database,
        leaderOnly: false,
        waitForConnectionMs: 5_000,
      }),
  };
}

async function leaseRow(): Promise<string | undefined> {
  const client = await taker("reader", 0).connect();
  try {
    const [row] = await client.select("Config", [["key", "==", leaseKey("nb")]], ["value"]);
    return row?.value;
  } finally {
    client.close();
  }
}

describe("the conversion lease", () => {
  it("goes to exactly one of several members asking at once", async () => {
    for (let round = 0; round < 5; round++) {
      const takers = ["m1", "m2", "m3", "m4", "m5", "m6"].map((m, i) => taker(m, i % 3));
      const won = await Promise.all(takers.map((t) => takeLease(t, "nb", 60_000)));
      const winners = takers.filter((_, i) => won[i]).map((t) => t.me);
      assert.equal(winners.length, 1, `round ${round}: ${winners.join(", ")} took it`);
      assert.match((await leaseRow()) ?? "", new RegExp(`"holder":"${winners[0]}"`));
      // Others are refused while it is held; its holder may renew it.
      const other = takers.find((t) => t.me !== winners[0])!;
      assert.equal(await takeLease(other, "nb", 60_000), false);
      assert.equal(await releaseLease(other, "nb"), undefined);
      assert.notEqual(await leaseRow(), undefined, "only the holder gives it up");
      await releaseLease(
        takers.find((t) => t.me === winners[0])!,
        "nb",
      );
      assert.equal(await leaseRow(), undefined);
    }
  });

  it("may be taken by another member once it has lapsed", async () => {
    // A lifetime of 0: lapsed the moment it is written.
    assert.equal(await takeLease(taker("m1", 0), "nb", 0), true);
    assert.match((await leaseRow()) ?? "", /"holder":"m1"/);
    assert.equal(await takeLease(taker("m2", 1), "nb", 60_000), true);
    assert.match((await leaseRow()) ?? "", /"holder":"m2"/);
    await releaseLease(taker("m2", 1), "nb");
  });
});
