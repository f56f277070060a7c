/**
 * The Networking API's write path: writes that arrive while another is
 * being committed share one NB transaction, and a shared transaction that
 * fails sends each of its writes again alone. The committer here stands in
 * for NB (pure logic: which operations go out together, and what each
 * caller is answered); the real NB is in the integration tests.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Transaction } from "../../src/ovsdb/client/transaction.js";
import { TransactionError } from "../../src/ovsdb/errors.js";
import { OvsdbError } from "../../src/ovsdb/index.js";
import type { Operation, OperationResult } from "../../src/ovsdb/wire/operations.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import type { NbClient } from "../../src/openstack/backend.js";
import { ApiError } from "../../src/openstack/errors.js";
import { EventEmitter } from "node:events";
import { writeUpdateTelling, type HoldingRow } from "../../src/openstack/networking/collection.js";
import type { NetworkingContext } from "../../src/openstack/networking/context.js";
import {
  externalIdsWritten,
  isOutcomeUnknown,
  outcomeAfterResync,
  writeNb,
  writeNbTelling,
  type GuardedTable,
  type NbTransaction,
} from "../../src/openstack/networking/write.js";
import { TEST_SCHEMA, U1, U2, type TestDatabase } from "./fixtures.js";

const schema = parseSchema(TEST_SCHEMA);

interface Commit {
  names: string[];
  answer(results?: (OperationResult | null)[] | Error): void;
}

/** An NB client whose commits wait until the test answers them. */
function fakeNb() {
  const commits: Commit[] = [];
  const waiting: ((c: Commit) => void)[] = [];
  const nb = {
    transaction: () =>
      new Transaction<TestDatabase>(
        schema,
        (ops: Operation[]) =>
          new Promise((resolve, reject) => {
            const commit: Commit = {
              names: ops.map((o) => (o as { row?: { name?: string } }).row?.name ?? o.op),
              answer: (results) => {
                if (results instanceof Error) reject(results);
                else resolve(results ?? ops.map(() => ({})));
              },
            };
            commits.push(commit);
            waiting.shift()?.(commit);
          }),
      ),
  } as unknown as NbClient;
  /** The next commit sent (now or later). */
  const next = (): Promise<Commit> => {
    const sent = commits.find((c) => !(c as { taken?: boolean }).taken);
    if (sent) {
      (sent as { taken?: boolean }).taken = true;
      return Promise.resolve(sent);
    }
    return new Promise((resolve) =>
      waiting.push((c) => {
        (c as { taken?: boolean }).taken = true;
        resolve(c);
      }),
    );
  };
  return { nb, commits, next };
}

/** A write inserting one Port named `name`, answering `name`. */
const port = (name: string) => (txn: NbTransaction) => {
  (txn as unknown as Transaction<TestDatabase>).insert("Port", { name });
  return name;
};

/** A conflict as NB reports one: a `wait` that failed. */
function conflict(at: number, count: number): TransactionError {
  const results: (OperationResult | null)[] = Array.from({ length: count }, () => ({}));
  results[at] = { error: "timed out", details: '"wait" timed out' };
  return new TransactionError({
    operationIndex: at,
    operation: "wait",
    serverError: "timed out",
    results,
  });
}

describe("writes to NB", () => {
  it("sends a lone write at once, on its own", async () => {
    const { nb, next } = fakeNb();
    const answer = writeNb(nb, port("a"));
    const commit = await next();
    assert.deepEqual(commit.names, ["a"]);
    commit.answer();
    assert.equal(await answer, "a");
  });

  it("sends the writes that came during a commit together, each answered with its own result", async () => {
    const { nb, next, commits } = fakeNb();
    const first = writeNb(nb, port("a"));
    const during = ["b", "c", "d"].map((n) => writeNb(nb, port(n)));
    (await next()).answer();
    assert.equal(await first, "a");
    const shared = await next();
    assert.deepEqual(shared.names, ["b", "c", "d"]);
    shared.answer();
    assert.deepEqual(await Promise.all(during), ["b", "c", "d"]);
    assert.equal(commits.length, 2);
  });

  it("refuses a write whose build throws, without its operations, and commits the others", async () => {
    const { nb, next } = fakeNb();
    const first = writeNb(nb, port("a"));
    const good = writeNb(nb, port("b"));
    const bad = writeNb(nb, (txn) => {
      port("half-built")(txn);
      throw new ApiError(409, "taken");
    });
    const nothing = writeNb(nb, () => "no change");
    const last = writeNb(nb, port("c"));
    (await next()).answer();
    await first;
    const shared = await next();
    assert.deepEqual(shared.names, ["b", "c"]);
    shared.answer();
    assert.deepEqual(await Promise.all([good, nothing, last]), ["b", "no change", "c"]);
    await assert.rejects(bad, (e: unknown) => e instanceof ApiError && e.status === 409);
  });

  it("sends each write of a shared transaction that failed alone, built again", async () => {
    const { nb, next } = fakeNb();
    const first = writeNb(nb, port("a"));
    let builds = 0;
    const counted = writeNb(nb, (txn) => {
      builds++;
      return port("b")(txn);
    });
    const other = writeNb(nb, port("c"));
    (await next()).answer();
    await first;
    (await next()).answer(conflict(0, 2));
    // Each alone now, in any order.
    const alone = [await next(), await next()];
    assert.deepEqual(alone.map((c) => c.names.join()).sort(), ["b", "c"]);
    for (const c of alone) c.answer();
    assert.deepEqual(await Promise.all([counted, other]), ["b", "c"]);
    assert.equal(builds, 2);
  });

  it("tries a lone write again after its conflict, and gives up with 409 after a few", async () => {
    const { nb, next } = fakeNb();
    const answer = writeNb(nb, port("a"));
    for (let attempt = 1; attempt <= 8; attempt++) (await next()).answer(conflict(0, 1));
    await assert.rejects(answer, (e: unknown) => e instanceof ApiError && e.status === 409);
  });

  it("sends nothing again when the outcome is unknown (the connection went)", async () => {
    const { nb, next, commits } = fakeNb();
    const first = writeNb(nb, port("a"));
    const during = ["b", "c"].map((n) => writeNb(nb, port(n)));
    (await next()).answer();
    await first;
    const lost = new OvsdbError("OVSDB_DISCONNECTED", "connection closed");
    (await next()).answer(lost);
    for (const w of during) await assert.rejects(w, (e: unknown) => e === lost);
    // A later write goes out on its own; nothing of the lost ones with it.
    const later = writeNb(nb, port("d"));
    const commit = await next();
    assert.deepEqual(commit.names, ["d"]);
    commit.answer();
    await later;
    assert.equal(commits.length, 3);
  });
});

describe("a write whose outcome is unknown", () => {
  it("is one whose connection went or whose answer did not come, not one NB refused", () => {
    assert.ok(isOutcomeUnknown(new OvsdbError("OVSDB_OUTCOME_UNKNOWN", "connection closed")));
    assert.ok(isOutcomeUnknown(new OvsdbError("OVSDB_TIMEOUT", "no answer")));
    assert.ok(!isOutcomeUnknown(conflict(0, 1)));
    assert.ok(!isOutcomeUnknown(new OvsdbError("OVSDB_NOT_CONNECTED", "never sent")));
    assert.ok(!isOutcomeUnknown(new Error("other")));
  });

  it("is told by the replica once it is whole again: there, or not", async () => {
    for (const there of [true, false]) {
      const replica = new EventEmitter();
      let asked = false;
      const outcome = outcomeAfterResync(replica, () => {
        asked = true;
        return there;
      });
      assert.equal(asked, false, "nothing is asked before the replica is back");
      replica.emit("synced");
      assert.equal(await outcome, there);
    }
  });

  it("stays unknown when the replica does not come back in time, and stops listening", async () => {
    const replica = new EventEmitter();
    const outcome = await outcomeAfterResync(replica, () => true, 20);
    assert.equal(outcome, undefined);
    assert.equal(replica.listenerCount("synced"), 0);
  });
});

/** A replica that is whole again as soon as it is asked to say so; counts the askings. */
function resyncedReplica() {
  const replica = {
    asked: 0,
    once: (_event: "synced", listener: () => void) => {
      replica.asked++;
      queueMicrotask(listener);
    },
    off: () => undefined,
  };
  return replica;
}

const lost = () => new OvsdbError("OVSDB_OUTCOME_UNKNOWN", "connection closed");

describe("a write that tells its outcome from the replica (router interface actions, creates, deletes)", () => {
  /** A write that names each build anew (w-1, w-2…), so the test sees which build was asked about. */
  function numbered() {
    let builds = 0;
    return (txn: NbTransaction) => port(`w-${++builds}`)(txn);
  }

  it("answers what the last build sent when the replica, back, shows it made", async () => {
    const { nb, next } = fakeNb();
    const replica = resyncedReplica();
    const askedAbout: string[] = [];
    const answer = writeNbTelling(nb, replica, numbered(), (sent) => {
      askedAbout.push(sent);
      return true;
    });
    // NB refuses the first build (another writer won), so it is built again; that commit's answer is lost.
    const first = await next();
    assert.deepEqual(first.names, ["w-1"]);
    first.answer(conflict(0, 1));
    const second = await next();
    assert.deepEqual(second.names, ["w-2"]);
    second.answer(lost());
    assert.equal(await answer, "w-2");
    assert.deepEqual(askedAbout, ["w-2"]);
    assert.equal(replica.asked, 1);
  });

  it("answers 503 'send the request again' when the replica shows it was not made", async () => {
    const { nb, next } = fakeNb();
    const answer = writeNbTelling(nb, resyncedReplica(), port("a"), () => false);
    (await next()).answer(lost());
    await assert.rejects(answer, (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.status, 503);
      assert.match(e.message, /send the request again/);
      return true;
    });
  });

  it("passes NB's refusal and a refused build on as they are, without asking the replica", async () => {
    const { nb, next } = fakeNb();
    const replica = resyncedReplica();
    const refused = new TransactionError({
      operationIndex: 0,
      operation: "insert",
      serverError: "referential integrity violation",
      results: [{ error: "referential integrity violation" }],
    });
    const answer = writeNbTelling(nb, replica, port("a"), () => true);
    (await next()).answer(refused);
    await assert.rejects(answer, (e: unknown) => e === refused);
    const notFound = new ApiError(404, "no such router");
    await assert.rejects(
      writeNbTelling(
        nb,
        replica,
        () => {
          throw notFound;
        },
        () => true,
      ),
      (e: unknown) => e === notFound,
    );
    assert.equal(replica.asked, 0);
  });
});

describe("an update that tells its outcome from the revision it wrote (PUTs, tags, router routes)", () => {
  // The test schema's Switch stands in for the row holding a resource.
  const table = "Switch" as GuardedTable;
  const read = new Map([
    ["neutron:revision_number", "4"],
    ["microovn:name", "old"],
  ]);
  const asked = new Map([
    ["neutron:revision_number", "5"],
    ["microovn:name", "new"],
  ]);

  /** A resource whose holding row is what the test says, and an update of its name to "new". */
  function resource(nb: NbClient) {
    const state: { row: HoldingRow | undefined } = {
      row: { table, uuid: U1, externalIds: read },
    };
    const context = {
      backend: { nb, nbReplica: resyncedReplica() },
    } as unknown as NetworkingContext;
    const kind = { holdingRow: () => state.row };
    const rename = (txn: NbTransaction) =>
      (txn as unknown as Transaction<TestDatabase>).update("Switch", [["_uuid", "==", U1]], {
        external_ids: asked,
      });
    return { state, update: () => writeUpdateTelling(context, kind, "r", rename) };
  }

  it("answers as made when the replica, back, shows the row with the revision it wrote", async () => {
    const { nb, next } = fakeNb();
    const { state, update } = resource(nb);
    const answer = update();
    const commit = await next();
    state.row = { table, uuid: U1, externalIds: new Map(asked) };
    commit.answer(lost());
    await answer;
  });

  it("answers 503 when the row is as it was read, when another change overtook it, or when it is gone", async () => {
    const overtaken = new Map([
      ["neutron:revision_number", "5"],
      ["microovn:name", "other"],
    ]);
    for (const after of [read, overtaken, undefined]) {
      const { nb, next } = fakeNb();
      const { state, update } = resource(nb);
      const answer = update();
      const commit = await next();
      state.row = after && { table, uuid: U1, externalIds: after };
      commit.answer(lost());
      await assert.rejects(answer, (e: unknown) => {
        assert.ok(e instanceof ApiError, String(e));
        assert.equal(e.status, 503);
        assert.match(e.message, /send the request again/);
        return true;
      });
    }
  });

  it("keeps the lost answer's error when the change wrote no revision to tell by", async () => {
    const { nb, next } = fakeNb();
    const context = {
      backend: { nb, nbReplica: resyncedReplica() },
    } as unknown as NetworkingContext;
    const kind = { holdingRow: (): HoldingRow => ({ table, uuid: U1, externalIds: read }) };
    const error = lost();
    const answer = writeUpdateTelling(context, kind, "r", port("a"));
    (await next()).answer(error);
    await assert.rejects(answer, (e: unknown) => e === error);
  });

  it("reads what the build's own operations wrote to that row, the last write winning", () => {
    const txn = new Transaction<TestDatabase>(schema, async () => []);
    txn.update("Switch", [["_uuid", "==", U1]], { external_ids: new Map([["k", "before"]]) });
    const from = txn.size;
    txn.update("Switch", [["_uuid", "==", U2]], { external_ids: new Map([["k", "other row"]]) });
    txn.update("Switch", [["_uuid", "==", U1]], { name: "no ids" });
    assert.equal(externalIdsWritten(txn as never, from, table, U1), undefined);
    txn.update("Switch", [["_uuid", "==", U1]], { external_ids: new Map([["k", "first"]]) });
    txn.update("Switch", [["_uuid", "==", U1]], { external_ids: new Map([["k", "last"]]) });
    assert.deepEqual(externalIdsWritten(txn as never, from, table, U1), new Map([["k", "last"]]));
  });
});
