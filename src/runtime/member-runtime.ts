/**
 * Everything one member's daemon works with: its state dir, certificates,
 * supervisor, configuration, and the service objects that know the OVN and
 * OVS programs. The lifecycle steps (src/lifecycle/) take it as their
 * argument; they run one at a time (`exclusive`).
 *
 * It sits in the middle of src/'s layers, bottom first: errors.ts and
 * version.ts → util, process, ovsdb → pki, supervisor, identity → member → host,
 * ovn → lab, cluster → runtime (this), openstack → membership → lifecycle →
 * daemon → cli.
 * Each imports only from those before it, so everything it is made of lies
 * below it and everything that takes it above. test/unit/layers.test.ts
 * holds the order and checks it.
 */
import {
  LayoutFile,
  databaseRemotes,
  stateDbRemotes,
  type ClusterLayout,
  type LayoutMember,
} from "../cluster/layout.js";
import { StateDb } from "../cluster/state-db.js";
import { MemberConfigFile, notMemberError, type MemberConfig } from "../member/config.js";
import { Central, clientPort, sslTarget, type CentralDatabase } from "../ovn/central.js";
import { CENTRAL_IPS, RECOVERY_MARKER, parseCentralIps } from "../cluster/config-keys.js";
import { Chassis } from "../ovn/chassis.js";
import { Switch, detectDatapath, type DatapathType } from "../ovn/switch.js";
import { PkiStore } from "../pki/store.js";
import { Supervisor, type SupervisorOptions } from "../supervisor/supervisor.js";
import type { StateDir } from "../member/state-dir.js";

export class MemberRuntime {
  readonly pki: PkiStore;
  readonly supervisor: Supervisor;
  readonly configFile: MemberConfigFile;
  readonly layoutFile: LayoutFile;
  readonly vswitch: Switch;
  readonly chassis: Chassis;
  /** Undefined until bootstrapped. */
  config: MemberConfig | undefined;
  /** Every member, as last seen in the cluster state database. */
  layout: ClusterLayout = { members: [] };
  /** Where the NB and SB Raft leaders were last seen (client remotes). */
  readonly leaders: Partial<Record<CentralDatabase, string>> = {};
  /** Which SB cluster ovn-controller was last started on (`sbCluster()`, see refresh.ts). */
  appliedCentral: string | undefined;
  /** Called after this member's certificate or CA files changed (the daemon reloads its TLS). */
  tlsChanged: () => Promise<void> = () => Promise.resolve();
  private datapath: DatapathType | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly state: StateDir,
    supervisorOptions: SupervisorOptions = {},
  ) {
    this.pki = new PkiStore(state.pkiDir);
    this.supervisor = new Supervisor(supervisorOptions);
    this.configFile = new MemberConfigFile(state.memberConfigPath);
    this.layoutFile = new LayoutFile(state.clusterLayoutPath);
    this.vswitch = new Switch(state);
    this.chassis = new Chassis(this.vswitch, this.pki);
  }

  async load(): Promise<MemberConfig | undefined> {
    this.config = await this.configFile.read();
    this.layout = (await this.layoutFile.read()) ?? { members: [] };
    return this.config;
  }

  async save(config: MemberConfig): Promise<void> {
    await this.configFile.write(config);
    this.config = config;
  }

  requireConfig(): MemberConfig {
    if (!this.config) throw notMemberError();
    return this.config;
  }

  central(): Central {
    return new Central(this.state, this.pki, this.requireConfig().address);
  }

  /** The cluster state database this member serves. */
  stateDb(): StateDb {
    return new StateDb(this.state, this.pki, this.requireConfig().address);
  }

  async saveLayout(layout: ClusterLayout): Promise<void> {
    await this.layoutFile.write(layout);
    this.layout = layout;
  }

  /** This member's place in the layout. */
  self(): LayoutMember | undefined {
    const name = this.config?.name;
    return this.layout.members.find((m) => m.name === name);
  }

  isVoter(): boolean {
    return this.self()?.role === "voter";
  }

  /** The external OVN central's addresses (`ovn.central-ips`), or undefined. */
  externalCentral(): string[] | undefined {
    const value = this.layout.config?.[CENTRAL_IPS];
    return value === undefined ? undefined : parseCentralIps(value);
  }

  /**
   * Which SB cluster the chassis follows: the external central's, or this
   * cluster's own as the last `cluster recover` made it. ovn-controller is
   * started afresh when it changes (refresh.ts).
   */
  sbCluster(): string {
    return JSON.stringify([
      this.externalCentral() ?? "own",
      this.layout.config?.[RECOVERY_MARKER] ?? "",
    ]);
  }

  /**
   * Where chassis and client tools reach NB: the external central when one
   * is set, else every central of the cluster, the leader's first.
   */
  nbRemotes(): string[] {
    return this.centralRemotes("nb");
  }

  /** Where chassis and client tools reach SB (as nbRemotes). */
  sbRemotes(): string[] {
    return this.centralRemotes("sb");
  }

  private centralRemotes(db: CentralDatabase): string[] {
    const external = this.externalCentral();
    return external
      ? external.map((ip) => sslTarget(ip, clientPort(db)))
      : this.ownCentralRemotes(db);
  }

  /** This cluster's own NB or SB servers, the leader's first (what ovn-northd uses). */
  ownCentralRemotes(db: CentralDatabase): string[] {
    const remotes = databaseRemotes(this.layout, db);
    const leader = this.leaders[db];
    return leader !== undefined && remotes.includes(leader)
      ? [leader, ...remotes.filter((r) => r !== leader)]
      : remotes;
  }

  /**
   * ovn-northd's NB or SB list: the cluster's own servers, leader first, and
   * always this member's, since northd runs only beside them. The layout can
   * lag behind: while central is being enabled again on the only member that
   * had it, it lists no central at all.
   */
  northdRemotes(db: CentralDatabase): string[] {
    const own = sslTarget(this.requireConfig().address, clientPort(db));
    const remotes = this.ownCentralRemotes(db);
    return remotes.includes(own) ? remotes : [...remotes, own];
  }

  /** Where this member reaches the cluster state database. */
  stateDbRemotes(): string[] {
    return this.isVoter() ? [`unix:${this.stateDb().unixSocket}`] : stateDbRemotes(this.layout);
  }

  async datapathType(): Promise<DatapathType> {
    this.datapath ??= await detectDatapath();
    return this.datapath;
  }

  /** Runs `step` after every step queued before it has finished. */
  exclusive<T>(step: () => Promise<T>): Promise<T> {
    const result = this.queue.then(step);
    this.queue = result.catch(() => undefined);
    return result;
  }
}
