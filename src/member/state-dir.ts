/**
 * Where everything of one member lives (DESIGN §3). Several members can run
 * on one machine, each with its own state dir, so no path is global.
 */
import { statSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { MicroOvnError } from "../errors.js";
import { pathExists } from "../util/fs.js";

const BACKUP_PREFIX = "backup_";
const BACKUP_NAME = /^backup_\d+$/;

export const DEFAULT_STATE_DIR = "/var/lib/microovn";

/** Node cannot connect to unix sockets whose path is longer (sun_path is 108 bytes). */
export const MAX_SOCKET_PATH = 107;

/** The first path from `path` up to / that exists and is not a directory, if any. */
function firstNonDirectory(path: string): string | undefined {
  let blocker: string | undefined;
  for (let p = path; ; p = dirname(p)) {
    try {
      if (!statSync(p).isDirectory()) blocker = p;
    } catch {
      /* missing: made when needed */
    }
    if (p === dirname(p)) return blocker;
  }
}

export class StateDir {
  readonly root: string;

  constructor(root: string = process.env.MICROOVN_STATE_DIR ?? DEFAULT_STATE_DIR) {
    if (root.trim() === "") {
      throw new MicroOvnError(
        "STATE_DIR_EMPTY",
        "the state dir is empty (MICROOVN_STATE_DIR= or --state-dir ''); give a directory, " +
          `or unset MICROOVN_STATE_DIR to use ${DEFAULT_STATE_DIR}`,
      );
    }
    this.root = resolve(root);
    const blocker = firstNonDirectory(this.root);
    if (blocker !== undefined) {
      throw new MicroOvnError(
        "STATE_DIR_NOT_A_DIRECTORY",
        `state dir ${this.root} cannot be used: ${blocker} is a file, not a directory; ` +
          "give another --state-dir (or MICROOVN_STATE_DIR)",
      );
    }
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

  /**
   * What the OpenStack API service is told by microovnd: where the databases
   * are and which files it uses (rewritten, then SIGHUP, when they change).
   */
  get openstackApiSettingsPath(): string {
    return join(this.dataDir, "openstack-api.json");
  }

  /**
   * The admin password of the OpenStack API as the first `enable
   * openstack-api` made it (0600), so `openstack-api openrc` can print it
   * on the member that created it.
   */
  get openstackAdminPasswordPath(): string {
    return join(this.dataDir, "openstack-api-admin-password");
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
    return join(this.root, `${BACKUP_PREFIX}${Math.floor(at.getTime() / 1000)}`);
  }

  /**
   * The newest backup_<time>/ that holds a member's data (what `cluster
   * remove` and `cluster recover` leave), or undefined.
   */
  async latestMemberBackup(): Promise<string | undefined> {
    const times = (await readdir(this.root).catch(() => []))
      .filter((f) => BACKUP_NAME.test(f))
      .map((f) => Number(f.slice(BACKUP_PREFIX.length)))
      .sort((a, b) => b - a);
    for (const time of times) {
      const dir = join(this.root, `${BACKUP_PREFIX}${time}`);
      if (await pathExists(join(dir, "data", "member.json"))) return dir;
    }
    return undefined;
  }
}
