/**
 * DHCP inside a lab VM: busybox's udhcpc asks OVN's native DHCP (answered
 * by ovn-controller on the VM's chassis, from the port's dhcpv4_options)
 * for an address, once. It runs in the foreground with its pidfile and
 * lease inside the lab's directory and exits as soon as it has a lease (or
 * has given up), so nothing keeps running; `lab down` still stops one
 * that was left half way, by the pid in that file.
 *
 * udhcpc hands a lease to a script in environment variables; ours only
 * writes them to a file, and the lab sets the address, the MTU (option 26)
 * and the default route from it, so what a lease means is read here, in
 * one pure, tested function.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { delimiter, dirname, join } from "node:path";
import { MicroOvnError } from "../errors.js";
import { run } from "../process/run.js";
import { isRunning } from "../supervisor/supervisor.js";
import { runIn } from "./netns.js";

/** How many DISCOVERs udhcpc sends, one a second, before it gives up. */
const DISCOVER_TRIES = 10;
const CLIENT_TIMEOUT_MS = 30_000;

/** What a DHCP server gave, as the VM uses it. */
export interface DhcpLease {
  ip: string;
  prefixLength: number;
  router?: string;
  mtu?: number;
  /** Lease time in seconds (option 51). */
  leaseSeconds?: number;
  /** The DHCP server (option 54). */
  serverId?: string;
}

/** Where one VM's client keeps its files. */
export interface DhcpFiles {
  script: string;
  lease: string;
  pidFile: string;
}

export function dhcpFiles(dir: string, vm: string): DhcpFiles {
  return {
    script: join(dir, `${vm}.script`),
    lease: join(dir, `${vm}.lease`),
    pidFile: join(dir, `${vm}.pid`),
  };
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The variables of udhcpc's environment a lease is read from. */
const LEASE_VARIABLES = ["ip", "mask", "router", "mtu", "lease", "serverid"] as const;

/**
 * The script udhcpc runs at each event: a bound lease's variables go to
 * `leaseFile` (only those: the rest of the environment is not the lab's to keep).
 */
export function leaseScript(leaseFile: string): string {
  const target = shellQuote(leaseFile);
  const temporary = shellQuote(`${leaseFile}.tmp`);
  const format = LEASE_VARIABLES.map((v) => `${v}=%s\\n`).join("");
  const values = LEASE_VARIABLES.map((v) => `"$${v}"`).join(" ");
  return [
    "#!/bin/sh",
    "# udhcpc: $1 is the event; a lease comes in the environment.",
    '[ "$1" = bound ] || exit 0',
    `printf '${format}' ${values} > ${temporary} && mv ${temporary} ${target}`,
    "",
  ].join("\n");
}

function whole(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/**
 * A lease from the environment udhcpc gave the script (`env` output):
 * `ip`, `mask` (the prefix length), `router` (the first of a list),
 * `mtu`, `lease`, `serverid`.
 */
export function parseLease(envText: string): DhcpLease {
  const vars = new Map<string, string>();
  for (const line of envText.split("\n")) {
    const at = line.indexOf("=");
    if (at > 0) vars.set(line.slice(0, at), line.slice(at + 1));
  }
  const ip = vars.get("ip");
  const prefixLength = whole(vars.get("mask"), 0, 32);
  if (ip === undefined || !/^\d+\.\d+\.\d+\.\d+$/.test(ip) || prefixLength === undefined) {
    throw new MicroOvnError(
      "BAD_LEASE",
      `the DHCP answer has no usable address (ip=${ip ?? "none"}, mask=${vars.get("mask") ?? "none"})`,
    );
  }
  const router = vars.get("router")?.trim().split(/\s+/)[0];
  const mtu = whole(vars.get("mtu"), 68, 65535);
  const leaseSeconds = whole(vars.get("lease"), 0, 2 ** 32);
  const serverId = vars.get("serverid");
  return {
    ip,
    prefixLength,
    ...(router ? { router } : {}),
    ...(mtu !== undefined ? { mtu } : {}),
    ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
    ...(serverId ? { serverId } : {}),
  };
}

/** Refuses up front when busybox (udhcpc) is not installed. */
export function requireDhcpClient(): void {
  const found = (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin")
    .split(delimiter)
    .some((dir) => dir !== "" && existsSync(join(dir, "busybox")));
  if (!found) {
    throw new MicroOvnError(
      "NO_DHCP_CLIENT",
      "the lab's DHCP client is busybox's udhcpc, and busybox is not installed: " +
        "`apt-get install -y busybox` (scripts/install-debian-packages.sh does it); nothing was made",
    );
  }
}

/**
 * Runs udhcpc once on `iface` in `namespace`; resolves with the lease and
 * how long it took. Asks for option 26 (MTU) besides the usual ones.
 */
export async function requestLease(
  namespace: string,
  iface: string,
  files: DhcpFiles,
): Promise<{ lease: DhcpLease; seconds: number }> {
  await mkdir(dirname(files.script), { recursive: true, mode: 0o700 });
  await rm(files.lease, { force: true });
  await writeFile(files.script, leaseScript(files.lease), { mode: 0o700 });
  const started = process.hrtime.bigint();
  const r = await runIn(
    namespace,
    "busybox",
    [
      "udhcpc",
      "-f",
      "-q",
      "-n",
      "-i",
      iface,
      "-t",
      String(DISCOVER_TRIES),
      "-T",
      "1",
      "-O",
      "mtu",
      "-s",
      files.script,
      "-p",
      files.pidFile,
    ],
    { allowFailure: true, timeoutMs: CLIENT_TIMEOUT_MS },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let text: string | undefined;
  try {
    text = await readFile(files.lease, "utf8");
  } catch {
    text = undefined;
  }
  if (r.exitCode !== 0 || text === undefined) {
    throw new MicroOvnError(
      "NO_DHCP_ANSWER",
      `no DHCP answer on ${iface} after ${seconds.toFixed(1)} s (udhcpc exited ` +
        `${r.exitCode ?? r.signal}: ${(r.stderr + r.stdout).trim().split("\n").slice(-3).join(" / ")}); ` +
        "does the port have dhcpv4_options (a DHCP_Options row with server_id, server_mac, " +
        "lease_time and router) and an IPv4 address in its addresses?",
    );
  }
  return { lease: parseLease(text), seconds };
}

/** Gives `iface` in `namespace` the lease's address, MTU and default route. */
export async function applyLease(
  namespace: string,
  iface: string,
  lease: DhcpLease,
): Promise<void> {
  if (lease.mtu !== undefined) {
    await run("ip", ["-n", namespace, "link", "set", iface, "mtu", String(lease.mtu)]);
  }
  await run("ip", [
    "-n",
    namespace,
    "addr",
    "replace",
    `${lease.ip}/${lease.prefixLength}`,
    "dev",
    iface,
  ]);
  if (lease.router !== undefined) {
    await run("ip", [
      "-n",
      namespace,
      "route",
      "replace",
      "default",
      "via",
      lease.router,
      "dev",
      iface,
    ]);
  }
}

/** Stops a client still running from `files` (by the pid in its pidfile, if it is udhcpc's). */
export function stopDhcpClient(files: DhcpFiles): void {
  let pid: number;
  try {
    pid = Number(readFileSync(files.pidFile, "utf8").trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isRunning(pid)) return;
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("udhcpc")) return;
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
}
