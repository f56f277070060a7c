/**
 * One MicroOVN member for integration tests: its own network namespace
 * (loopback 127.0.0.1, so ports never collide with other tests), its own
 * short state dir, and the built CLI (dist/) run inside the namespace — as a
 * user would run it. `cleanup()` shuts the member down and, should that
 * fail, stops its processes by the PIDs in its pidfiles, then removes the
 * namespace and the dir.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { plugVmArgs } from "../../src/lab/lab.js";
import { createNamespace, createVeth, deleteNamespace, runIn } from "../../src/lab/netns.js";
import { run, type RunResult } from "../../src/process/run.js";
import { readPidFiles } from "../../src/supervisor/supervisor.js";
import { isAlive, stopPid } from "./processes.js";
import { makeTempDir, removeDir } from "./tmp.js";

export const CLI = resolve(import.meta.dirname, "../../dist/cli/main.js");

let counter = 0;

function uniqueName(prefix: string): string {
  return `${prefix}${process.pid}x${++counter}`;
}

export interface Vm {
  namespace: string;
  /** The logical switch port it is bound to. */
  port: string;
  mac: string;
  ip: string;
}

export class TestMember {
  private readonly vms: Vm[] = [];

  private constructor(
    readonly namespace: string,
    readonly dir: string,
  ) {}

  static async create(label = "m"): Promise<TestMember> {
    if (!existsSync(CLI)) {
      throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
    }
    const namespace = uniqueName(label.slice(0, 4));
    const dir = await makeTempDir(label);
    await createNamespace(namespace);
    return new TestMember(namespace, dir);
  }

  /** `microovn --state-dir DIR ARGS…` inside the namespace; never throws on exit status. */
  cli(
    args: readonly string[],
    options: { env?: Record<string, string>; input?: string } = {},
  ): Promise<RunResult> {
    const envArgs = options.env
      ? ["env", ...Object.entries(options.env).map(([k, v]) => `${k}=${v}`)]
      : [];
    const [program, ...rest] = [
      ...envArgs,
      process.execPath,
      CLI,
      "--state-dir",
      this.dir,
      ...args,
    ];
    return runIn(this.namespace, program!, rest, {
      allowFailure: true,
      timeoutMs: 60_000,
      ...(options.input !== undefined ? { input: options.input } : {}),
    });
  }

  /** Like cli(), but throws (with stderr) unless it exits 0; returns stdout. */
  async ok(args: readonly string[]): Promise<string> {
    const r = await this.cli(args);
    if (r.exitCode !== 0) {
      throw new Error(`microovn ${args.join(" ")} exited ${r.exitCode}: ${r.stderr}${r.stdout}`);
    }
    return r.stdout;
  }

  /** Runs a program inside the member's namespace; throws on failure. */
  async sh(program: string, args: readonly string[]): Promise<string> {
    return (await runIn(this.namespace, program, args, { timeoutMs: 30_000 })).stdout;
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Pids by pidfile name (e.g. "ovn-northd", "microovnd"). */
  pids(): Promise<Record<string, number>> {
    return readPidFiles(this.path("run"));
  }

  /**
   * A VM: a namespace with eth0 (MAC, IP/24) whose peer is plugged into
   * br-int as logical port `port` (the logical port itself is the test's to make).
   */
  async addVm(port: string, mac: string, ip: string): Promise<Vm> {
    const vm: Vm = { namespace: uniqueName("vm"), port, mac, ip };
    await createNamespace(vm.namespace);
    this.vms.push(vm);
    const hostSide = `h-${port}`.slice(0, 15);
    await createVeth(
      { namespace: this.namespace, name: hostSide },
      { namespace: vm.namespace, name: "eth0" },
    );
    await run("ip", ["-n", vm.namespace, "link", "set", "eth0", "address", mac]);
    await run("ip", ["-n", vm.namespace, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    await this.ok(plugVmArgs(hostSide, port));
    return vm;
  }

  async cleanup(): Promise<void> {
    await this.cli(["shutdown"]).catch(() => undefined);
    for (const pid of Object.values(await this.pids())) {
      if (isAlive(pid)) await stopPid(pid, 2000);
    }
    for (const vm of this.vms) await deleteNamespace(vm.namespace);
    await deleteNamespace(this.namespace);
    await removeDir(this.dir);
  }
}
