/**
 * Everything one member's daemon works with: its state dir, certificates,
 * supervisor, configuration, and the service objects that know the OVN and
 * OVS programs. The lifecycle steps (src/lifecycle/) take it as their
 * argument; they run one at a time (`exclusive`).
 */
import { StateDb } from "../cluster/state-db.js";
import { MicroOvnError } from "../errors.js";
import { MemberConfigFile, type MemberConfig } from "../member/config.js";
import { Central } from "../ovn/central.js";
import { Chassis } from "../ovn/chassis.js";
import { Switch, detectDatapath, type DatapathType } from "../ovn/switch.js";
import { PkiStore } from "../pki/store.js";
import { Supervisor, type SupervisorOptions } from "../supervisor/supervisor.js";
import type { StateDir } from "./state-dir.js";

export class MemberRuntime {
  readonly pki: PkiStore;
  readonly supervisor: Supervisor;
  readonly configFile: MemberConfigFile;
  readonly vswitch: Switch;
  readonly chassis: Chassis;
  /** Undefined until bootstrapped. */
  config: MemberConfig | undefined;
  private datapath: DatapathType | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly state: StateDir,
    supervisorOptions: SupervisorOptions = {},
  ) {
    this.pki = new PkiStore(state.pkiDir);
    this.supervisor = new Supervisor(supervisorOptions);
    this.configFile = new MemberConfigFile(state.memberConfigPath);
    this.vswitch = new Switch(state);
    this.chassis = new Chassis(this.vswitch, this.pki);
  }

  async load(): Promise<MemberConfig | undefined> {
    this.config = await this.configFile.read();
    return this.config;
  }

  async save(config: MemberConfig): Promise<void> {
    await this.configFile.write(config);
    this.config = config;
  }

  requireConfig(): MemberConfig {
    if (!this.config) {
      throw new MicroOvnError(
        "NOT_BOOTSTRAPPED",
        "this member is not part of a cluster yet; run `microovn cluster bootstrap` first",
      );
    }
    return this.config;
  }

  central(): Central {
    return new Central(this.state, this.pki, this.requireConfig().address);
  }

  /** The cluster state database this member serves. */
  stateDb(): StateDb {
    return new StateDb(this.state, this.pki, this.requireConfig().address);
  }

  /** Every NB client remote of the cluster (only this member's, until clustering). */
  nbRemotes(): string[] {
    return [this.central().clientRemote("nb")];
  }

  /** Every SB client remote of the cluster. */
  sbRemotes(): string[] {
    return [this.central().clientRemote("sb")];
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
