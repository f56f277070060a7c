/**
 * Polling helper for tests: wait until some condition holds instead of
 * sleeping for a fixed time.
 */
import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
  /** Pause between two probes. Default 20 ms. */
  intervalMs?: number;
}

type ProbeResult<T> = T | undefined | false | null;

/** Marks a probe that was still running when the deadline passed. */
const PROBE_HUNG = Symbol("probe hung");

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Calls `probe` until it returns a truthy value, then resolves with that value.
 *
 * An exception thrown (or a promise rejected) by the probe counts as "not yet";
 * the last one is reported in the timeout error and attached as its `cause`.
 * A probe that never settles cannot hold the wait past its deadline.
 *
 * Beware that `0` and `""` are falsy: a probe meant to yield an index must
 * wrap it (for example return `{ index }`).
 *
 * @param what describes the condition, for the timeout message
 *   ("timed out after 10000ms waiting for <what>: <last error>")
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<ProbeResult<T>> | ProbeResult<T>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = undefined;
  let failed = false;
  let lastValue: unknown = undefined;
  let settledOnce = false;

  for (;;) {
    const remaining = Math.max(0, deadline - Date.now());
    // A timer that fires if the probe is still running at the deadline.
    const guard = new AbortController();
    try {
      const attempt = Promise.resolve().then(probe);
      // Do not let a late rejection of an abandoned probe become unhandled.
      attempt.catch(() => undefined);
      const value = await Promise.race([
        attempt,
        sleep(remaining, PROBE_HUNG, { signal: guard.signal }),
      ]);
      if (value === PROBE_HUNG) {
        // Keep what an earlier attempt reported: it says more than "hung".
        if (!settledOnce) {
          failed = true;
          lastError = new Error("the probe did not finish before the deadline");
        }
      } else if (value) {
        return value;
      } else {
        settledOnce = true;
        failed = false;
        lastValue = value;
      }
    } catch (e) {
      settledOnce = true;
      failed = true;
      lastError = e;
    } finally {
      guard.abort();
    }

    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(intervalMs, left));
  }

  const last = failed ? describeError(lastError) : `the probe returned ${String(lastValue)}`;
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}: ${last}`, {
    cause: failed ? lastError : undefined,
  });
}
