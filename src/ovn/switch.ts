/**
 * The `switch` service of a member: Open vSwitch's own database (conf.db)
 * and ovs-vswitchd. On machines without the openvswitch kernel module the
 * userspace `netdev` datapath is used and vswitchd runs with
 * --disable-system. This file knows the programs' flags and writes the
 * bridges; the supervisor runs the processes.
 */
import { existsSync } from "node:fs";
import { access, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { OvsdbClient } from "../ovsdb/client/client.js";
import type { OpenVSwitchDatabase } from "../ovsdb/models/open-vswitch.js";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";
import { run } from "../process/run.js";
import type { StateDir } from "../member/state-dir.js";
import type { ProcessSpec } from "../supervisor/supervisor.js";

/** "system" is the kernel datapath; "netdev" the userspace one. */
export type DatapathType = "system" | "netdev";

/** How detectDatapath looks at the machine (tests give their own). */
export interface DatapathProbe {
  /** Whether the openvswitch kernel module is loaded. */
  moduleLoaded(): boolean;
  /** Tries to load it; failing is fine. */
  loadModule(): Promise<void>;
}

const MACHINE_PROBE: DatapathProbe = {
  moduleLoaded: () => existsSync("/sys/module/openvswitch"),
  loadModule: async () => {
    await run("modprobe", ["openvswitch"], { allowFailure: true, timeoutMs: 5_000 }).catch(
      () => undefined,
    );
  },
};

/**
 * The kernel datapath when its module is loaded or can be loaded, else the
 * userspace one. Production hosts have the module: there Geneve leaves from
 * any address of the machine and nothing about underlay bridges applies.
 */
export async function detectDatapath(probe: DatapathProbe = MACHINE_PROBE): Promise<DatapathType> {
  if (probe.moduleLoaded()) return "system";
  await probe.loadModule();
  return probe.moduleLoaded() ? "system" : "netdev";
}

export type SwitchClient = OvsdbClient<OpenVSwitchDatabase>;

export interface BridgeOptions {
  datapathType: DatapathType;
  /** "secure" for br-int: no flows until ovn-controller writes them. */
  failMode?: "secure" | "standalone";
  otherConfig?: Record<string, string>;
}

export class Switch {
  constructor(readonly state: StateDir) {}

  get dbFile(): string {
    return join(this.state.switchDbDir, "conf.db");
  }

  /** Where ovs-vsctl, ovn-controller and we reach conf.db. */
  get dbSocket(): string {
    return this.state.socket("db.sock");
  }

  get dbControlSocket(): string {
    return this.state.socket("ovsdb-server.ctl");
  }

  get vswitchdControlSocket(): string {
    return this.state.socket("ovs-vswitchd.ctl");
  }

  /** The OpenFlow management socket vswitchd makes for a bridge. */
  managementSocket(bridge: string): string {
    return this.state.socket(`${bridge}.mgmt`);
  }

  env(): Record<string, string> {
    const run = this.state.runDir;
    return { OVS_RUNDIR: run, OVN_RUNDIR: run, OVS_DBDIR: this.state.switchDbDir };
  }

  async createDb(): Promise<void> {
    await mkdir(this.state.switchDbDir, { recursive: true });
    try {
      await access(this.dbFile);
      return;
    } catch {
      /* absent: create it */
    }
    await run("ovsdb-tool", ["create", this.dbFile, INSTALLED_SCHEMAS.vswitch.file]);
  }

  dbServerSpec(): ProcessSpec {
    const pidFile = this.state.socket("ovsdb-server.pid");
    return {
      name: "ovsdb-server-switch",
      program: "ovsdb-server",
      args: [
        this.dbFile,
        `--pidfile=${pidFile}`,
        `--unixctl=${this.dbControlSocket}`,
        `--remote=punix:${this.dbSocket}`,
        "--remote=db:Open_vSwitch,Open_vSwitch,manager_options",
      ],
      pidFile,
      logFile: this.state.log("ovsdb-server-switch"),
      env: this.env(),
    };
  }

  vswitchdSpec(datapath: DatapathType): ProcessSpec {
    const pidFile = this.state.socket("ovs-vswitchd.pid");
    return {
      name: "ovs-vswitchd",
      program: "ovs-vswitchd",
      args: [
        `unix:${this.dbSocket}`,
        `--pidfile=${pidFile}`,
        `--unixctl=${this.vswitchdControlSocket}`,
        ...(datapath === "netdev" ? ["--disable-system"] : []),
      ],
      pidFile,
      logFile: this.state.log("ovs-vswitchd"),
      env: this.env(),
    };
  }

  connect(): Promise<SwitchClient> {
    return OvsdbClient.connect<OpenVSwitchDatabase>({
      remotes: `unix:${this.dbSocket}`,
      database: "Open_vSwitch",
      waitForConnectionMs: 10_000,
    });
  }

  /** Runs `use` with a connection to conf.db, closed afterwards whatever happens. */
  async withClient<T>(use: (client: SwitchClient) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await use(client);
    } finally {
      client.close();
    }
  }

  /** Makes sure the root Open_vSwitch row exists (what `ovs-vsctl init` does). */
  async ensureRoot(client: SwitchClient): Promise<string> {
    const [root] = await client.select("Open_vSwitch", [], ["_uuid"]);
    if (root) return root._uuid;
    const txn = client.transaction();
    const name = txn.insert("Open_vSwitch", {});
    const result = await txn.commit();
    return result.uuid(name);
  }

  /** One key of the root row's `other_config` or `external_ids`, or undefined. */
  async rootKey(
    client: SwitchClient,
    column: "other_config" | "external_ids",
    key: string,
  ): Promise<string | undefined> {
    const [root] = await client.select("Open_vSwitch", [], [column]);
    return root?.[column].get(key);
  }

  /** Sets (or, given undefined, removes) one key of the root row's `other_config` or `external_ids`. */
  async setRootKey(
    client: SwitchClient,
    column: "other_config" | "external_ids",
    key: string,
    value: string | undefined,
  ): Promise<void> {
    const rootUuid = await this.ensureRoot(client);
    const txn = client.transaction();
    txn.mutate("Open_vSwitch", [["_uuid", "==", rootUuid]], [[column, "delete", [key]]]);
    if (value !== undefined) {
      const entry = new Map([[key, value]]);
      txn.mutate("Open_vSwitch", [["_uuid", "==", rootUuid]], [[column, "insert", entry]]);
    }
    await txn.commit();
  }

  /** Names of the bridges in conf.db. */
  async bridgeNames(client: SwitchClient): Promise<string[]> {
    return (await client.select("Bridge", [], ["name"])).map((b) => b.name);
  }

  /** Creates `bridge` unless it exists; an existing bridge gets the datapath type. */
  async ensureBridge(client: SwitchClient, bridge: string, options: BridgeOptions): Promise<void> {
    const [existing] = await client.select("Bridge", [["name", "==", bridge]], ["datapath_type"]);
    if (existing) {
      if (existing.datapath_type !== options.datapathType) {
        const txn = client.transaction();
        txn.update("Bridge", [["_uuid", "==", existing._uuid]], {
          datapath_type: options.datapathType,
        });
        await txn.commit();
      }
      return;
    }
    const rootUuid = await this.ensureRoot(client);
    const txn = client.transaction();
    const iface = txn.insert("Interface", { name: bridge, type: "internal" });
    const port = txn.insert("Port", { name: bridge, interfaces: [iface] });
    const row: Record<string, unknown> = {
      name: bridge,
      ports: [port],
      datapath_type: options.datapathType,
    };
    if (options.failMode) row.fail_mode = options.failMode;
    if (options.otherConfig) row.other_config = new Map(Object.entries(options.otherConfig));
    const bridgeUuid = txn.insert("Bridge", row);
    txn.mutate("Open_vSwitch", [["_uuid", "==", rootUuid]], [["bridges", "insert", [bridgeUuid]]]);
    await txn.commit();
  }

  /**
   * Adds `port` (an existing network interface) to `bridge`, making the
   * bridge first if needed, in one transaction.
   */
  async ensureBridgePort(
    client: SwitchClient,
    bridge: string,
    port: string,
    options: BridgeOptions,
  ): Promise<void> {
    await this.ensureBridge(client, bridge, options);
    const [row] = await client.select("Bridge", [["name", "==", bridge]], ["_uuid"]);
    if (!row) return;
    const txn = client.transaction();
    if (options.otherConfig) {
      const wanted = new Map(Object.entries(options.otherConfig));
      txn.mutate(
        "Bridge",
        [["_uuid", "==", row._uuid]],
        [
          ["other_config", "delete", [...wanted.keys()]],
          ["other_config", "insert", wanted],
        ],
      );
    }
    if ((await this.bridgeOfInterface(client, port)) !== bridge) {
      const iface = txn.insert("Interface", { name: port });
      const portRow = txn.insert("Port", { name: port, interfaces: [iface] });
      txn.mutate("Bridge", [["_uuid", "==", row._uuid]], [["ports", "insert", [portRow]]]);
    }
    await txn.commit();
  }

  /** The bridge that holds interface `name`, if any. */
  async bridgeOfInterface(client: SwitchClient, name: string): Promise<string | undefined> {
    const [iface] = await client.select("Interface", [["name", "==", name]], ["_uuid"]);
    if (!iface) return undefined;
    const [port] = await client.select(
      "Port",
      [["interfaces", "includes", iface._uuid]],
      ["_uuid"],
    );
    if (!port) return undefined;
    const [bridge] = await client.select("Bridge", [["ports", "includes", port._uuid]], ["name"]);
    return bridge?.name;
  }

  /**
   * Bridges and the names of their internal interfaces (the ones the
   * kernel sees, where an address can live).
   */
  async internalInterfaces(client: SwitchClient): Promise<Map<string, string>> {
    const owner = new Map<string, string>();
    const bridges = await client.select("Bridge", [], ["name", "ports"]);
    const ports = await client.select("Port", [], ["interfaces"]);
    const internal = await client.select("Interface", [["type", "==", "internal"]], ["name"]);
    for (const iface of internal) {
      const port = ports.find((p) => p.interfaces.includes(iface._uuid));
      const bridge = port && bridges.find((b) => b.ports.includes(port._uuid));
      if (bridge) owner.set(iface.name, bridge.name);
    }
    return owner;
  }

  /** Removes `bridge` and its ports (what `ovs-vsctl --if-exists del-br` does). */
  async deleteBridge(client: SwitchClient, bridge: string): Promise<void> {
    const [row] = await client.select("Bridge", [["name", "==", bridge]], ["_uuid"]);
    if (!row) return;
    const rootUuid = await this.ensureRoot(client);
    const txn = client.transaction();
    txn.mutate("Open_vSwitch", [["_uuid", "==", rootUuid]], [["bridges", "delete", [row._uuid]]]);
    await txn.commit();
  }

  /**
   * Asks vswitchd to exit and remove its datapath ports (the netdev datapath
   * would otherwise leave tap devices behind).
   */
  async exitWithCleanup(): Promise<void> {
    await run("ovs-appctl", ["-T", "5", "-t", this.vswitchdControlSocket, "exit", "--cleanup"], {
      allowFailure: true,
      timeoutMs: 6_000,
    });
  }
}
