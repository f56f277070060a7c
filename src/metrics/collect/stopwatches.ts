/**
 * Stopwatches and coverage counters of an OVN program (ovn-northd,
 * ovn-controller), named as ovn-kubernetes names them:
 * `<program>_<stopwatch>_<statistic>` in milliseconds, e.g.
 * `ovn_northd_ovnnb_db_run_95th_percentile`.
 */
import type { MetricSet } from "../metric-set.js";
import { parseStopwatches, type Stopwatch } from "../read/parse.js";

const STATISTICS: [suffix: string, what: string, pick: keyof Stopwatch][] = [
  ["total_samples", "times measured", "samples"],
  ["maximum", "longest run (ms)", "maximum"],
  ["minimum", "shortest run (ms)", "minimum"],
  ["95th_percentile", "95th percentile (ms)", "percentile95"],
  ["short_term_avg", "short-term average (ms)", "shortTermAverage"],
  ["long_term_avg", "long-term average (ms)", "longTermAverage"],
];

/** A stopwatch name as a metric name part: "ovn-northd-loop" → "ovn_northd_loop". */
function metricPart(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

export function setStopwatches(set: MetricSet, prefix: string, text: string | undefined): void {
  if (text === undefined) return;
  for (const [name, watch] of parseStopwatches(text)) {
    for (const [suffix, what, pick] of STATISTICS) {
      set.gauge(
        `${prefix}_${metricPart(name)}_${suffix}`,
        `Stopwatch ${name}: ${what}`,
        watch[pick],
      );
    }
  }
}
