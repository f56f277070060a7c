/**
 * One refresh's worth of metrics: a prom-client Registry of our own (never
 * the global one), filled afresh each time. A new set per refresh means a
 * label set that is gone (the leader moved, a bridge was deleted) is gone
 * from the next scrape too, with no bookkeeping of what to forget.
 */
import { Counter, Gauge, Registry } from "prom-client";

type Labels = Record<string, string>;

export class MetricSet {
  readonly registry = new Registry();
  private readonly gauges = new Map<string, Gauge>();
  private readonly counters = new Map<string, Counter>();

  /**
   * Sets gauge `name` for `labels` (the first call fixes its help and label
   * names). A name ending in `_total` is ovn-kubernetes' (e.g.
   * `ovs_vswitchd_bridge_flows_total`) and is typed a counter, as there:
   * Prometheus' linter (`promtool check metrics`) refuses that suffix on
   * anything else.
   */
  gauge(name: string, help: string, value: number, labels: Labels = {}): void {
    if (name.endsWith("_total")) {
      this.counter(name, help, value, labels);
      return;
    }
    let gauge = this.gauges.get(name);
    if (!gauge) {
      gauge = new Gauge({
        name,
        help,
        labelNames: Object.keys(labels),
        registers: [this.registry],
      });
      this.gauges.set(name, gauge);
    }
    gauge.set(labels, value);
  }

  /** A constant 1 labelled with what it describes (`*_build_info`, `*_server_role`, …). */
  info(name: string, help: string, labels: Labels): void {
    this.gauge(name, help, 1, labels);
  }

  /** Counter `name` at `value`: a total kept by someone else (a program, the supervisor). */
  counter(name: string, help: string, value: number, labels: Labels = {}): void {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = new Counter({
        name,
        help,
        labelNames: Object.keys(labels),
        registers: [this.registry],
      });
      this.counters.set(name, counter);
    }
    counter.inc(labels, value);
  }
}
