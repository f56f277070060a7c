/**
 * microovnd: one per member. It owns the member's state dir, runs the
 * control API, brings the member's services back when it starts (adopting
 * processes that still run), and checks certificates daily.
 *
 * Two ways to end: SIGTERM/SIGINT let go of the OVN processes and leave them
 * running (a daemon restart or upgrade must not touch the data plane);
 * `microovn shutdown` stops them all first.
 */
import { readFile, rm, writeFile, mkdir } from "node:fs/promises";
import { MicroOvnError } from "../errors.js";
import { RENEWAL_DAYS, caRenewal, renewDueCertificates } from "../lifecycle/certificates.js";
import { startServices } from "../lifecycle/start.js";
import { stopEverything } from "../lifecycle/stop.js";
import type { SupervisorOptions } from "../supervisor/supervisor.js";
import { isRunning } from "../supervisor/supervisor.js";
import {
  certificateRoutes,
  chassisRoutes,
  clusterRoutes,
  configRoutes,
  daemonRoutes,
  serviceRoutes,
  statusRoutes,
  toolRoutes,
} from "./api/routes.js";
import { identityRoutes } from "./api/identity-routes.js";
import { portRoutes } from "./api/port-routes.js";
import { restartRoutes } from "./api/restart-routes.js";
import { ControlServer } from "./api/control-server.js";
import { MemberServer, type MemberTls } from "./api/member-server.js";
import { memberRoutes } from "./api/member-routes.js";
import type { Readiness, RouteContext } from "./api/route-context.js";
import { ClusterWatcher } from "../membership/watcher.js";
import { recordMember } from "../membership/member-row.js";
import { followLeaders, refresh } from "../lifecycle/refresh.js";
import { regenerateCa } from "../lifecycle/ca-rollout.js";
import { LeaderTracker } from "../membership/leader-tracker.js";
import { readShippedStateSchema } from "../cluster/state-schema.js";
import { StateDbUpgrade } from "../upgrade/state-db-upgrade.js";
import { SECURITY_LOG } from "../cluster/config-keys.js";
import { followSecurityLogSetting } from "../security/switch.js";
import { recordSecurityEvent } from "../security/security-log.js";
import { audited } from "../security/audited.js";
import { RefusalThrottle } from "../security/throttle.js";
import { callerAddress } from "../util/address.js";
import { ElectionTimerKeeper } from "../lifecycle/election-timer.js";
import { notifySystemd } from "../host/systemd.js";
import { log } from "./log.js";
import { MemberRuntime } from "../runtime/member-runtime.js";
import type { StateDir } from "../member/state-dir.js";
import { SchemaUpgrades } from "../upgrade/coordinator.js";
import { Exporter } from "../metrics/exporter.js";
import { memberMetrics } from "../metrics/member-metrics.js";
import { MetricsServer } from "../metrics/server.js";
import { Dashboard } from "../dashboard/dashboard.js";
import { dashboardRoutes } from "./api/dashboard-routes.js";

export const DAEMON_PROCESS_NAME = "microovnd";
/** The exit status of a daemon that found another one running for its state dir. */
export const EXIT_ALREADY_RUNNING = 73;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The pid of a microovnd that runs for this state dir, if any. */
export async function runningDaemon(state: StateDir): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(state.daemonPidFile, "utf8")).trim());
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !isRunning(pid)) {
      return undefined;
    }
    const comm = (await readFile(`/proc/${pid}/comm`, "utf8")).trim();
    return comm === DAEMON_PROCESS_NAME ? pid : undefined;
  } catch {
    return undefined;
  }
}

export class Daemon implements RouteContext {
  readonly rt: MemberRuntime;
  readonly watcher: ClusterWatcher;
  readonly leaders: LeaderTracker;
  private readonly stateUpgrade: StateDbUpgrade;
  readonly schemaUpgrades: SchemaUpgrades;
  private readonly electionTimer: ElectionTimerKeeper;
  private readonly dashboard: Dashboard;
  private leaderMoveTimer: NodeJS.Timeout | undefined;
  private readonly server: ControlServer;
  /** Prometheus metrics on metrics.address (src/metrics/). */
  readonly metrics: MetricsServer;
  private memberServer: MemberServer | undefined;
  private ready = false;
  private resumeError: string | undefined;
  private renewalTimer: NodeJS.Timeout | undefined;
  private readonly refusals = new RefusalThrottle();
  private exiting = false;
  /** Where systemd listens for readiness (NOTIFY_SOCKET), when it started us. */
  notifySocket: string | undefined;

  constructor(
    readonly state: StateDir,
    supervisorOptions: SupervisorOptions = {},
  ) {
    this.rt = new MemberRuntime(state, supervisorOptions);
    this.rt.tlsChanged = async () => {
      this.memberServer?.setTls(await this.memberTls());
      await this.metrics.reloadTls();
      await this.dashboard.tlsChanged();
    };
    this.watcher = new ClusterWatcher(this.rt);
    this.metrics = new MetricsServer(new Exporter(memberMetrics(this.rt, this.watcher)), {
      memberAddress: () => this.rt.config?.address,
      tls: () => this.memberTls(),
      log,
    });
    this.dashboard = new Dashboard(this.rt, this.watcher, log);
    this.watcher.on("problem", (message) => log(message));
    this.leaders = new LeaderTracker(this.rt);
    this.stateUpgrade = new StateDbUpgrade(this.rt, this.watcher, log);
    // Columns the old schema lacked can be written now.
    this.watcher.on("schema", (version) => {
      log(`the state database runs schema ${version}`);
      this.recordSelf();
    });
    this.schemaUpgrades = new SchemaUpgrades(this.rt, {
      members: () => this.watcher.knownMembers() ?? [],
      log,
    });
    this.electionTimer = new ElectionTimerKeeper(this.rt, log);
    this.leaders.on("moved", (db, remote) => {
      this.rt.leaders[db] = remote;
      log(`the ${db.toUpperCase()} leader is at ${remote}`);
      // NB and SB usually move together: act once for both.
      clearTimeout(this.leaderMoveTimer);
      this.leaderMoveTimer = setTimeout(() => {
        void this.rt
          .exclusive(() => followLeaders(this.rt))
          .then((done) => done.length > 0 && log(`followed the new leaders: ${done.join(", ")}`))
          .catch((e: Error) => log(`could not follow the new leaders: ${e.message}`));
      }, 50);
    });
    this.watcher.on("layout", () => {
      void this.rt
        .exclusive(async () => {
          // Changes queue up behind a long step (a recovery, a join): apply the
          // layout as it is when the turn comes, not a stale one from the queue.
          const layout = this.watcher.changedLayout();
          return { layout, done: layout ? await refresh(this.rt, layout) : [] };
        })
        .then(({ layout, done }) => {
          if (layout && done.length > 0)
            log(
              `cluster changed (${layout.members.map((m) => m.name).join(", ")}): refreshed ${done.join(", ")}`,
            );
          followSecurityLogSetting(this.state, this.rt.layout.config?.[SECURITY_LOG]);
          this.watcher.followRemotes();
          void this.metrics.apply(this.rt.layout.config);
          this.leaders.follow();
          this.schemaUpgrades.poke();
          this.electionTimer.check();
          void this.dashboard.apply();
        })
        .catch((e: Error) => log(`refresh after a cluster change failed: ${e.message}`));
    });
    this.server = new ControlServer([
      ...clusterRoutes(this),
      ...statusRoutes(this),
      ...serviceRoutes(this),
      ...certificateRoutes(this),
      ...configRoutes(this),
      ...identityRoutes(this),
      ...chassisRoutes(this),
      ...portRoutes(this),
      ...restartRoutes(this),
      ...dashboardRoutes(this.dashboard),
      ...toolRoutes(this),
      ...daemonRoutes(this),
    ]);
    this.rt.supervisor.on("exited", (s) =>
      log(
        `${s.name} exited (${s.lastExit?.signal ?? `status ${s.lastExit?.code ?? "unknown"}`})` +
          (s.nextStartAt ? `; restarting at ${s.nextStartAt.toISOString()}` : ""),
      ),
    );
    this.rt.supervisor.on("started", (s) =>
      log(`${s.name} ${s.adopted ? "adopted" : "started"} (pid ${s.pid})`),
    );
  }

  readiness(): Readiness {
    const r: Readiness = {
      ready: this.ready,
      bootstrapped: this.rt.config !== undefined,
      pid: process.pid,
    };
    if (this.resumeError) r.error = this.resumeError;
    return r;
  }

  async start(): Promise<void> {
    for (const dir of [this.state.runDir, this.state.logDir]) {
      await mkdir(dir, { recursive: true });
    }
    // A state schema that cannot be used (MICROOVN_STATE_SCHEMA pointing at
    // the wrong file) is refused before this daemon takes the state dir.
    await readShippedStateSchema();
    await this.claimPidFile();
    await this.rt.load();
    followSecurityLogSetting(this.state, this.rt.layout.config?.[SECURITY_LOG]);
    await this.server.listen(this.state.controlSocket);
    log(`microovnd ${process.pid} listening on ${this.state.controlSocket}`);
    // Ready as soon as commands can reach us: `systemctl start` returns
    // here, and `microovn waitready` waits for the services themselves.
    await this.tellSystemd({
      ready: true,
      status: this.rt.config ? "bringing the services back" : "not a member yet",
    });
    void this.resume();
    // Metrics listen from the start, a member or not; never in the way of starting.
    void this.metrics.apply(this.rt.layout.config);
    // A member to be bootstrapped will need these soon: get them while idle.
    if (!this.rt.config) {
      void import("../pki/x509.js");
      void this.rt.datapathType();
    }
    this.renewalTimer = setInterval(() => void this.renewCertificates(), DAY_MS);
    this.renewalTimer.unref();
  }

  /**
   * Creates the pidfile exclusively, so that of two daemons started at once
   * (two CLI commands finding none) only one goes on; a pidfile left by a
   * dead daemon is replaced.
   */
  private async claimPidFile(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFile(this.state.daemonPidFile, `${process.pid}\n`, { flag: "wx" });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw e;
      }
      const other = await runningDaemon(this.state);
      if (other !== undefined) {
        throw new MicroOvnError(
          "DAEMON_ALREADY_RUNNING",
          `microovnd already runs for ${this.state.root} (pid ${other}); this one exits. ` +
            (this.notifySocket !== undefined
              ? `To have systemd run it instead: kill ${other} (its OVN processes keep ` +
                "running and are adopted), then `systemctl restart microovnd`"
              : "Use that one"),
        );
      }
      await rm(this.state.daemonPidFile, { force: true });
    }
  }

  private async resume(): Promise<void> {
    try {
      if (this.rt.config) {
        await this.rt.exclusive(() => startServices(this.rt));
        log(`services of ${this.rt.config.name} are up: ${this.rt.config.services.join(", ")}`);
        await this.startMembership();
        this.recordSelf();
        await this.renewCertificates();
      }
    } catch (e) {
      this.resumeError = (e as Error).message;
      log(`could not bring the services back: ${this.resumeError}`);
      await this.tellSystemd({ status: `could not bring the services back: ${this.resumeError}` });
    } finally {
      this.ready = true;
    }
  }

  /** Writes this member's row as it is now (in the background). */
  private recordSelf(): void {
    void this.rt
      .exclusive(() => recordMember(this.rt))
      .catch((e: Error) => log(`could not update this member's row: ${e.message}`));
  }

  private async tellSystemd(message: { ready?: boolean; status?: string }): Promise<void> {
    await notifySystemd(this.notifySocket, message).catch((e: Error) =>
      log(`could not notify systemd: ${e.message}`),
    );
  }

  private async renewCertificates(): Promise<void> {
    try {
      const renewed = await this.rt.exclusive(() => renewDueCertificates(this.rt));
      if (renewed.length > 0) {
        log(`renewed certificates: ${renewed.join(", ")}`);
        const services = renewed.join(",");
        recordSecurityEvent(this.state, {
          event: "certificate.renew",
          outcome: "success",
          services,
        });
      }
      await this.renewCa();
    } catch (e) {
      log(`certificate renewal failed: ${(e as Error).message}`);
    }
  }

  private async renewCa(): Promise<void> {
    const rt = this.rt;
    const name = rt.config?.name;
    const rows = this.watcher.knownMembers();
    if (name === undefined || !rows) return;
    const due = (await rt.pki.renewalsDue([], RENEWAL_DAYS)).includes("ca");
    const action = caRenewal(due, await rt.pki.caOrigin(), name, rows);
    if (action === "warn") {
      log(
        `the external CA expires within ${RENEWAL_DAYS} days; give the cluster a new one ` +
          "with `microovn certificates set-ca`",
      );
    }
    if (action === "regenerate") {
      log("the cluster CA expires soon: making a new one");
      await audited(this.state, "ca.regenerate", { by: "renewal" }, () =>
        regenerateCa(rt, () => this.watcher.members(), log),
      );
    }
  }

  private async memberTls(): Promise<MemberTls> {
    const pki = this.rt.pki;
    const read = (path: string) => readFile(path, "utf8");
    return {
      key: await read(pki.keyPath("microovn")),
      cert: await read(pki.certPath("microovn")),
      ca: await read(pki.caCertPath),
    };
  }

  /**
   * Takes part in the cluster: follows the state database (refreshing on
   * changes, writing heartbeats) and serves the member API. After
   * bootstrap, join, and a daemon start on a member.
   */
  async startMembership(): Promise<void> {
    const config = this.rt.requireConfig();
    this.watcher.start();
    this.leaders.follow();
    this.stateUpgrade.start();
    this.schemaUpgrades.start();
    this.electionTimer.start();
    if (!this.memberServer) {
      const server = new MemberServer(memberRoutes(this), {
        tls: await this.memberTls(),
        isMember: (peer) => this.watcher.isMember(peer.name, peer.fingerprint),
        onRefused: (refusal) => this.recordRefusal(refusal),
      });
      await server.listen(config.address);
      this.memberServer = server;
      log(`member API listening on ${config.address}:${server.port}`);
    }
    void this.dashboard.apply();
    await this.tellSystemd({ status: `${config.name}: services up` });
  }

  /** A member API call refused: one line per caller and reason a minute, counting the rest. */
  private recordRefusal(refusal: {
    code: string;
    reason: string;
    remote?: string;
    path: string;
  }): void {
    const remote = refusal.remote !== undefined ? callerAddress(refusal.remote) : undefined;
    const repeated = this.refusals.pass(`${remote ?? ""} ${refusal.code}`);
    if (repeated === undefined) return;
    recordSecurityEvent(this.state, {
      event: "member-api.refused",
      outcome: "failure",
      ...refusal,
      remote,
      ...(repeated > 0 ? { repeated } : {}),
    });
  }

  /** Stops following the cluster and serving the member API (after leaving it). */
  async stopMembership(): Promise<void> {
    this.stateUpgrade.stop();
    this.watcher.stop();
    this.leaders.stop();
    this.schemaUpgrades.stop();
    this.electionTimer.stop();
    await this.dashboard.close();
    await this.memberServer?.close();
    this.memberServer = undefined;
  }

  /** Stops every OVN process of this member (the data stays). */
  stopServices(): Promise<void> {
    return this.rt.exclusive(() => stopEverything(this.rt));
  }

  /** Ends the daemon; OVN processes still running are left to the next daemon. */
  async exit(code: number): Promise<never> {
    if (!this.exiting) {
      this.exiting = true;
      clearInterval(this.renewalTimer);
      this.stateUpgrade.stop();
      this.watcher.stop();
      this.leaders.stop();
      this.schemaUpgrades.stop();
      this.electionTimer.stop();
      await this.dashboard.close();
      await this.memberServer?.close();
      await this.metrics.close();
      this.rt.supervisor.release();
      await this.server.close();
      await rm(this.state.controlSocket, { force: true });
      if ((await runningDaemon(this.state)) === undefined) {
        await rm(this.state.daemonPidFile, { force: true });
      }
      log(`microovnd ${process.pid} exits`);
    }
    process.exit(code);
  }
}
