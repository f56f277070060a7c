/**
 * The pass runner the API's NB watchers share (watch-pass.ts). The timing
 * is pure logic, tested on Node's mock clock with passes that end when the
 * test says; the wiring to replicas and NB is tested with replicas that
 * are plain event emitters and an NB whose commits the test answers. The
 * watchers themselves run over real NB and SB in the integration tests
 * (gateway-reschedule, migration-watch, floating-ips-cli).
 */
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type { Backend, NbClient } from "../../src/openstack/backend.js";
import {
  EVERYTHING,
  PassScheduler,
  onTables,
  watchPasses,
  type PassTiming,
} from "../../src/openstack/networking/watch-pass.js";
import type { NbTransaction } from "../../src/openstack/networking/write.js";
import { Transaction } from "../../src/ovsdb/client/transaction.js";
import type { RowChange } from "../../src/ovsdb/index.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import type { Operation } from "../../src/ovsdb/wire/operations.js";
import { TEST_SCHEMA, type TestDatabase } from "./fixtures.js";

interface Run {
  key: string;
  succeed(): void;
  fail(): void;
  /** Settles once the scheduler has taken in the pass's end. */
  taken: Promise<void>;
}

function noop(): void {}

/** A scheduler whose passes run until the test ends them. */
function scheduler(timing: PassTiming) {
  const runs: Run[] = [];
  const passes = new PassScheduler(timing, (key) => {
    let succeed!: () => void;
    let fail!: () => void;
    const pass = new Promise<void>((resolve, reject) => {
      succeed = resolve;
      fail = () => reject(new Error("NB is not answering"));
    });
    // The scheduler attaches its handlers after this one, in the same
    // round; one more step comes after them.
    const taken = pass.then(noop, noop).then(noop);
    runs.push({ key, succeed, fail, taken });
    return pass;
  });
  return { passes, runs, keys: () => runs.map((r) => r.key) };
}

/** Ends `run` one way or the other and waits until the scheduler has taken it in. */
async function end(run: Run | undefined, how: "succeed" | "fail"): Promise<void> {
  assert.ok(run, "a pass ran");
  run[how]();
  await run.taken;
}

const SECOND: PassTiming = { gatherMs: 1_000, retryMs: 1_000 };

describe("PassScheduler", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setImmediate"] }));
  afterEach(() => mock.timers.reset());

  it("gathers the requests of gatherMs into one pass, started no sooner", () => {
    const { passes, keys } = scheduler(SECOND);
    passes.request(EVERYTHING);
    mock.timers.tick(600);
    passes.request(EVERYTHING);
    mock.timers.tick(399);
    assert.deepEqual(keys(), []);
    mock.timers.tick(1);
    assert.deepEqual(keys(), [EVERYTHING]);
    mock.timers.tick(10_000);
    assert.deepEqual(keys(), [EVERYTHING], "the second request joined the first pass");
  });

  it("with gatherMs 0, gathers what one turn of the event loop brings", () => {
    const { passes, keys } = scheduler({ gatherMs: 0, retryMs: 1_000 });
    passes.request(EVERYTHING);
    passes.request(EVERYTHING);
    assert.deepEqual(keys(), [], "no pass runs inside the replica's change event");
    mock.timers.tick(0);
    assert.deepEqual(keys(), [EVERYTHING]);
  });

  it("runs one more pass after a pass that requests came during, and only one", async () => {
    const { passes, runs, keys } = scheduler(SECOND);
    passes.request(EVERYTHING);
    mock.timers.tick(1_000);
    passes.request(EVERYTHING);
    passes.request(EVERYTHING);
    mock.timers.tick(5_000);
    assert.deepEqual(keys(), [EVERYTHING], "no second pass while the first runs");
    await end(runs[0], "succeed");
    mock.timers.tick(999);
    assert.equal(runs.length, 1, "the next pass gathers like any other");
    mock.timers.tick(1);
    assert.equal(runs.length, 2);
    await end(runs[1], "succeed");
    mock.timers.tick(10_000);
    assert.equal(runs.length, 2, "nothing asked for a third");
  });

  it("runs no other pass after one that nothing came during", async () => {
    const { passes, runs } = scheduler(SECOND);
    passes.request(EVERYTHING);
    mock.timers.tick(1_000);
    await end(runs[0], "succeed");
    mock.timers.tick(10_000);
    assert.equal(runs.length, 1);
  });

  it("tries a failed pass again after retryMs, with the requests of the wait", async () => {
    const { passes, runs, keys } = scheduler({ gatherMs: 100, retryMs: 1_000 });
    passes.request(EVERYTHING);
    mock.timers.tick(100);
    passes.request(EVERYTHING);
    await end(runs[0], "fail");
    passes.request(EVERYTHING);
    mock.timers.tick(999);
    assert.equal(
      runs.length,
      1,
      "neither the request during the pass nor after it hurries the retry",
    );
    mock.timers.tick(1);
    assert.equal(runs.length, 2);
    await end(runs[1], "fail");
    mock.timers.tick(1_000);
    assert.equal(runs.length, 3, "until one succeeds");
    await end(runs[2], "succeed");
    mock.timers.tick(10_000);
    assert.deepEqual(keys(), [EVERYTHING, EVERYTHING, EVERYTHING]);
  });

  it("runs the passes of different keys independently", async () => {
    const { passes, runs, keys } = scheduler({ gatherMs: 0, retryMs: 1_000 });
    passes.request("port-a");
    mock.timers.tick(0);
    passes.request("port-b");
    passes.request("port-a");
    mock.timers.tick(0);
    assert.deepEqual(keys(), ["port-a", "port-b"], "b does not wait for a");
    await end(runs[1], "fail");
    await end(runs[0], "succeed");
    mock.timers.tick(0);
    assert.deepEqual(keys(), ["port-a", "port-b", "port-a"], "a's second pass; b waits to retry");
    mock.timers.tick(1_000);
    assert.deepEqual(keys(), ["port-a", "port-b", "port-a", "port-b"]);
  });

  it("once closed, runs nothing more: not what was due, asked again, or to be retried", async () => {
    const { passes, runs, keys } = scheduler({ gatherMs: 100, retryMs: 1_000 });
    passes.request("port-a");
    passes.request("port-b");
    mock.timers.tick(100);
    passes.request("port-a");
    passes.request("port-c");
    passes.close();
    passes.request("port-d");
    await end(runs[0], "succeed");
    await end(runs[1], "fail");
    mock.timers.tick(10_000);
    assert.deepEqual(keys(), ["port-a", "port-b"]);
  });
});

const schema = parseSchema(TEST_SCHEMA);

/** A replica as watchPasses uses one: its change events. */
class FakeReplica extends EventEmitter {
  changed(...tables: string[]): void {
    const changes: RowChange[] = tables.map((table) => ({
      table,
      kind: "insert",
      uuid: "00000000-0000-4000-8000-000000000000",
      row: {},
    }));
    this.emit("change", changes);
  }
}

/** Replicas that are event emitters, and an NB that commits what it is sent (or fails it). */
function fakeBackend() {
  const commits: string[][] = [];
  let failing = false;
  const nb = {
    transaction: () =>
      new Transaction<TestDatabase>(schema, (ops: Operation[]) => {
        if (failing) return Promise.reject(new Error("NB is not answering"));
        commits.push(ops.map((o) => (o as { row?: { name?: string } }).row?.name ?? o.op));
        return Promise.resolve(ops.map(() => ({})));
      }),
  } as unknown as NbClient;
  const backend = {
    nb,
    nbReplica: new FakeReplica(),
    sbReplica: new FakeReplica(),
    stateReplica: new FakeReplica(),
  };
  return {
    backend,
    commits,
    fail: (now: boolean) => {
      failing = now;
    },
  };
}

describe("watchPasses", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setImmediate"] }));
  afterEach(() => mock.timers.reset());

  /** Lets the write of a pass that started go through the (real) write path. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }

  it("passes on the changes of the tables asked for, writes, logs, retries and closes", async () => {
    const { backend, commits, fail } = fakeBackend();
    const log: string[] = [];
    let wanted = ["sw0"];
    const watch = watchPasses<number>(backend as unknown as Backend, (m) => log.push(m), {
      gatherMs: 0,
      retryMs: 1_000,
      nb: onTables(new Set(["Switch"])),
      sb: onTables(new Set(["Chassis"])),
      initial: [EVERYTHING],
      pass: (key) => {
        assert.equal(key, EVERYTHING);
        if (wanted.length === 0) return undefined;
        const names = wanted;
        return {
          build: (txn: NbTransaction) => {
            for (const name of names) {
              (txn as unknown as Transaction<TestDatabase>).insert("Switch", { name });
            }
            return names.length;
          },
          wrote: (n) => `${n} switch(es) written`,
          failure: "could not write the switches yet",
        };
      },
    });

    mock.timers.tick(0);
    await settle();
    assert.deepEqual(commits, [["sw0"]], "the pass at start");
    assert.deepEqual(log, ["1 switch(es) written"]);

    wanted = ["sw1"];
    backend.nbReplica.changed("Port");
    backend.stateReplica.changed("Switch");
    mock.timers.tick(0);
    await settle();
    assert.equal(commits.length, 1, "no pass for tables nobody asked for");

    backend.sbReplica.changed("Chassis", "Chassis");
    backend.nbReplica.changed("Switch");
    mock.timers.tick(0);
    await settle();
    assert.deepEqual(commits, [["sw0"], ["sw1"]], "one pass for one turn's changes");

    fail(true);
    wanted = ["sw2"];
    backend.nbReplica.changed("Switch");
    mock.timers.tick(0);
    await settle();
    assert.equal(log.at(-1), "could not write the switches yet: NB is not answering");
    fail(false);
    mock.timers.tick(999);
    await settle();
    assert.equal(commits.length, 2);
    mock.timers.tick(1);
    await settle();
    assert.deepEqual(commits.at(-1), ["sw2"], "the retry");

    wanted = [];
    backend.nbReplica.changed("Switch");
    mock.timers.tick(0);
    await settle();
    assert.equal(commits.length, 3, "nothing wrong, nothing written");

    watch.close();
    for (const replica of [backend.nbReplica, backend.sbReplica, backend.stateReplica]) {
      assert.equal(replica.listenerCount("change"), 0);
    }
    wanted = ["sw3"];
    backend.nbReplica.changed("Switch");
    mock.timers.tick(10_000);
    await settle();
    assert.equal(commits.length, 3);
  });
});
