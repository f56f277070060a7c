// Scrapes URL N times, one after the other with PAUSE_MS between, from
// inside the member's namespace; prints one JSON line: each scrape's wall
// time (ms) and body size. Run with `node scrape-loop.mjs URL N PAUSE_MS`.
/* global fetch */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

const [url, n, pauseMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const times = [];
let bytes = 0;
for (let i = 0; i < n; i++) {
  const start = performance.now();
  const r = await fetch(url);
  const text = await r.text();
  times.push(performance.now() - start);
  bytes = text.length;
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  if (pauseMs > 0) await sleep(pauseMs);
}
process.stdout.write(`${JSON.stringify({ times, bytes })}\n`);
