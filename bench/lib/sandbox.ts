/**
 * One benchmark member's sandbox: a fresh network namespace (loopback only,
 * 127.0.0.1) and a short scratch state dir. `close()` stops everything that
 * runs for it — MicroOVN by `shutdown`, then by pid whatever is left in the
 * pidfiles of DIR/run and in the namespace — and removes the namespace and
 * the dir. Sandboxes still open when the process is interrupted are closed
 * by `closeAllSandboxes()`.
 */
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createNamespace, deleteNamespace, runIn } from "../../src/lab/netns.js";
import { run } from "../../src/process/run.js";
import { isAlive, stopPid } from "../../test/helpers/processes.js";
import { makeTempDir, removeDir } from "../../test/helpers/tmp.js";

const open = new Set<Sandbox>();
let counter = 0;
/** Set once closeAllSandboxes() has begun: no new sandbox may start. */
let closingAll = false;

export class Sandbox {
  private closing: Promise<void> | undefined;
  private creating: Promise<void> | undefined;

  private constructor(
    readonly namespace: string,
    readonly dir: string,
  ) {}

  /** `label` is a letter or two that tells the sandboxes apart in `ip netns list`. */
  static async create(label: string): Promise<Sandbox> {
    if (closingAll) throw new Error("interrupted: no new sandbox");
    const dir = await makeTempDir(`bb${label}`);
    if (closingAll) {
      await removeDir(dir);
      throw new Error("interrupted: no new sandbox");
    }
    const namespace = `bb${process.pid}${label}${++counter}`;
    const sandbox = new Sandbox(namespace, dir);
    open.add(sandbox);
    sandbox.creating = createNamespace(namespace);
    try {
      await sandbox.creating;
    } catch (e) {
      await sandbox.close();
      throw e;
    }
    return sandbox;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Pids named by DIR/run/*.pid. */
  async pidfilePids(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const runDir = this.path("run");
    for (const file of await readdir(runDir).catch(() => [] as string[])) {
      if (!file.endsWith(".pid")) continue;
      const pid = Number((await readFile(join(runDir, file), "utf8").catch(() => "")).trim());
      if (Number.isInteger(pid) && pid > 1) out.set(file.slice(0, -4), pid);
    }
    return out;
  }

  /** Pids of the processes inside the namespace. */
  async namespacePids(): Promise<number[]> {
    const r = await run("ip", ["netns", "pids", this.namespace], { allowFailure: true });
    return r.stdout
      .split(/\s+/)
      .filter((s) => s !== "")
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 1 && pid !== process.pid);
  }

  /**
   * Stops everything and removes the namespace and the dir. `microovnCli`,
   * when given, is the CLI whose `shutdown` is tried first (if its daemon
   * still runs).
   */
  close(microovnCli?: string): Promise<void> {
    this.closing ??= this.stopAndRemove(microovnCli);
    return this.closing;
  }

  private async stopAndRemove(microovnCli: string | undefined): Promise<void> {
    await this.creating?.catch(() => undefined);
    try {
      const pids = await this.pidfilePids();
      const daemon = pids.get("microovnd");
      if (microovnCli !== undefined && daemon !== undefined && isAlive(daemon)) {
        await runIn(
          this.namespace,
          process.execPath,
          [microovnCli, "--state-dir", this.dir, "shutdown"],
          { allowFailure: true, timeoutMs: 30_000 },
        ).catch(() => undefined);
      }
      // The netdev datapath's tap devices go away only with `exit --cleanup`.
      const vswitchd = pids.get("ovs-vswitchd");
      const ctl = this.path("run", "ovs-vswitchd.ctl");
      if (vswitchd !== undefined && isAlive(vswitchd) && existsSync(ctl)) {
        await run("ovs-appctl", ["-T", "5", "-t", ctl, "exit", "--cleanup"], {
          allowFailure: true,
          timeoutMs: 10_000,
        }).catch(() => undefined);
      }
      for (const pid of (await this.pidfilePids()).values()) {
        if (isAlive(pid)) await stopPid(pid, 2000);
      }
      // Whatever else runs in the namespace (a CLI call cut short may still start a daemon).
      for (let round = 0; round < 5; round++) {
        const alive = (await this.namespacePids()).filter(isAlive);
        if (alive.length === 0) break;
        await Promise.all(alive.map((pid) => stopPid(pid, 2000)));
      }
    } finally {
      await deleteNamespace(this.namespace);
      await removeDir(this.dir);
      open.delete(this);
    }
  }
}

/** Closes every sandbox still open (after an error or an interrupt). */
export async function closeAllSandboxes(microovnCli?: string): Promise<void> {
  closingAll = true;
  while (open.size > 0) {
    for (const sandbox of [...open]) {
      await sandbox.close(microovnCli).catch(() => open.delete(sandbox));
    }
  }
}
