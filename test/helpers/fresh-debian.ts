/**
 * A fresh Debian 12 machine with systemd as PID 1, from the shared
 * fresh-debian tool (../shared/tools/fresh-debian next to the project, or
 * FRESH_DEBIAN_TOOL): a systemd-nspawn container on this machine with this
 * project's checkout mounted read-only at /src. `prepare()` builds the
 * tool's root file system when there is none (about 70 s, once) and boots
 * the machine; it returns why the machine cannot boot, if it cannot, so
 * the caller can skip. `down()` powers it off and deletes it.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { run, type RunResult } from "../../src/process/run.js";

export const PROJECT = resolve(import.meta.dirname, "../..");

const TOOL = process.env.FRESH_DEBIAN_TOOL ?? resolve(PROJECT, "../shared/tools/fresh-debian");
const BASE = process.env.FRESH_DEBIAN_DIR ?? "/tmp/fresh-debian";

function lastLine(r: RunResult): string {
  const lines = `${r.stdout}\n${r.stderr}`.trim().split("\n");
  return lines[lines.length - 1] ?? `exit status ${r.exitCode}`;
}

export class FreshDebian {
  private booted = false;

  /** `name`: the tool's machine name, [a-z][a-z0-9-]{0,10}. */
  constructor(readonly name: string) {}

  private tool(script: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
    return run(join(TOOL, script), args, {
      allowFailure: true,
      timeoutMs,
      cwd: PROJECT,
      env: { PROJECT },
    });
  }

  /** Builds the root file system if needed and boots; undefined once it runs, else why not. */
  async prepare(): Promise<string | undefined> {
    if (process.getuid?.() !== 0) return "the fresh-debian tool needs root";
    if (!existsSync(join(TOOL, "boot.sh"))) return `no fresh-debian tool at ${TOOL}`;
    if (!existsSync(join(BASE, "rootfs", ".fresh-debian-ready"))) {
      const made = await this.tool("make.sh", [], 20 * 60_000);
      if (made.exitCode !== 0) {
        return `cannot build the Debian 12 root file system (${TOOL}/make.sh): ${lastLine(made)}`;
      }
    }
    // A machine of this name left by a run that was killed.
    if (existsSync(join(BASE, "machines", this.name)))
      await this.tool("down.sh", [this.name], 120_000);
    this.booted = true; // from here on, down() has something to remove
    const boot = await this.tool("boot.sh", [this.name], 300_000);
    if (boot.exitCode !== 0) {
      return `the container cannot boot here (${TOOL}/boot.sh): ${lastLine(boot)}`;
    }
    return undefined;
  }

  /** Runs a shell command inside as root (login shell, cwd /root); never throws on exit status. */
  sh(command: string, timeoutMs = 120_000): Promise<RunResult> {
    return this.tool("run.sh", [this.name, command], timeoutMs);
  }

  /** Like sh(), but throws with the output unless it exits 0; returns stdout. */
  async ok(command: string, timeoutMs?: number): Promise<string> {
    const r = await this.sh(command, timeoutMs);
    if (r.exitCode !== 0) {
      throw new Error(`in ${this.name}: ${command}\nexited ${r.exitCode}:\n${r.stdout}${r.stderr}`);
    }
    return r.stdout;
  }

  /** Reboots and waits until systemd runs again. */
  async reboot(): Promise<void> {
    const r = await this.tool("reboot.sh", [this.name], 300_000);
    if (r.exitCode !== 0) throw new Error(`reboot of ${this.name} failed: ${r.stdout}${r.stderr}`);
  }

  async down(): Promise<void> {
    if (!this.booted) return;
    this.booted = false;
    await this.tool("down.sh", [this.name], 300_000);
  }
}
