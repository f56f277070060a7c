/**
 * Checks made before anything is touched: are the OVN and OVS programs
 * installed, does no other Open vSwitch or OVN run here, and are the ports
 * we are about to listen on free? Each failure says what to do about it.
 */
import { constants } from "node:fs";
import { access, readFile, readdir, readlink } from "node:fs/promises";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { MicroOvnError } from "../errors.js";
import { describeForeignOvs, findForeignOvs, scanHost } from "../host/foreign-ovs.js";
import type { ServiceName } from "../member/config.js";

/** The programs each service runs or drives, with the Debian package holding each. */
const PROGRAMS: Record<ServiceName, Record<string, string>> = {
  central: {
    "ovsdb-server": "openvswitch-common",
    "ovsdb-tool": "openvswitch-common",
    "ovs-appctl": "openvswitch-common",
    "ovn-northd": "ovn-central",
  },
  switch: {
    "ovsdb-server": "openvswitch-common",
    "ovsdb-tool": "openvswitch-common",
    "ovs-appctl": "openvswitch-common",
    "ovs-vswitchd": "openvswitch-switch",
  },
  chassis: {
    "ovn-controller": "ovn-host",
    "ovn-appctl": "ovn-common",
  },
  // Runs on the node that runs microovnd.
  "openstack-api": {},
};

async function onPath(program: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      await access(join(dir, program), constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

export async function checkPrograms(services: readonly ServiceName[]): Promise<void> {
  const missing = new Map<string, string>();
  for (const service of services) {
    for (const [program, pkg] of Object.entries(PROGRAMS[service])) {
      if (!missing.has(program) && !(await onPath(program))) missing.set(program, pkg);
    }
  }
  if (missing.size === 0) return;
  const packages = [...new Set(missing.values())].sort();
  throw new MicroOvnError(
    "OVN_NOT_INSTALLED",
    `${[...missing.keys()].join(", ")} not found on PATH. Install Debian's packages ` +
      `(apt-get install -y ${packages.join(" ")}), or put them on microovnd's PATH, then try again`,
  );
}

/** How to go ahead next to another Open vSwitch/OVN anyway. */
export const FOREIGN_OVS_OVERRIDE =
  "add --allow-foreign-ovs to the command (in a preseed file: allow_foreign_ovs: true)";

/** Throws FOREIGN_OVS when an Open vSwitch or OVN that is not ours runs here (see host/foreign-ovs.ts). */
export async function checkNoForeignOvs(): Promise<void> {
  const message = describeForeignOvs(findForeignOvs(await scanHost()), FOREIGN_OVS_OVERRIDE);
  if (message !== "") throw new MicroOvnError("FOREIGN_OVS", message);
}

export interface PortHolder {
  pid: number;
  program: string;
}

/** The inodes of sockets listening on TCP `port`, from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text: string;
    try {
      text = await readFile(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // sl local_address rem_address st … inode (10th field); 0A is LISTEN.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === "0A" && fields[9]) {
        inodes.add(fields[9]);
      }
    }
  }
  return inodes;
}

/** Which process listens on TCP `port` (in this network namespace), if it can be found. */
export async function findPortHolder(port: number): Promise<PortHolder | undefined> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return undefined;
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = await readdir(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m?.[1] && inodes.has(m[1])) {
        const program = (await readFile(`/proc/${entry}/comm`, "utf8").catch(() => "?")).trim();
        return { pid: Number(entry), program };
      }
    }
  }
  return undefined;
}

function canListen(address: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e));
    server.listen({ host: address, port, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
}

/** Throws PORT_IN_USE naming the port and the program holding it. */
export async function checkPortsFree(
  address: string,
  ports: readonly { port: number; purpose: string }[],
): Promise<void> {
  for (const { port, purpose } of ports) {
    const error = await canListen(address, port);
    if (!error) continue;
    if (error.code === "EADDRINUSE") {
      const holder = await findPortHolder(port);
      const who = holder ? `${holder.program} (pid ${holder.pid})` : "another program";
      throw new MicroOvnError(
        "PORT_IN_USE",
        `port ${port} on ${address} (${purpose}) is in use by ${who}; stop it or free the port, ` +
          `then run the command again`,
      );
    }
    if (error.code === "EADDRNOTAVAIL") {
      throw new MicroOvnError(
        "ADDRESS_NOT_LOCAL",
        `${address} is not an address of this machine; give one of its own addresses with --address`,
      );
    }
    throw new MicroOvnError(
      "PORT_CHECK_FAILED",
      `cannot listen on ${address}:${port} (${purpose}): ${error.message}`,
    );
  }
}
