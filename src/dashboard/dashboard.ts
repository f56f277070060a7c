/**
 * The web dashboard of this member: listens where the cluster-wide setting
 * `dashboard.address` says (each member's own address, port 6690, unless
 * set; `off` for none), follows changes of that setting and of the
 * member's certificate without a restart, and never keeps the daemon from
 * starting: a port that is taken is logged and tried again.
 *
 * While at least one browser watches, the cluster view is gathered every
 * few seconds and the topology replicas are open; with none, nothing runs.
 */
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { DASHBOARD_ADDRESS, DEFAULT_DASHBOARD_ADDRESS } from "../cluster/config-keys.js";
import { bindHost, parseListenAddress } from "../cluster/listen-address.js";
import { connectStateDb } from "../membership/member-row.js";
import type { ClusterWatcher } from "../membership/watcher.js";
import type { MicroOVNDatabase } from "../ovsdb/models/microovn.js";
import type { OvsdbClient } from "../ovsdb/client/client.js";
import { Replica } from "../ovsdb/replica/replica.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { gatherClusterView } from "./cluster-view.js";
import type { ClusterView, Topology } from "./view-types.js";
import { LiveHub } from "./live.js";
import { recordSecurityEvent } from "../security/security-log.js";
import type { DashboardApp } from "./server.js";
import { FailureLimiter, IdentityCheck, SessionStore } from "./sessions.js";
import { TopologySource } from "./topology.js";
import { FollowingListener, type KeyPair } from "../util/following-listener.js";

const CLUSTER_REFRESH_MS = 3_000;
/** A page reloaded within this finds the topology still open. */
const CLOSE_AFTER_MS = 10_000;

const IDENTITY_SELECTION = {
  Identity_User: true,
  Identity_Project: true,
  Identity_Role: true,
  Identity_Assignment: true,
} as const;

export interface DashboardState {
  /** The setting in force: "member:6690", "off", … */
  setting: string;
  /** Where it listens now, as URLs; empty when off or not (yet) listening. */
  urls: string[];
  /** Why it does not listen, when it should. */
  problem?: string;
}

export class Dashboard {
  private readonly listener: FollowingListener;
  /** The routes (fastify), made at the first request: a dashboard nobody opens costs no more. */
  private app: Promise<DashboardApp> | undefined;
  private readonly hub = new LiveHub();
  private readonly sessions = new SessionStore();
  private readonly limiter = new FailureLimiter();
  private readonly identity: IdentityCheck;
  private identityClient: OvsdbClient<MicroOVNDatabase> | undefined;
  private identityReplica: Replica<MicroOVNDatabase> | undefined;
  private topologySource: TopologySource | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private view: Promise<ClusterView> | undefined;

  constructor(
    private readonly rt: MemberRuntime,
    private readonly watcher: ClusterWatcher,
    private readonly log: (message: string) => void,
  ) {
    this.identity = new IdentityCheck({
      table: (name) => {
        if (!this.identityReplica) throw new Error("the identity store has not been read yet");
        return this.identityReplica.table(name);
      },
    });
    this.hub.on("watchers", (n) => this.watchersChanged(n));
    this.listener = new FollowingListener({
      what: "dashboard",
      handler: (req, res) => this.route(req, res),
      tls: () => this.tls(),
      log,
    });
  }

  /** What `microovn dashboard` prints. */
  state(): DashboardState {
    const setting = this.setting();
    const url = this.listener.url();
    const problem = this.listener.problem;
    return { setting, urls: url ? [url] : [], ...(problem ? { problem } : {}) };
  }

  private setting(): string {
    return this.rt.layout.config?.[DASHBOARD_ADDRESS] ?? DEFAULT_DASHBOARD_ADDRESS;
  }

  /** Listens where the setting says now (after a start or a cluster change). */
  async apply(): Promise<void> {
    const config = this.rt.config;
    const parsed = parseListenAddress(this.setting());
    if (!config || typeof parsed === "string" || parsed.off) return this.close();
    const host = bindHost(parsed, config.address);
    await this.listener.listenAt({ host, port: parsed.port, https: true });
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    if (!this.app) {
      void this.openIdentity();
      this.app = import("./server.js").then((m) =>
        m.buildDashboardApp({
          sessions: this.sessions,
          identity: this.identity,
          identityReady: () => this.identityReplica !== undefined,
          limiter: this.limiter,
          hub: this.hub,
          clusterView: () => this.clusterView(),
          topology: () => this.topology(),
          record: (e) => recordSecurityEvent(this.rt.state, e),
        }),
      );
    }
    this.app.then(
      (app) => app.routing(req, res),
      (e: Error) => {
        this.log(`dashboard: ${e.message}`);
        res.writeHead(500).end();
      },
    );
  }

  private async tls(): Promise<KeyPair> {
    const pki = this.rt.pki;
    return {
      key: await readFile(pki.keyPath("microovn"), "utf8"),
      cert: await readFile(pki.certPath("microovn"), "utf8"),
    };
  }

  /** Serves the member's certificate as it is now (after a renewal or a new CA). */
  tlsChanged(): Promise<void> {
    return this.listener.reloadTls();
  }

  /** The identity store's tables, for logins; kept while the dashboard listens. */
  private async openIdentity(): Promise<void> {
    for (let attempt = 0; this.listener.listening && !this.identityReplica; attempt++) {
      try {
        const client = await connectStateDb(this.rt);
        if (!this.listener.listening) {
          client.close();
          return;
        }
        this.identityReplica = await Replica.start(client, IDENTITY_SELECTION);
        this.identityClient = client;
        this.identityReplica.on("change", () => this.checkSessions());
      } catch (e) {
        if (attempt % 10 === 0) this.log(`dashboard: identity store: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 2_000));
      }
    }
  }

  /** Ends the sessions of users who lost their role, were disabled or deleted. */
  private checkSessions(): void {
    for (const s of this.sessions.endWhere((s) => this.identity.rolesOf(s.user).length > 0)) {
      this.hub.endSession(s.id);
    }
  }

  /**
   * An open page counts as use, so its session does not go idle; a session
   * past its absolute limit has its streams closed (the page asks to log in).
   */
  private checkStreams(): void {
    for (const id of this.hub.sessionIds()) {
      if (!this.sessions.touch(id)) this.hub.endSession(id);
    }
  }

  private clusterView(): Promise<ClusterView> {
    this.view ??= gatherClusterView(this.rt, this.watcher).finally(() => {
      // Requests within one round share it; the next round asks afresh.
      setTimeout(() => (this.view = undefined), 1_000).unref();
    });
    return this.view;
  }

  private async topology(): Promise<Topology> {
    if (this.topologySource) return this.topologySource.snapshot();
    // A page that asks without watching: read once and close.
    const source = new TopologySource(this.rt);
    const opened = source.open();
    await Promise.race([opened, new Promise((r) => setTimeout(r, 5_000))]);
    const topology = source.snapshot();
    source.close();
    return topology;
  }

  private watchersChanged(count: number): void {
    if (count > 0) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
      if (!this.refreshTimer) this.startWatching();
    } else if (this.refreshTimer && !this.idleTimer) {
      this.idleTimer = setTimeout(() => this.stopWatching(), CLOSE_AFTER_MS);
      this.idleTimer.unref();
    }
  }

  private startWatching(): void {
    const refresh = () => {
      this.checkStreams();
      void this.clusterView()
        .then((v) => this.hub.publish("cluster", v))
        .catch((e: Error) => this.log(`dashboard: cluster view: ${e.message}`));
    };
    refresh();
    this.refreshTimer = setInterval(refresh, CLUSTER_REFRESH_MS);
    const source = new TopologySource(this.rt);
    source.on("change", () => this.hub.publish("topology", source.snapshot()));
    this.topologySource = source;
    void source.open();
  }

  private stopWatching(): void {
    clearInterval(this.refreshTimer);
    clearTimeout(this.idleTimer);
    this.refreshTimer = this.idleTimer = undefined;
    this.topologySource?.close();
    this.topologySource = undefined;
  }

  /** Stops listening (setting off, leaving the cluster, daemon exit). */
  async close(): Promise<void> {
    this.stopWatching();
    this.hub.closeAll();
    await this.listener.close();
    this.identityReplica?.close();
    this.identityClient?.close();
    this.identityReplica = undefined;
    this.identityClient = undefined;
    const app = this.app;
    this.app = undefined;
    await (await app?.catch(() => undefined))?.close();
  }
}
