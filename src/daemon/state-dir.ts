/**
 * Where everything of one member lives (DESIGN §3). Several members can run
 * on one machine, each with its own state dir, so no path is global.
 */
import { join, resolve } from "node:path";
import { MicroOvnError } from "../errors.js";

export const DEFAULT_STATE_DIR = "/var/lib/microovn";

/** Node cannot connect to unix sockets whose path is longer (sun_path is 108 bytes). */
export const MAX_SOCKET_PATH = 107;

export class StateDir {
  readonly root: string;

  constructor(root: string = process.env.MICROOVN_STATE_DIR ?? DEFAULT_STATE_DIR) {
    this.root = resolve(root);
    const longest = this.socket("ovn-controller.999999999.ctl");
    if (Buffer.byteLength(longest) > MAX_SOCKET_PATH) {
      throw new MicroOvnError(
        "STATE_DIR_TOO_LONG",
        `state dir ${this.root} is too long: its sockets would exceed ${MAX_SOCKET_PATH} bytes; ` +
          `choose a shorter --state-dir`,
      );
    }
  }

  get controlSocket(): string {
    return join(this.root, "control.socket");
  }

  get pkiDir(): string {
    return join(this.root, "data", "pki");
  }

  get centralDbDir(): string {
    return join(this.root, "data", "central", "db");
  }

  get stateDbDir(): string {
    return join(this.root, "data", "state", "db");
  }

  get switchDbDir(): string {
    return join(this.root, "data", "switch", "db");
  }

  /** What this member is (name, address, services, chassis settings). */
  get memberConfigPath(): string {
    return join(this.root, "data", "member.json");
  }

  /** The cluster's layout as this member last saw it. */
  get clusterLayoutPath(): string {
    return join(this.root, "data", "cluster.json");
  }

  /** A `cluster recover` that made new database clusters but has not finished. */
  get unfinishedRecoveryPath(): string {
    return join(this.root, "data", "recovery.json");
  }

  get dataDir(): string {
    return join(this.root, "data");
  }

  /** The daemon's own pidfile. */
  get daemonPidFile(): string {
    return join(this.runDir, "microovnd.pid");
  }

  /** Sockets, control sockets and pidfiles (OVS_RUNDIR = OVN_RUNDIR = this). */
  get runDir(): string {
    return join(this.root, "run");
  }

  get logDir(): string {
    return join(this.root, "logs");
  }

  socket(name: string): string {
    return join(this.runDir, name);
  }

  log(program: string): string {
    return join(this.logDir, `${program}.log`);
  }

  backupDir(at: Date = new Date()): string {
    return join(this.root, `backup_${Math.floor(at.getTime() / 1000)}`);
  }
}
