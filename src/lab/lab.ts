/**
 * The lab: a real multi-member cluster on one machine. Every member gets its
 * own network namespace, state dir and microovnd; a hub namespace holds two
 * Linux bridges, one for the members' own network (Raft, OVSDB, member API)
 * and one for the underlay that Geneve tunnels cross. VMs are namespaces
 * plugged into a member's br-int, bound to ports of one logical switch, or
 * (`vm add --port`) to a port someone else made, through `microovn port
 * plug`, optionally with an address from OVN's DHCP (dhcp.ts).
 *
 * With the userspace (netdev) datapath, OVS carries tunnels only from an
 * address on an OVS bridge: each member's underlay link holds the
 * encapsulation address, and `chassis set underlay-interface` moves it onto
 * br-phy as on a real machine. With the kernel datapath the member's own
 * address serves.
 *
 * The description of a lab is kept in ROOT/lab.json, so `lab status` and
 * `lab down` find everything it made (namespaces are deleted by name only
 * if they are in that file).
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MicroOvnError } from "../errors.js";
import { detectDatapath, type DatapathType } from "../ovn/switch.js";
import { run, type RunResult } from "../process/run.js";
import { isRunning, readPidFiles, waitForExit } from "../supervisor/supervisor.js";
import { writeAtomically } from "../util/fs.js";
import { portMac } from "../ovn/logical-port.js";
import {
  applyLease,
  dhcpFiles,
  requestLease,
  requireDhcpClient,
  stopDhcpClient,
  type DhcpLease,
} from "./dhcp.js";
import { createNamespace, createVeth, deleteNamespace, runIn } from "./netns.js";
import {
  labAddressArgs,
  labMemberAddress,
  labUnderlayAddress,
  labVmIpv6,
  type LabFamily,
} from "./addressing.js";
import {
  OUTSIDE_BRIDGE,
  OUTSIDE_HOST,
  OUTSIDE_LINK,
  OUTSIDE_OVS_BRIDGE,
  DEFAULT_OUTSIDE_CIDR,
  outsideMembers,
  parseOutsideCidr,
  type LabOutside,
} from "./outside.js";

export const DEFAULT_LAB_ROOT = "/var/lib/microovn-lab";
const VM_NET = "10.0.0";
export const LAB_SWITCH = "lab-sw0";
const COMMAND_TIMEOUT_MS = 180_000;

/** The lab's members are m1, m2, … in the order they were made. */
export function labMemberName(index: number): string {
  return `m${index}`;
}

export interface LabNode {
  name: string;
  namespace: string;
  stateDir: string;
  address: string;
  /** The Geneve (encapsulation) address, on br-phy with the netdev datapath. */
  encapIp: string;
  /** Join time in seconds (the first member: bootstrap time). */
  joinSeconds?: number;
  /**
   * Extra environment of this member's commands, and so of the microovnd a
   * command starts (e.g. MICROOVN_OVN_SCHEMA_DIR for an OVN installed
   * elsewhere); see setEnv.
   */
  env?: Record<string, string>;
}

export interface LabVm {
  name: string;
  node: string;
  namespace: string;
  port: string;
  mac: string;
  ip: string;
  /** Its IPv6 address too, in an IPv6 lab (addVm). */
  ip6?: string;
  /** For a VM on a port of the user's (`vm add --port`), with --dhcp: what DHCP gave. */
  dhcp?: DhcpLease & { seconds: number };
}

export interface PortVmOptions {
  /** Take address, MTU and default route from OVN's DHCP instead of the port's addresses. */
  dhcp?: boolean;
}

export interface LabDescription {
  prefix: string;
  datapath: DatapathType;
  /** The members' and the underlay's addresses (addressing.ts); absent in older labs: IPv4. */
  family?: LabFamily;
  nodes: LabNode[];
  vms: LabVm[];
  /** The outside network, if one was made (outside.ts). */
  outside?: LabOutside;
}

export interface LabOptions {
  /** Where state dirs and lab.json go. */
  root?: string;
  /** Namespace name prefix (keep it short: interface names have 15 characters). */
  prefix?: string;
  /** How to run the microovn CLI; default: this installation's, with this node. */
  cli?: readonly string[];
  /** Members and underlay with IPv6 addresses only (see addressing.ts). */
  ipv6?: boolean;
}

/** This installation's CLI, with the same node (and loader, under tsx). */
function defaultCli(): string[] {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const main = fileURLToPath(new URL(`../cli/main${ext}`, import.meta.url));
  return [process.execPath, ...process.execArgv, main];
}

/**
 * `microovn ovs-vsctl …` arguments that put a VM's host-side link into
 * br-int, bound to logical switch port `port`.
 */
export function plugVmArgs(hostSide: string, port: string): string[] {
  return [
    "ovs-vsctl",
    "--may-exist",
    "add-port",
    "br-int",
    hostSide,
    "--",
    "set",
    "Interface",
    hostSide,
    `external_ids:iface-id=${port}`,
  ];
}

const NO_OUTSIDE = "the lab has no outside network; make one with `microovn lab outside add`";

function labError(message: string): MicroOvnError {
  return new MicroOvnError("LAB", message);
}

export class Lab {
  readonly root: string;
  readonly cliCommand: readonly string[];
  private description: LabDescription;

  private constructor(options: LabOptions, description: LabDescription) {
    this.root = options.root ?? DEFAULT_LAB_ROOT;
    this.cliCommand = options.cli ?? defaultCli();
    this.description = description;
  }

  get descriptionPath(): string {
    return join(this.root, "lab.json");
  }

  get nodes(): readonly LabNode[] {
    return this.description.nodes;
  }

  get vms(): readonly LabVm[] {
    return this.description.vms;
  }

  get hub(): string {
    return `${this.description.prefix}-hub`;
  }

  get family(): LabFamily {
    return this.description.family ?? "ipv4";
  }

  get outside(): LabOutside | undefined {
    return this.description.outside;
  }

  node(name: string): LabNode {
    const node = this.description.nodes.find((n) => n.name === name);
    if (!node) {
      throw labError(
        `no lab member "${name}"; the lab has ${this.description.nodes.map((n) => n.name).join(", ")}`,
      );
    }
    return node;
  }

  /** The lab described in `root`, if there is one. */
  static async load(options: LabOptions = {}): Promise<Lab | undefined> {
    const root = options.root ?? DEFAULT_LAB_ROOT;
    try {
      const text = await readFile(join(root, "lab.json"), "utf8");
      return new Lab(options, JSON.parse(text) as LabDescription);
    } catch {
      return undefined;
    }
  }

  /**
   * Makes the hub and an empty lab (no members yet); `grow` adds them.
   * Refuses if a lab already lives in `root`.
   */
  static async create(options: LabOptions = {}): Promise<Lab> {
    const root = options.root ?? DEFAULT_LAB_ROOT;
    if (await Lab.load(options)) {
      throw labError(
        `a lab already runs from ${root}; see \`microovn lab status\`, or \`microovn lab down\` first`,
      );
    }
    const prefix = options.prefix ?? "mlab";
    if (!/^[a-z][a-z0-9]{0,7}$/.test(prefix)) {
      throw labError(`"${prefix}" is not a lab prefix: use 1-8 lowercase letters and digits`);
    }
    const lab = new Lab(options, {
      prefix,
      datapath: await detectDatapath(),
      family: options.ipv6 ? "ipv6" : "ipv4",
      nodes: [],
      vms: [],
    });
    await mkdir(root, { recursive: true, mode: 0o700 });
    await lab.save();
    await createNamespace(lab.hub);
    for (const bridge of ["members", "underlay"]) {
      await run("ip", ["-n", lab.hub, "link", "add", bridge, "type", "bridge"]);
      await run("ip", ["-n", lab.hub, "link", "set", bridge, "up"]);
    }
    return lab;
  }

  private async save(): Promise<void> {
    await writeAtomically(
      this.descriptionPath,
      `${JSON.stringify(this.description, null, 2)}\n`,
      0o600,
    );
  }

  /** `microovn ARGS…` as member `node`; never throws on exit status. */
  cli(node: string, args: readonly string[]): Promise<RunResult> {
    const n = this.node(node);
    const extra = Object.entries(n.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const [program, ...rest] = [
      ...(extra.length > 0 ? ["env", ...extra] : []),
      ...this.cliCommand,
      "--state-dir",
      n.stateDir,
      ...args,
    ];
    return runIn(n.namespace, program!, rest, {
      allowFailure: true,
      timeoutMs: COMMAND_TIMEOUT_MS,
    });
  }

  /** Like cli(), but throws with stderr unless it exits 0; returns stdout. */
  async ok(node: string, args: readonly string[]): Promise<string> {
    const r = await this.cli(node, args);
    if (r.exitCode !== 0) {
      throw labError(
        `${node}: microovn ${args.join(" ")} exited ${r.exitCode}: ${(r.stderr + r.stdout).trim()}`,
      );
    }
    return r.stdout;
  }

  /** Runs a program in a member's or VM's namespace (by lab name), or in the outside host's. */
  exec(name: string, program: string, args: readonly string[]): Promise<RunResult> {
    const node = this.description.nodes.find((n) => n.name === name);
    const vm = this.description.vms.find((v) => v.name === name);
    const outside = name === OUTSIDE_HOST ? this.description.outside : undefined;
    if (node) {
      return runIn(
        node.namespace,
        "env",
        [`MICROOVN_STATE_DIR=${node.stateDir}`, program, ...args],
        {
          allowFailure: true,
          timeoutMs: COMMAND_TIMEOUT_MS,
        },
      );
    }
    const namespace = (vm ?? outside)?.namespace;
    if (namespace !== undefined) {
      return runIn(namespace, program, args, {
        allowFailure: true,
        timeoutMs: COMMAND_TIMEOUT_MS,
      });
    }
    throw labError(name === OUTSIDE_HOST ? NO_OUTSIDE : `no lab member or VM "${name}"`);
  }

  /**
   * Makes the next member's namespace, links and addresses, without
   * microovn on it yet (`join` makes it a member).
   */
  async addNode(): Promise<LabNode> {
    const index = Math.max(0, ...this.description.nodes.map((n) => Number(n.name.slice(1)))) + 1;
    const name = labMemberName(index);
    const p = this.description.prefix;
    const node: LabNode = {
      name,
      namespace: `${p}-${name}`,
      stateDir: join(this.root, name),
      address: labMemberAddress(this.family, index),
      encapIp:
        this.description.datapath === "netdev"
          ? labUnderlayAddress(this.family, index)
          : labMemberAddress(this.family, index),
    };
    this.description.nodes.push(node);
    await this.save();
    await createNamespace(node.namespace);
    await createVeth(
      { namespace: node.namespace, name: "eth0" },
      { namespace: this.hub, name: `${name}-eth0` },
    );
    await run("ip", ["-n", this.hub, "link", "set", `${name}-eth0`, "master", "members"]);
    await run("ip", ["-n", node.namespace, ...labAddressArgs(this.family, node.address, "eth0")]);
    if (this.description.datapath === "netdev") {
      await createVeth(
        { namespace: node.namespace, name: "ul0" },
        { namespace: this.hub, name: `${name}-ul0` },
      );
      await run("ip", ["-n", this.hub, "link", "set", `${name}-ul0`, "master", "underlay"]);
      await run("ip", ["-n", node.namespace, ...labAddressArgs(this.family, node.encapIp, "ul0")]);
    }
    return node;
  }

  /**
   * With the netdev datapath: the underlay link and its address move onto
   * br-phy (`chassis set underlay-interface ul0`), which makes that address
   * the encapsulation IP unless one was set.
   */
  async underlay(node: LabNode): Promise<void> {
    if (this.description.datapath !== "netdev") return;
    await this.ok(node.name, ["chassis", "set", "underlay-interface", "ul0"]);
  }

  /**
   * Makes `node` a member: the first bootstraps, the others join with a
   * token from the first member (or from `inviterName`). Records the time
   * it took.
   */
  async join(node: LabNode, inviterName?: string): Promise<LabNode> {
    const inviter =
      inviterName !== undefined
        ? this.node(inviterName)
        : this.description.nodes.find((n) => n !== node && n.joinSeconds !== undefined);
    const started = process.hrtime.bigint();
    if (!inviter) {
      await this.ok(node.name, [
        "cluster",
        "bootstrap",
        "--name",
        node.name,
        "--address",
        node.address,
      ]);
    } else {
      const token = (await this.ok(inviter.name, ["cluster", "add", node.name])).trim();
      await this.ok(node.name, ["cluster", "join", token, "--address", node.address]);
    }
    node.joinSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await this.underlay(node);
    await this.save();
    return node;
  }

  /** One more member, joined (with a token from `inviterName`, if given). */
  async grow(inviterName?: string): Promise<LabNode> {
    return this.join(await this.addNode(), inviterName);
  }

  /** The logical switch the lab's VMs share (made on first use, through `node`). */
  private async ensureSwitch(node: LabNode): Promise<void> {
    await this.ok(node.name, ["ovn-nbctl", "--may-exist", "ls-add", LAB_SWITCH]);
  }

  /**
   * The next VM's namespace on `node`, recorded in lab.json first (so `lab
   * down` finds it whatever happens next), with a veth pair: eth0 in the
   * VM (with `mac`), `vmN-h` on the member, the end that gets plugged.
   */
  private async makeVm(
    node: LabNode,
    fields: Pick<LabVm, "port" | "mac" | "ip" | "ip6">,
  ): Promise<{ vm: LabVm; hostSide: string }> {
    const index = this.nextVmIndex();
    if (index > 200) throw labError("a lab holds at most 200 VMs");
    const vm: LabVm = {
      name: `vm${index}`,
      node: node.name,
      namespace: `${this.description.prefix}-vm${index}`,
      ...fields,
    };
    this.description.vms.push(vm);
    await this.save();
    try {
      await createNamespace(vm.namespace);
    } catch (e) {
      // Not ours (a namespace of that name was there already): forget it, leave it be.
      await this.forgetVm(vm);
      throw e;
    }
    const hostSide = `vm${index}-h`;
    try {
      await createVeth(
        { namespace: node.namespace, name: hostSide },
        { namespace: vm.namespace, name: "eth0", mac: vm.mac },
      );
    } catch (e) {
      await this.dropVm(vm);
      throw e;
    }
    return { vm, hostSide };
  }

  private async forgetVm(vm: LabVm): Promise<void> {
    this.description.vms = this.description.vms.filter((v) => v !== vm);
    await this.save();
  }

  /** VMs are vm1, vm2, …; a new one takes the number after the highest. */
  private nextVmIndex(): number {
    return Math.max(0, ...this.description.vms.map((v) => Number(v.name.slice(2)))) + 1;
  }

  /** Forgets a VM and deletes its namespace (its veth pair goes with it). */
  private async dropVm(vm: LabVm): Promise<void> {
    stopDhcpClient(dhcpFiles(this.dhcpDir, vm.name));
    await deleteNamespace(vm.namespace);
    await this.forgetVm(vm);
  }

  private get dhcpDir(): string {
    return join(this.root, "dhcp");
  }

  /** A VM on member `nodeName`: a namespace whose eth0 is a port of the lab switch. */
  async addVm(nodeName: string): Promise<LabVm> {
    const node = this.node(nodeName);
    await this.ensureSwitch(node);
    const index = this.nextVmIndex();
    const hex = index.toString(16).padStart(2, "0");
    const { vm, hostSide } = await this.makeVm(node, {
      port: `lab-vm${index}`,
      mac: `02:00:00:00:00:${hex}`,
      ip: `${VM_NET}.${10 + index}`,
      ...(this.family === "ipv6" ? { ip6: labVmIpv6(index) } : {}),
    });
    const ns = vm.namespace;
    // Room for the Geneve header on the underlay, over IPv6 too (20 bytes more).
    await run("ip", ["-n", ns, "link", "set", "eth0", "mtu", "1400"]);
    await run("ip", ["-n", ns, "addr", "add", `${vm.ip}/24`, "dev", "eth0"]);
    if (vm.ip6 !== undefined)
      await run("ip", ["-n", ns, ...labAddressArgs("ipv6", vm.ip6, "eth0")]);
    await this.ok(node.name, [
      "ovn-nbctl",
      "--may-exist",
      "lsp-add",
      LAB_SWITCH,
      vm.port,
      "--",
      "lsp-set-addresses",
      vm.port,
      [vm.mac, vm.ip, vm.ip6].filter((a) => a !== undefined).join(" "),
    ]);
    await this.ok(node.name, plugVmArgs(hostSide, vm.port));
    return vm;
  }

  /** A logical switch port's addresses, as `node` reads them from NB. */
  private async portAddresses(node: LabNode, port: string): Promise<string[]> {
    const r = await this.cli(node.name, ["ovn-nbctl", "--timeout=10", "lsp-get-addresses", port]);
    if (r.exitCode !== 0) {
      throw labError(
        `${node.name} cannot read port ${port} from NB (${r.stderr.trim()}); create the port ` +
          "first (e.g. through the OpenStack API, or `microovn ovn-nbctl lsp-add`); nothing was made",
      );
    }
    return r.stdout.split("\n").filter((l) => l.trim() !== "");
  }

  /**
   * A VM on an existing logical switch port (a Neutron port, say), plugged
   * on member `nodeName` with `microovn port plug`, its MAC the port's. With
   * `dhcp`, its address, MTU and default route come from OVN's native DHCP;
   * otherwise it gets the port's first IPv4 address as a /24 and MTU 1400.
   * Refused before anything is made when the port has no MAC; when the plug
   * or DHCP fails, the VM is taken away again.
   */
  async addPortVm(nodeName: string, port: string, options: PortVmOptions = {}): Promise<LabVm> {
    const node = this.node(nodeName);
    const addresses = await this.portAddresses(node, port);
    const mac = portMac(addresses);
    if (mac === undefined) {
      throw labError(
        `port ${port} has no MAC in its addresses (${addresses.join(", ") || "none"}); give it ` +
          'one, e.g. `microovn ovn-nbctl lsp-set-addresses PORT "fa:16:3e:00:00:01 10.0.0.5"`; ' +
          "nothing was made",
      );
    }
    if (options.dhcp) requireDhcpClient();
    const ip = addresses.join(" ").match(/(?:^|\s)(\d+\.\d+\.\d+\.\d+)(?:\s|$)/)?.[1] ?? "";
    if (!options.dhcp && ip === "") {
      throw labError(
        `port ${port} has no IPv4 address in its addresses (${addresses.join(", ")}); ` +
          "give it one, or use --dhcp; nothing was made",
      );
    }
    const { vm, hostSide } = await this.makeVm(node, { port, mac, ip });
    try {
      await this.ok(node.name, ["port", "plug", port, hostSide, "--mac", mac]);
      if (options.dhcp) {
        const { lease, seconds } = await requestLease(
          vm.namespace,
          "eth0",
          dhcpFiles(this.dhcpDir, vm.name),
        );
        await applyLease(vm.namespace, "eth0", lease);
        vm.ip = lease.ip;
        vm.dhcp = { ...lease, seconds };
      } else {
        await run("ip", ["-n", vm.namespace, "link", "set", "eth0", "mtu", "1400"]);
        await run("ip", ["-n", vm.namespace, "addr", "add", `${ip}/24`, "dev", "eth0"]);
      }
    } catch (e) {
      await this.cli(node.name, ["port", "unplug", hostSide]).catch(() => undefined);
      await this.dropVm(vm);
      throw e;
    }
    await this.save();
    return vm;
  }

  private vm(name: string): LabVm {
    const vm = this.description.vms.find((v) => v.name === name);
    if (!vm) throw labError(`no lab VM "${name}"`);
    return vm;
  }

  /**
   * Takes VM `name` away as a VM manager does with a VM that stopped: its
   * interface unplugged from its member (if it still is) and its namespace
   * deleted, the veth pair with it.
   */
  async removeVm(name: string): Promise<void> {
    const vm = this.vm(name);
    await this.cli(vm.node, ["port", "unplug", `${vm.name}-h`]);
    await this.dropVm(vm);
  }

  /**
   * What QEMU does when a VM resumes after a live migration: it announces
   * the VM's MAC with a broadcast RARP request from the VM's NIC, which is
   * the first packet OVN's `activation-strategy=rarp` waits for. Sent into
   * br-int as if it came from the VM's interface (the lab's VMs have no
   * QEMU, and a namespace has no tool that sends RARP).
   */
  async announceVm(name: string): Promise<void> {
    const vm = this.vm(name);
    const mac = vm.mac.replaceAll(":", "");
    // Ethernet broadcast, type RARP; Ethernet/IPv4, request reverse (3), both
    // hardware addresses the VM's, no protocol addresses; padded to 60 bytes.
    const frame = `ffffffffffff${mac}8035` + `000108000604` + `0003${mac}00000000${mac}00000000`;
    const packet = frame.padEnd(120, "0");
    await this.ok(vm.node, [
      "ovs-ofctl",
      "packet-out",
      "br-int",
      `in_port=${vm.name}-h,packet=${packet},actions=table`,
    ]);
  }

  /**
   * Makes the outside network (see outside.ts) and links members
   * `memberList` (default: all) to it through br-ex. It is recorded in
   * lab.json before anything is made, so `lab down` finds it; if making it
   * fails, what was made goes again.
   */
  async addOutside(memberList?: string, cidr?: string): Promise<LabOutside> {
    const members = outsideMembers(
      memberList,
      this.description.nodes.map((n) => n.name),
      this.description.outside,
    );
    const outside: LabOutside = {
      namespace: `${this.description.prefix}-out`,
      ...parseOutsideCidr(cidr ?? DEFAULT_OUTSIDE_CIDR),
      members,
    };
    this.description.outside = outside;
    await this.save();
    try {
      await createNamespace(outside.namespace);
    } catch (e) {
      // A namespace of that name that is not ours: leave it be.
      delete this.description.outside;
      await this.save();
      throw e;
    }
    try {
      await run("ip", ["-n", this.hub, "link", "add", OUTSIDE_BRIDGE, "type", "bridge"]);
      await run("ip", ["-n", this.hub, "link", "set", OUTSIDE_BRIDGE, "up"]);
      await this.linkToOutside(outside.namespace, "eth0", "out-eth0");
      await run("ip", [
        "-n",
        outside.namespace,
        "addr",
        "add",
        `${outside.address}/${outside.prefixLength}`,
        "dev",
        "eth0",
      ]);
      for (const name of members) {
        const node = this.node(name);
        await this.linkToOutside(node.namespace, OUTSIDE_LINK, `${name}-${OUTSIDE_LINK}`);
        // The link is a switch port, not an interface of the member's own stack.
        await run("ip", [
          "netns",
          "exec",
          node.namespace,
          "sysctl",
          "-qw",
          `net.ipv6.conf.${OUTSIDE_LINK}.disable_ipv6=1`,
        ]);
        await this.ok(name, [
          "ovs-vsctl",
          "--may-exist",
          "add-br",
          OUTSIDE_OVS_BRIDGE,
          "--",
          "set",
          "Bridge",
          OUTSIDE_OVS_BRIDGE,
          `datapath_type=${this.description.datapath}`,
          "--",
          "--may-exist",
          "add-port",
          OUTSIDE_OVS_BRIDGE,
          OUTSIDE_LINK,
        ]);
      }
    } catch (e) {
      await this.removeOutside();
      throw e;
    }
    return outside;
  }

  /** A veth pair from `namespace` (its end `name`) to the hub's outside bridge. */
  private async linkToOutside(namespace: string, name: string, hubSide: string): Promise<void> {
    await createVeth({ namespace, name }, { namespace: this.hub, name: hubSide });
    await run("ip", ["-n", this.hub, "link", "set", hubSide, "master", OUTSIDE_BRIDGE]);
  }

  /**
   * Takes the outside network away: the members' links (and their ports on
   * br-ex, which stays for the bridge mappings that name it), the outside
   * host and the hub's bridge. Whatever is gone already is no error.
   */
  async removeOutside(): Promise<void> {
    const outside = this.description.outside;
    if (!outside) {
      throw labError(NO_OUTSIDE);
    }
    for (const name of outside.members) {
      // A stopped member keeps a port record without its interface: the CLI would start it.
      if (await this.daemonRunning(name)) {
        await this.cli(name, [
          "ovs-vsctl",
          "--if-exists",
          "del-port",
          OUTSIDE_OVS_BRIDGE,
          OUTSIDE_LINK,
        ]).catch(() => undefined);
      }
      const { namespace } = this.node(name);
      await run("ip", ["-n", namespace, "link", "del", OUTSIDE_LINK], { allowFailure: true });
    }
    await deleteNamespace(outside.namespace);
    await run("ip", ["-n", this.hub, "link", "del", OUTSIDE_BRIDGE], { allowFailure: true });
    delete this.description.outside;
    await this.save();
  }

  /**
   * Sets (a value) or drops (undefined) variables of a member's extra
   * environment, which every later command of the member carries, and so
   * the daemon it starts; undefined for `env` drops them all. A running
   * microovnd keeps the environment it started with: restartDaemon changes it.
   */
  async setEnv(name: string, env: Record<string, string | undefined> | undefined): Promise<void> {
    const node = this.node(name);
    const merged = { ...(env === undefined ? {} : node.env), ...env };
    const kept = Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined);
    if (kept.length === 0) delete node.env;
    else node.env = Object.fromEntries(kept);
    await this.save();
  }

  /**
   * Restarts member `name`'s microovnd (its OVN processes keep running and
   * the new daemon adopts them) with its environment changed as setEnv
   * does. How a test makes a member run another installation, e.g. a newer
   * state schema (MICROOVN_STATE_SCHEMA) or older OVN schemas
   * (MICROOVN_OVN_SCHEMA_DIR). Resolves once the new daemon's services are
   * up (`waitready`).
   */
  async restartDaemon(name: string, env: Record<string, string | undefined> = {}): Promise<void> {
    const pid = (await this.pids(name)).microovnd;
    if (pid !== undefined && isRunning(pid)) {
      process.kill(pid, "SIGTERM");
      if (!(await waitForExit(pid, 10_000))) {
        throw labError(`${name}: microovnd (pid ${pid}) did not exit within 10 s of SIGTERM`);
      }
    }
    await this.setEnv(name, env);
    const r = await this.cli(name, ["waitready"]);
    if (r.exitCode !== 0) {
      throw labError(`${name}: microovnd did not come back: ${(r.stderr + r.stdout).trim()}`);
    }
  }

  /** Whether a member's microovnd runs (the CLI would start a stopped one). */
  private async daemonRunning(name: string): Promise<boolean> {
    const daemon = (await this.pids(name)).microovnd;
    return daemon !== undefined && isRunning(daemon);
  }

  /** Pids of a member's processes: its OVN programs and its microovnd. */
  pids(nodeName: string): Promise<Record<string, number>> {
    return readPidFiles(join(this.node(nodeName).stateDir, "run"));
  }

  /**
   * Stops everything: each member shuts down (its OVN processes and
   * microovnd), whatever still runs is killed by pid, then the namespaces
   * and the lab's files go.
   */
  async down(): Promise<void> {
    await Promise.all(
      this.description.nodes.map(async (n) => {
        // Only a running daemon is asked: the CLI would start one otherwise.
        if (await this.daemonRunning(n.name)) {
          await this.cli(n.name, ["shutdown"]).catch(() => undefined);
        }
        for (const pid of Object.values(await this.pids(n.name))) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            /* gone */
          }
        }
      }),
    );
    for (const vm of this.description.vms) {
      stopDhcpClient(dhcpFiles(this.dhcpDir, vm.name));
      await deleteNamespace(vm.namespace);
    }
    if (this.description.outside) await deleteNamespace(this.description.outside.namespace);
    for (const n of this.description.nodes) await deleteNamespace(n.namespace);
    await deleteNamespace(this.hub);
    await rm(this.root, { recursive: true, force: true });
  }
}
