/**
 * Keeps a repeated refusal from flooding the log: a removed member that
 * still runs asks its old peers something every few seconds, and each ask
 * is refused. The first of a kind is let through at once; the same again
 * within the interval is counted, and the next one let through says how
 * many were left out (`repeated`).
 */
export class RefusalThrottle {
  private readonly seen = new Map<string, { at: number; repeated: number }>();

  constructor(private readonly intervalMs = 60_000) {}

  /** How many like it were left out since the last one let through, or undefined to leave this one out. */
  pass(key: string, now = Date.now()): number | undefined {
    const last = this.seen.get(key);
    if (last && now - last.at < this.intervalMs) {
      last.repeated++;
      return undefined;
    }
    this.seen.set(key, { at: now, repeated: 0 });
    // Old keys go, so that callers that come and go are not remembered forever.
    for (const [k, v] of this.seen)
      if (now - v.at >= this.intervalMs && k !== key) this.seen.delete(k);
    return last?.repeated ?? 0;
  }
}
