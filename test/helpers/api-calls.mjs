// Many OpenStack API calls at once from inside a member's network namespace,
// for tests that break something in the middle of them:
//   node api-calls.mjs CAFILE HOST PORT TOKEN CONCURRENCY [KILL_AFTER PID] < CALLS
// CALLS (stdin) is a JSON array of {"method", "path", "body"?}; they are sent
// CONCURRENCY at a time, each on its own connection. With KILL_AFTER, the
// process PID hangs (SIGSTOP) as soon as KILL_AFTER answers are in and dies
// (SIGKILL) HANG_MS later: here, not in the test, so that the fault lands
// while calls are still in flight however fast they go, and the hang makes
// sure some of them are sent to it and never answered. Prints one JSON
// object: {"answers": [{"status", "body"} or {"error"}, in the order of
// CALLS], "killedAfter": the number of answers in when it hung (null
// without a kill)}.
import { readFileSync } from "node:fs";
import { setTimeout } from "node:timers";
import { httpsCall } from "./https-call.mjs";

const [caFile, host, port, token, concurrency, killAfter, pid] = process.argv.slice(2);
const ca = readFileSync(caFile);
const calls = JSON.parse(readFileSync(0, "utf8"));

const answers = new Array(calls.length);
let answered = 0;
let killedAfter = null;

/** How long the process hangs before it dies. */
const HANG_MS = 200;
let killed = Promise.resolve();

function killWhenDue() {
  if (killAfter === undefined || killedAfter !== null || answered < Number(killAfter)) return;
  killedAfter = answered;
  process.kill(Number(pid), "SIGSTOP");
  killed = new Promise((resolve) =>
    setTimeout(() => {
      process.kill(Number(pid), "SIGKILL");
      resolve();
    }, HANG_MS),
  );
}

async function send({ method, path, body }) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers = { "x-auth-token": token };
  if (text !== undefined) headers["content-type"] = "application/json";
  const answer = await httpsCall({ host, port: Number(port), method, path, ca, headers }, text);
  if (answer.error !== undefined) return { error: answer.error };
  let parsed = answer.text;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: answer.status, body: parsed };
}

let next = 0;
async function worker() {
  while (next < calls.length) {
    const i = next++;
    answers[i] = await send(calls[i]);
    answered++;
    killWhenDue();
  }
}
killWhenDue();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
await killed;
process.stdout.write(JSON.stringify({ answers, killedAfter }));
