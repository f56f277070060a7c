/**
 * The underlay bridge of the userspace datapath. OVS's own tunnel code
 * (netdev datapath) sends Geneve only from an address that sits on an OVS
 * bridge: with the address on a plain interface it finds no route it can
 * use ("native tunnel routing failed") and tunnels stay silent while every
 * status looks fine. So the interface facing the other machines becomes a
 * port of br-phy, and its addresses and routes move onto br-phy's internal
 * interface; `unset` moves them back.
 *
 * The move must not cut this member's own connections (Raft, OVSDB, the
 * member API) that run over the same addresses: br-phy gets the
 * interface's MAC (neighbours' ARP caches stay right), the addresses are
 * added to br-phy before they leave the interface, and every route is
 * swapped in place with `ip route replace` in one `ip -batch`.
 *
 * The kernel still sees every frame that arrives on the interface (OVS
 * reads it through a packet socket) and, as the addresses are still the
 * machine's, would answer each one a second time next to br-phy. While the
 * interface is a port its own stack is told to ignore them: strict reverse
 * path filtering (the way back to every sender is br-phy now), ARP answers
 * only for its own addresses (none), no IPv6. Its settings from before come
 * back with its addresses.
 *
 * With the kernel datapath none of this is needed: the kernel's Geneve
 * leaves from any address of the machine.
 *
 * The plan is pure (built from `ip -j` output) so it is unit-tested; the
 * rest runs `ip` through src/process/run.ts.
 */
import { readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { MicroOvnError } from "../errors.js";
import { INTEGRATION_BRIDGE } from "../member/config.js";
import { run } from "../process/run.js";
import { canonicalAddress } from "../util/address.js";
import type { DatapathType } from "./switch.js";

/** The bridge that holds the underlay interface and its addresses. */
export const UNDERLAY_BRIDGE = "br-phy";

/** One address as `ip -j addr` shows it. */
export interface IpAddress {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  scope?: string;
  broadcast?: string;
  noprefixroute?: boolean;
  dadfailed?: boolean;
}

/** One interface as `ip -j addr` shows it. */
export interface IpLink {
  ifname: string;
  link_type?: string;
  /** The MAC address. */
  address?: string;
  addr_info?: IpAddress[];
}

/** One route as `ip -j route` shows it, with the family we asked for. */
export interface IpRoute {
  family: 4 | 6;
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  table?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  type?: string;
  flags?: string[];
  nexthops?: unknown[];
}

/** Addresses that move: global ones (link-local addresses belong to their interface). */
export function movableAddresses(link: IpLink): IpAddress[] {
  return (link.addr_info ?? []).filter(
    (a) =>
      (a.family === "inet" || a.family === "inet6") &&
      (a.scope === undefined || a.scope === "global") &&
      !a.dadfailed,
  );
}

/**
 * Routes that move: the ones somebody made (an operator, DHCP, router
 * advertisements). Those the kernel makes for an address, local and
 * broadcast entries, and multicast come back by themselves on the new
 * interface; multipath routes are left alone.
 */
export function movableRoutes(routes: readonly IpRoute[]): IpRoute[] {
  return routes.filter(
    (r) =>
      (r.type === undefined || r.type === "unicast") &&
      r.table !== "local" &&
      r.protocol !== "kernel" &&
      r.nexthops === undefined &&
      !(r.family === 6 && r.dst.toLowerCase().startsWith("fe80:")),
  );
}

/**
 * The address Geneve uses when the underlay moves: the interface's first
 * IPv4 address, else its first IPv6 one.
 */
export function underlayAddress(link: IpLink): string | undefined {
  const addresses = movableAddresses(link);
  return (addresses.find((a) => a.family === "inet") ?? addresses[0])?.local;
}

function addressArg(a: IpAddress): string {
  return `${a.local}/${a.prefixlen}`;
}

/** `ip route replace` arguments for `route` on device `dev` (without the verb). */
export function routeArgs(route: IpRoute, dev: string): string {
  const dst = route.dst === "default" ? (route.family === 6 ? "::/0" : "0.0.0.0/0") : route.dst;
  const parts = [dst];
  if (route.gateway) parts.push("via", route.gateway);
  if (route.metric !== undefined) parts.push("metric", String(route.metric));
  if (route.table && route.table !== "main") parts.push("table", route.table);
  if (route.protocol) parts.push("proto", route.protocol);
  if (route.scope) parts.push("scope", route.scope);
  if (route.prefsrc) parts.push("src", route.prefsrc);
  if (route.flags?.includes("onlink")) parts.push("onlink");
  parts.push("dev", dev);
  return parts.join(" ");
}

/** The `ip -batch` lines that move addresses and routes from one interface to another. */
export interface MovePlan {
  /** The addresses that move. */
  addresses: string[];
  /** Target up, addresses added to it, routes swapped onto it: stops at the first error. */
  forward: string[];
  /** The addresses taken off the source (secondaries before their primary). */
  removal: string[];
  /** Undoes `forward` if it failed half way. */
  rollback: string[];
}

export function planMove(from: IpLink, to: string, routes: readonly IpRoute[]): MovePlan {
  const addresses = movableAddresses(from);
  const moving = movableRoutes(routes);
  const add = (a: IpAddress) => {
    const parts = ["address", "replace", addressArg(a), "dev", to];
    if (a.family === "inet" && a.broadcast) parts.push("broadcast", a.broadcast);
    // The address is in use already: waiting out duplicate address detection would only hold it back.
    if (a.family === "inet6") parts.push("nodad");
    if (a.noprefixroute) parts.push("noprefixroute");
    return parts.join(" ");
  };
  return {
    addresses: addresses.map((a) => a.local),
    forward: [
      `link set dev ${to} up`,
      ...addresses.map(add),
      ...moving.map((r) => `route replace ${routeArgs(r, to)}`),
    ],
    removal: [...addresses].reverse().map((a) => `address del ${addressArg(a)} dev ${from.ifname}`),
    rollback: [
      ...moving.map((r) => `route replace ${routeArgs(r, from.ifname)}`),
      ...addresses.map((a) => `address del ${addressArg(a)} dev ${to}`),
    ],
  };
}

/** Everything `chassis set underlay-interface` looks at before it changes anything. */
export interface UnderlayCandidate {
  name: string;
  datapath: DatapathType;
  /** The interface as `ip -j addr` shows it; undefined if there is none by that name. */
  link: IpLink | undefined;
  /** Names of every interface of this machine, for the error message. */
  allLinks: readonly string[];
  /** The OVS bridge the interface is a port of, if any. */
  ovsBridge: string | undefined;
  /** The underlay interface set now, if any. */
  current: string | undefined;
  /** The address recorded for it when it is the current one. */
  currentAddress: string | undefined;
}

function refuse(code: string, message: string): MicroOvnError {
  return new MicroOvnError(code, `${message}; nothing was changed`);
}

/**
 * Checks an underlay interface and returns the address Geneve will use.
 * Setting the current interface again is accepted (its addresses may be on
 * br-phy already).
 */
export function checkUnderlayCandidate(c: UnderlayCandidate): string {
  if (c.datapath === "system") {
    throw refuse(
      "UNDERLAY_NOT_NEEDED",
      "this member uses the kernel datapath (the openvswitch module is loaded), where Geneve " +
        "leaves from any address of the machine, so no underlay bridge is needed; to choose " +
        "the tunnel address run `microovn chassis set encap-ip IP`",
    );
  }
  if (c.current !== undefined && c.current !== c.name) {
    throw refuse(
      "UNDERLAY_ALREADY_SET",
      `the underlay interface is ${c.current} already; run ` +
        "`microovn chassis unset underlay-interface` first",
    );
  }
  if (c.name === INTEGRATION_BRIDGE || c.name === UNDERLAY_BRIDGE) {
    throw refuse(
      "BAD_UNDERLAY_INTERFACE",
      `${c.name} is a bridge MicroOVN makes; give the network interface that faces the other ` +
        "machines (e.g. eth1)",
    );
  }
  if (!c.link) {
    throw refuse(
      "NO_SUCH_INTERFACE",
      `this machine has no interface "${c.name}" (it has ${c.allLinks.join(", ")}); ` +
        "give a name `ip link` shows",
    );
  }
  if (c.link.link_type === "loopback") {
    throw refuse(
      "BAD_UNDERLAY_INTERFACE",
      `${c.name} is the loopback interface, which reaches no other machine; give the ` +
        "interface that faces them",
    );
  }
  if (c.ovsBridge !== undefined && c.ovsBridge !== UNDERLAY_BRIDGE) {
    throw refuse(
      "BAD_UNDERLAY_INTERFACE",
      `${c.name} is a port of the OVS bridge ${c.ovsBridge} already; take it out ` +
        `(\`microovn ovs-vsctl del-port ${c.ovsBridge} ${c.name}\`) or give another interface`,
    );
  }
  const address = underlayAddress(c.link) ?? (c.current === c.name ? c.currentAddress : undefined);
  if (address === undefined) {
    throw refuse(
      "UNDERLAY_WITHOUT_ADDRESS",
      `${c.name} has no IP address to carry Geneve; give it one first ` +
        `(e.g. \`ip address add 192.0.2.10/24 dev ${c.name}\`)`,
    );
  }
  return address;
}

/** What the status check looks at. */
export interface TunnelCheck {
  encapIp: string;
  datapath: DatapathType;
  links: readonly IpLink[];
  /** Internal interfaces of OVS bridges (where an address can carry tunnels). */
  bridgeInterfaces: ReadonlySet<string>;
}

/** The interface holding `address`, if this machine has it. */
export function interfaceWithAddress(
  links: readonly IpLink[],
  address: string,
): IpLink | undefined {
  // Canonical on both sides: an encapsulation IP set before addresses were
  // kept canonical may be written another way than `ip` prints it.
  const wanted = canonicalAddress(address);
  return links.find((l) => (l.addr_info ?? []).some((a) => canonicalAddress(a.local) === wanted));
}

/** Why Geneve tunnels from this chassis cannot work, or undefined. */
export function tunnelProblem(c: TunnelCheck): string | undefined {
  const holder = interfaceWithAddress(c.links, c.encapIp);
  if (!holder) {
    return (
      `Geneve tunnels to other chassis cannot work: the encapsulation IP ${c.encapIp} is not ` +
      "an address of this machine; run `microovn chassis set encap-ip IP` with one it has"
    );
  }
  if (c.datapath === "system" || c.bridgeInterfaces.has(holder.ifname)) return undefined;
  const fix =
    holder.link_type === "loopback"
      ? "give the chassis an address on the interface facing the other machines and run " +
        "`microovn chassis set underlay-interface IFACE` with that interface"
      : `run \`microovn chassis set underlay-interface ${holder.ifname}\``;
  return (
    `Geneve tunnels to other chassis cannot work: this member uses the userspace datapath ` +
    `(no openvswitch kernel module), which sends tunnels only from an address on an OVS ` +
    `bridge, and the encapsulation IP ${c.encapIp} is on ${holder.ifname}; ${fix}`
  );
}

// ---------------------------------------------------------------------------
// The machine.

/**
 * The underlay interface's kernel settings while it is a port of br-phy
 * (see the top). The IPv4 ones change nothing while the addresses are
 * still on the interface and hold from the moment they leave, so they are
 * written before the move; turning IPv6 off would drop IPv6 addresses, so
 * that comes after.
 */
export const PORT_IPV4_SETTINGS: Readonly<Record<string, string>> = {
  "ipv4/conf/IFACE/rp_filter": "1",
  "ipv4/conf/IFACE/arp_ignore": "1",
};
export const PORT_IPV6_SETTINGS: Readonly<Record<string, string>> = {
  "ipv6/conf/IFACE/disable_ipv6": "1",
};

function kernelSettingPath(key: string, iface: string): string {
  return `/proc/sys/net/${key.replace("IFACE", iface)}`;
}

/** The interface's current values of the settings a port gets. */
export async function readKernelSettings(iface: string): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const key of Object.keys({ ...PORT_IPV4_SETTINGS, ...PORT_IPV6_SETTINGS })) {
    try {
      values[key] = (await readFile(kernelSettingPath(key, iface), "utf8")).trim();
    } catch {
      /* IPv6 may be off in this kernel: nothing to change then */
    }
  }
  return values;
}

/** Writes those of `values` for one family (keys as in PORT_IPV4_SETTINGS) for `iface`. */
export async function writeKernelSettings(
  iface: string,
  values: Readonly<Record<string, string>>,
  family: "ipv4" | "ipv6",
): Promise<void> {
  for (const [key, value] of Object.entries(values)) {
    if (!key.startsWith(`${family}/`)) continue;
    await writeFile(kernelSettingPath(key, iface), `${value}\n`).catch((e: Error) => {
      if (!key.startsWith("ipv6/")) throw e;
    });
  }
}

async function ipJson(args: readonly string[]): Promise<unknown> {
  const r = await run("ip", ["-j", ...args], { timeoutMs: 10_000 });
  return r.stdout.trim() === "" ? [] : (JSON.parse(r.stdout) as unknown);
}

/** Every interface of this machine (this network namespace) with its addresses. */
export async function readLinks(): Promise<IpLink[]> {
  return (await ipJson(["address", "show"])) as IpLink[];
}

/** The routes through `dev`, in every table, both families. */
export async function readRoutes(dev: string): Promise<IpRoute[]> {
  const routes: IpRoute[] = [];
  for (const family of [4, 6] as const) {
    const rows = (await ipJson([
      `-${family}`,
      "route",
      "show",
      "table",
      "all",
      "dev",
      dev,
    ])) as Omit<IpRoute, "family">[];
    routes.push(...rows.map((r) => ({ ...r, family })));
  }
  return routes;
}

/** Whether `address` belongs to this machine. */
export async function isLocalAddress(address: string): Promise<boolean> {
  if (isIP(address) === 0) return false;
  return interfaceWithAddress(await readLinks(), address) !== undefined;
}

function ipBatch(lines: readonly string[], force: boolean): Promise<unknown> {
  return run("ip", [...(force ? ["-force"] : []), "-batch", "-"], {
    input: `${lines.join("\n")}\n`,
    timeoutMs: 10_000,
  });
}

/**
 * Moves the addresses and routes of interface `from` onto `to` (see the
 * top of this file). If it fails half way, what moved goes back and
 * `from` keeps its addresses. Returns the addresses that moved.
 */
export async function moveAddressing(from: string, to: string): Promise<string[]> {
  const link = (await readLinks()).find((l) => l.ifname === from);
  if (!link) return [];
  const plan = planMove(link, to, await readRoutes(from));
  try {
    await ipBatch(plan.forward, false);
  } catch (e) {
    await ipBatch(plan.rollback, true).catch(() => undefined);
    throw new MicroOvnError(
      "UNDERLAY_MOVE_FAILED",
      `moving the addresses of ${from} onto ${to} failed, so they stay on ${from}: ` +
        `${(e as Error).message}; check \`ip address\` and \`ip route\` and try again`,
    );
  }
  if (plan.removal.length > 0) await ipBatch(plan.removal, true);
  return plan.addresses;
}

/** Resolves once the kernel has interface `name` (vswitchd makes br-phy's a moment after the bridge). */
export async function waitForLink(name: string, timeoutMs = 10_000): Promise<IpLink> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const link = (await readLinks()).find((l) => l.ifname === name);
    if (link) return link;
    if (Date.now() > deadline) {
      throw new MicroOvnError(
        "SWITCH_NOT_READY",
        `ovs-vswitchd did not make the interface ${name} within ${timeoutMs} ms; see its log`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
