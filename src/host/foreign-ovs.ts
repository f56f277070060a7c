/**
 * Another Open vSwitch or OVN on this machine, not ours: Debian's own
 * services (which its packages start and enable on install), or anything
 * else running ovsdb-server, ovs-vswitchd, ovn-northd or ovn-controller.
 * Beside ours it would fight over the kernel datapath and br-int, and
 * `ovn-nbctl` would quietly talk to the wrong database, so a new member
 * refuses to start next to it (unless told to).
 *
 * What counts:
 * - processes in this network namespace (where datapaths, br-int and ports
 *   are shared); members of ours in other namespaces (the lab, tests) and
 *   containers with their own network are no concern of this member.
 * - not ours: a process is ours when its `--pidfile=DIR/run/NAME.pid` lies
 *   in a MicroOVN state dir (DIR holds data/member.json, control.socket or
 *   run/microovnd.pid) — any state dir, since several members may share a
 *   machine.
 * - a kernel datapath (`ovs-system`) in this namespace while no
 *   ovs-vswitchd of ours runs here: left by another Open vSwitch.
 *
 * The classification is pure (`findForeignOvs`); `scanHost` reads /proc.
 */
import { existsSync } from "node:fs";
import { readFile, readdir, readlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** The programs of an Open vSwitch or OVN deployment that hold something. */
export const OVS_PROGRAMS = ["ovsdb-server", "ovs-vswitchd", "ovn-northd", "ovn-controller"];

/**
 * Debian's units for them, by package: masking one unit of a package
 * without the others leaves the package's umbrella unit failing at boot.
 */
export const DISTRIBUTION_UNITS: Record<string, readonly string[]> = {
  "openvswitch-switch": ["openvswitch-switch", "ovs-vswitchd", "ovsdb-server"],
  "ovn-central": ["ovn-central", "ovn-northd", "ovn-ovsdb-server-nb", "ovn-ovsdb-server-sb"],
  "ovn-host": ["ovn-host", "ovn-controller"],
};

export interface HostProcess {
  pid: number;
  /** /proc/PID/comm */
  program: string;
  argv: readonly string[];
  /** /proc/PID/ns/net, e.g. net:[4026531840] */
  netns: string;
  /** /proc/PID/cgroup */
  cgroup: string;
}

export interface HostSnapshot {
  processes: readonly HostProcess[];
  /** This process's network namespace. */
  netns: string;
  /** Whether an `ovs-system` kernel datapath exists in it. */
  kernelDatapath: boolean;
}

export interface ForeignProcess {
  pid: number;
  program: string;
  /** The Debian unit it runs under, when it is one of DISTRIBUTION_UNITS. */
  unit?: string;
}

export interface ForeignOvs {
  processes: ForeignProcess[];
  /** A kernel datapath no Open vSwitch of ours holds. */
  strayDatapath: boolean;
}

/** The pidfile an OVS/OVN program was started with (OVS takes only `--pidfile=FILE`). */
export function pidfileOf(argv: readonly string[]): string | undefined {
  const option = argv.find((a) => a.startsWith("--pidfile="));
  return option?.slice("--pidfile=".length);
}

/** The state dir DIR of a pidfile DIR/run/NAME.pid. */
export function stateDirOfPidfile(pidfile: string): string | undefined {
  const run = dirname(pidfile);
  return basename(run) === "run" && pidfile.startsWith("/") ? dirname(run) : undefined;
}

/** Whether DIR looks like a MicroOVN state dir: a member, or one a daemon serves. */
export function isStateDir(dir: string): boolean {
  return ["data/member.json", "control.socket", "run/microovnd.pid"].some((f) =>
    existsSync(join(dir, f)),
  );
}

/** The distribution unit named in a /proc/PID/cgroup text (cgroup v1 or v2), if any. */
export function distributionUnit(cgroup: string): string | undefined {
  const known = new Set(Object.values(DISTRIBUTION_UNITS).flat());
  for (const line of cgroup.split("\n")) {
    for (const part of line.slice(line.lastIndexOf(":") + 1).split("/")) {
      if (part.endsWith(".service") && known.has(part.slice(0, -".service".length))) {
        return part.slice(0, -".service".length);
      }
    }
  }
  return undefined;
}

function isOurs(p: HostProcess, stateDir: (dir: string) => boolean): boolean {
  const pidfile = pidfileOf(p.argv);
  const dir = pidfile === undefined ? undefined : stateDirOfPidfile(pidfile);
  return dir !== undefined && stateDir(dir);
}

export function findForeignOvs(
  host: HostSnapshot,
  stateDir: (dir: string) => boolean = isStateDir,
): ForeignOvs {
  const here = host.processes.filter(
    (p) => p.netns === host.netns && OVS_PROGRAMS.includes(p.program),
  );
  const processes = here
    .filter((p) => !isOurs(p, stateDir))
    .map((p): ForeignProcess => {
      const unit = distributionUnit(p.cgroup);
      return { pid: p.pid, program: p.program, ...(unit !== undefined ? { unit } : {}) };
    });
  const ourSwitch = here.some((p) => p.program === "ovs-vswitchd" && isOurs(p, stateDir));
  return { processes, strayDatapath: host.kernelDatapath && !ourSwitch && processes.length === 0 };
}

/** The units to mask for these processes: every unit of each package involved. */
export function unitsToMask(found: readonly ForeignProcess[]): string[] {
  const packages = new Set(
    found.flatMap((p) =>
      Object.entries(DISTRIBUTION_UNITS)
        .filter(([, units]) => p.unit !== undefined && units.includes(p.unit))
        .map(([pkg]) => pkg),
    ),
  );
  return [...packages].flatMap((pkg) => DISTRIBUTION_UNITS[pkg] ?? []);
}

/**
 * What to tell the operator: what runs, how to stop it, how to go ahead
 * anyway (`override`, the flag's wording). Empty when nothing was found.
 */
export function describeForeignOvs(found: ForeignOvs, override: string): string {
  const steps: string[] = [];
  let what: string;
  if (found.processes.length > 0) {
    what =
      "another Open vSwitch/OVN, not MicroOVN's, runs here: " +
      found.processes
        .map((p) => `${p.program} (pid ${p.pid}${p.unit ? `, ${p.unit}.service` : ""})`)
        .join(", ") +
      ". It would fight this member over the datapath, br-int and the OVN databases";
    const units = unitsToMask(found.processes);
    if (units.length > 0) steps.push(`\`systemctl mask --now ${units.join(" ")}\``);
    const loose = found.processes.filter((p) => p.unit === undefined).map((p) => p.pid);
    if (loose.length > 0) steps.push(`\`kill ${loose.join(" ")}\``);
  } else if (found.strayDatapath) {
    what =
      "a kernel datapath (ovs-system) exists here that no Open vSwitch of MicroOVN's holds: " +
      "another Open vSwitch left it";
    steps.push("`ovs-dpctl del-dp system@ovs-system`");
  } else {
    return "";
  }
  return (
    `${what}. Nothing was changed. Stop it with ${steps.join(" and ")}, then run the command ` +
    `again; or, to run beside it anyway, ${override}`
  );
}

async function readProcess(pid: number): Promise<HostProcess | undefined> {
  try {
    const dir = `/proc/${pid}`;
    const program = (await readFile(join(dir, "comm"), "utf8")).trim();
    if (!OVS_PROGRAMS.includes(program)) return undefined;
    const argv = (await readFile(join(dir, "cmdline"), "utf8")).split("\0").filter(Boolean);
    const netns = await readlink(join(dir, "ns", "net"));
    const cgroup = await readFile(join(dir, "cgroup"), "utf8");
    return { pid, program, argv, netns, cgroup };
  } catch {
    return undefined; // gone meanwhile, or not ours to read
  }
}

/** This machine as findForeignOvs needs it, from /proc. */
export async function scanHost(): Promise<HostSnapshot> {
  const pids = (await readdir("/proc")).filter((e) => /^\d+$/.test(e)).map(Number);
  const processes = (await Promise.all(pids.map(readProcess))).filter(
    (p): p is HostProcess => p !== undefined,
  );
  // /proc/net is this network namespace's view.
  const devices = await readFile("/proc/net/dev", "utf8").catch(() => "");
  return {
    processes,
    netns: await readlink("/proc/self/ns/net"),
    kernelDatapath: /^\s*ovs-system:/m.test(devices),
  };
}
