/**
 * When the exporter refreshes (src/metrics/exporter.ts), on a fake clock:
 * the first scrape waits for a refresh, later ones are served at once from
 * a refresh made just before them, programs are asked at most every 5 s,
 * and not at all while nobody scrapes.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { Exporter, LEAD_MS, REFRESH_MS, STALE_MS } from "../../src/metrics/exporter.js";

/** The fake clock: mock.timers moves setTimeout's, this the exporter's. */
let clock = 0;
const now = () => clock;

/** A source whose every refresh is numbered and timed. */
function countingSource() {
  const refreshes: number[] = [];
  return {
    refreshes,
    collect: () => {
      refreshes.push(clock);
      return Promise.resolve(`refresh ${refreshes.length}\n`);
    },
  };
}

/** Lets promise callbacks run (the fake clock does not). */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** Moves both clocks on, a second at a time. */
async function advance(ms: number): Promise<void> {
  for (let step = 0; step < ms; step += 1_000) {
    clock += 1_000;
    mock.timers.tick(1_000);
    await settle();
  }
}

describe("metrics exporter refreshes", () => {
  beforeEach(() => {
    clock = 1_000_000;
    mock.timers.enable({ apis: ["setTimeout"] });
  });
  afterEach(() => mock.timers.reset());

  it("waits for the first refresh, then serves each scrape from one made just before it", async () => {
    const source = countingSource();
    const exporter = new Exporter(source.collect, { now });
    assert.equal(await exporter.scrape(), "refresh 1\n");
    // Scraped every 15 s: one refresh per scrape, ending before it.
    // Scraped every 15 s: from the second gap on, one refresh per scrape,
    // LEAD_MS before it.
    for (let n = 2; n <= 8; n++) {
      await advance(15_000);
      assert.equal(await exporter.scrape(), `refresh ${n}\n`, `scrape ${n}`);
      const age = clock - source.refreshes.at(-1)!;
      if (n > 2) assert.equal(age, LEAD_MS, `scrape ${n} served ${age} ms old`);
    }
    assert.equal(source.refreshes.length, 8);
    exporter.stop();
  });

  it("asks the programs at most every REFRESH_MS however often it is scraped", async () => {
    const source = countingSource();
    const exporter = new Exporter(source.collect, { now });
    await exporter.scrape();
    for (let i = 0; i < 60; i++) {
      await advance(1_000);
      await exporter.scrape();
    }
    const gaps = source.refreshes.slice(1).map((t, i) => t - source.refreshes[i]!);
    assert.ok(gaps.length >= 4, `${gaps.length + 1} refreshes in 60 s of scrapes every second`);
    assert.ok(
      gaps.every((g) => g >= REFRESH_MS),
      `gaps ${gaps.join(", ")}`,
    );
    exporter.stop();
  });

  it("asks nothing while nobody scrapes, and refreshes stale text before serving it", async () => {
    const source = countingSource();
    const exporter = new Exporter(source.collect, { now });
    await exporter.scrape();
    await advance(10 * 60_000);
    // The one refresh planned for an expected next scrape, then nothing.
    assert.ok(source.refreshes.length <= 2, `${source.refreshes.length} refreshes`);
    const before = source.refreshes.length;
    assert.ok(clock - source.refreshes.at(-1)! > STALE_MS);
    assert.equal(await exporter.scrape(), `refresh ${before + 1}\n`, "waited for a fresh one");
    exporter.stop();
  });

  it("keeps serving the last text when a refresh fails", async () => {
    let fail = false;
    const exporter = new Exporter(
      () => (fail ? Promise.reject(new Error("boom")) : Promise.resolve("good\n")),
      { now },
    );
    assert.equal(await exporter.scrape(), "good\n");
    fail = true;
    await advance(15_000);
    assert.equal(await exporter.scrape(), "good\n");
    exporter.stop();
  });
});
