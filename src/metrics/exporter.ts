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
import { request } from "node:http";
import type { ClusterWatcher } from "../membership/watcher.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { collectMember, slowReads, type SlowReads } from "./collect/member.js";
import { collectNorthd } from "./collect/northd.js";
import { collectController } from "./collect/ovn-controller.js";
import { collectClusteredServer } from "./collect/ovsdb-cluster.js";
import { collectVswitchd } from "./collect/vswitchd.js";
import { MetricSet } from "./metric-set.js";
import { OPENSTACK_API_METRICS_SOCKET } from "../openstack/metrics.js";

/** Programs are asked at most this often. */
export const REFRESH_MS = 5_000;
/** How long before the expected scrape a refresh should have ended. */
export const LEAD_MS = 1_000;
/** Text older than this is not served: the scrape waits for a refresh. */
export const STALE_MS = 30_000;

export interface ExporterOptions {
  refreshMs?: number;
  staleMs?: number;
}

export class Exporter {
  private text: string | undefined;
  private refreshedAt = 0;
  private refreshStartedAt = 0;
  private refreshTookMs = 0;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastScrape = 0;
  private readonly slow: SlowReads;
  private readonly refreshMs: number;
  private readonly staleMs: number;

  constructor(
    private readonly rt: MemberRuntime,
    private readonly watcher: ClusterWatcher,
    options: ExporterOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? REFRESH_MS;
    this.staleMs = options.staleMs ?? STALE_MS;
    this.slow = slowReads(rt, watcher);
  }

  /** The metrics in Prometheus' text format. */
  async scrape(): Promise<string> {
    const now = Date.now();
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
    const now = Date.now();
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
      this.refreshStartedAt = Date.now();
      try {
        this.text = await this.collect();
        this.refreshedAt = Date.now();
      } catch {
        // Each collector leaves out what it cannot read; this is the unforeseen.
      } finally {
        this.refreshTookMs = Date.now() - this.refreshStartedAt;
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async collect(): Promise<string> {
    const set = new MetricSet();
    const rt = this.rt;
    const config = rt.config;
    if (config) {
      const central = rt.central();
      const stateDb = rt.stateDb();
      const controller = rt.supervisor.get("ovn-controller")?.pid;
      const [nbVersion] = await Promise.all([
        collectClusteredServer(set, {
          prefix: "ovn_db",
          dbName: "OVN_Northbound",
          controlSocket: central.controlSocket("nb"),
          dbFile: central.dbFile("nb"),
        }),
        collectClusteredServer(set, {
          prefix: "ovn_db",
          dbName: "OVN_Southbound",
          controlSocket: central.controlSocket("sb"),
          dbFile: central.dbFile("sb"),
        }),
        collectClusteredServer(set, {
          prefix: "microovn_db",
          dbName: "MicroOVN",
          controlSocket: stateDb.controlSocket,
          dbFile: stateDb.dbFile,
        }),
        collectNorthd(set, central.northdControlSocket),
        collectVswitchd(set, rt.vswitch).then((view) =>
          controller === undefined
            ? undefined
            : collectController(set, rt.chassis.controlSocket(controller), view),
        ),
        collectMember(set, rt, this.watcher, this.slow),
      ]);
      if (nbVersion !== undefined) {
        const versions = await this.slow.schemas.read();
        set.info(
          "ovn_db_build_info",
          "1, labelled with ovsdb-server's and NB/SB's schema versions",
          {
            version: nbVersion,
            nb_schema_version: versions.OVN_Northbound?.active ?? "",
            sb_schema_version: versions.OVN_Southbound?.active ?? "",
          },
        );
      }
    }
    return (await set.registry.metrics()) + (await this.openstackApi());
  }

  /** The OpenStack API service's own metrics, when it runs here (see openstack-api.ts). */
  private openstackApi(): Promise<string> {
    return new Promise((resolve) => {
      const req = request(
        {
          socketPath: this.rt.state.socket(OPENSTACK_API_METRICS_SOCKET),
          path: "/metrics",
          timeout: 2_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve(res.statusCode === 200 ? Buffer.concat(chunks).toString("utf8") : ""),
          );
          res.on("error", () => resolve(""));
        },
      );
      req.on("error", () => resolve(""));
      req.on("timeout", () => req.destroy());
      req.end();
    });
  }
}
