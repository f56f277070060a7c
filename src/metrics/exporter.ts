/**
 * What /metrics answers: the member's metrics, read from its programs and
 * its daemon and cached. A scrape does not wait for the programs: it gets
 * the text of the last refresh, which was made just before it. Each scrape
 * plans one refresh to end about LEAD_MS before the next scrape is due (as
 * far apart as the last two scrapes were), and never sooner than REFRESH_MS
 * after the last one began: with Prometheus scraping every 15 s, that is one
 * refresh per scrape, at most a second old when served. When nobody
 * scrapes, nothing is refreshed and no program is asked anything. Only a
 * scrape that finds the text older than STALE_MS (the first one, or one
 * after a long pause) waits for a refresh.
 */

/** Programs are asked at most this often. */
export const REFRESH_MS = 5_000;
/** How long before the expected scrape a refresh should have ended. */
export const LEAD_MS = 1_000;
/** Text older than this is not served: the scrape waits for a refresh. */
export const STALE_MS = 30_000;

export interface ExporterOptions {
  refreshMs?: number;
  staleMs?: number;
  /** The clock (tests give a fake one). */
  now?: () => number;
}

export class Exporter {
  private text: string | undefined;
  private refreshedAt = 0;
  private refreshStartedAt = 0;
  private refreshTookMs = 0;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastScrape = 0;
  private readonly refreshMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;

  /** `collect` reads everything afresh (member-metrics.ts) and gives the page's text. */
  constructor(
    private readonly collect: () => Promise<string>,
    options: ExporterOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? REFRESH_MS;
    this.staleMs = options.staleMs ?? STALE_MS;
    this.now = options.now ?? Date.now;
  }

  /** The metrics in Prometheus' text format. */
  async scrape(): Promise<string> {
    const now = this.now();
    const interval = this.lastScrape === 0 ? this.refreshMs : now - this.lastScrape;
    this.lastScrape = now;
    if (this.text === undefined || now - this.refreshedAt > this.staleMs) await this.refresh();
    this.planRefresh(interval);
    return this.text ?? "";
  }

  /** Drops a planned refresh (the listener closed). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One refresh, to end LEAD_MS before a scrape `interval` from now; none when one is planned. */
  private planRefresh(interval: number): void {
    if (this.timer) return;
    const now = this.now();
    const due = Math.max(
      this.refreshStartedAt + this.refreshMs,
      now + Math.min(interval, this.staleMs) - LEAD_MS - this.refreshTookMs,
    );
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.refresh();
      },
      Math.max(0, due - now),
    ).unref();
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      this.refreshStartedAt = this.now();
      try {
        this.text = await this.collect();
        this.refreshedAt = this.now();
      } catch {
        // Each collector leaves out what it cannot read; this is the unforeseen.
      } finally {
        this.refreshTookMs = this.now() - this.refreshStartedAt;
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}
