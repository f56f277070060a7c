/**
 * What /metrics answers: the member's metrics, read from its programs and
 * its daemon and cached. A scrape never waits for a program: it gets the
 * text of the last refresh. Refreshes (every program asked once, all at
 * the same time) run every REFRESH_MS while someone scrapes, and stop once
 * nobody has for IDLE_AFTER_MS, so an unscraped member asks its programs
 * nothing. Only the very first scrape waits, for the first refresh.
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

export const REFRESH_MS = 5_000;
export const IDLE_AFTER_MS = 60_000;

export interface ExporterOptions {
  refreshMs?: number;
  idleAfterMs?: number;
}

export class Exporter {
  private text: string | undefined;
  private refreshing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastScrape = 0;
  private readonly slow: SlowReads;
  private readonly refreshMs: number;
  private readonly idleAfterMs: number;

  constructor(
    private readonly rt: MemberRuntime,
    private readonly watcher: ClusterWatcher,
    options: ExporterOptions = {},
  ) {
    this.refreshMs = options.refreshMs ?? REFRESH_MS;
    this.idleAfterMs = options.idleAfterMs ?? IDLE_AFTER_MS;
    this.slow = slowReads(rt, watcher);
  }

  /** The metrics in Prometheus' text format. */
  async scrape(): Promise<string> {
    this.lastScrape = Date.now();
    if (this.text === undefined) await this.refresh();
    else if (!this.timer && !this.refreshing) void this.refresh();
    return this.text ?? "";
  }

  /** Stops refreshing (the daemon exits or the listener closes). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.collect()
      .then((text) => {
        this.text = text;
      })
      .catch(() => undefined)
      .finally(() => {
        this.refreshing = undefined;
        clearTimeout(this.timer);
        this.timer =
          Date.now() - this.lastScrape < this.idleAfterMs
            ? setTimeout(() => void this.refresh(), this.refreshMs).unref()
            : undefined;
      });
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
