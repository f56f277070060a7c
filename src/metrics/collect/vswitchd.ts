/**
 * Open vSwitch on this member: ovs-vswitchd's bridges and their ports
 * (`dpif/show`), each bridge's OpenFlow flow count (`ovs-ofctl
 * dump-aggregate` on its management socket: OpenFlow has no unixctl
 * command for it), and the interface counters conf.db keeps.
 */
import { OvsdbClient } from "../../ovsdb/index.js";
import { run } from "../../process/run.js";
import type { MetricSet } from "../metric-set.js";
import { parseDpifShow, parseFlowCount, parseVersion, type DatapathBridge } from "../read/parse.js";
import { appctl } from "../../ovn/unixctl.js";

export interface SwitchFiles {
  vswitchdControlSocket: string;
  /** conf.db's unix socket. */
  dbSocket: string;
  managementSocket(bridge: string): string;
}

/** What the chassis metrics need from the switch. */
export interface SwitchView {
  bridges: DatapathBridge[];
  /** OpenFlow flows per bridge. */
  flows: Map<string, number>;
  /** Open_vSwitch external_ids (ovn-encap-ip, ovn-bridge-mappings, …). */
  externalIds: Map<string, string>;
}

/** Interface statistics keys, each `ovs_vswitchd_interface_<key>_total` as ovn-kubernetes names them. */
const INTERFACE_COUNTERS = [
  "rx_packets",
  "tx_packets",
  "rx_bytes",
  "tx_bytes",
  "rx_dropped",
  "tx_dropped",
  "rx_errors",
  "tx_errors",
  "collisions",
];

async function flowCount(socket: string): Promise<number | undefined> {
  const result = await run("ovs-ofctl", ["-t", "2", "dump-aggregate", `unix:${socket}`], {
    allowFailure: true,
    timeoutMs: 3_000,
  }).catch(() => undefined);
  return result?.exitCode === 0 ? parseFlowCount(result.stdout) : undefined;
}

type WireMap = ["map", [string, string | number][]];

function mapOf(value: unknown): Map<string, string | number> {
  const pairs = Array.isArray(value) && value[0] === "map" ? (value as WireMap)[1] : [];
  return new Map(pairs);
}

/** Interface statistics and the root row's external_ids, in one transaction. */
interface InterfaceCounters {
  name: string;
  /** The bridge and port it belongs to, as ovn-kubernetes labels them ("none" when it belongs to none). */
  bridge: string;
  port: string;
  statistics: Map<string, string | number>;
}

function uuidsOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  if (value[0] === "uuid") return [String(value[1])];
  if (value[0] === "set") return (value[1] as unknown[]).flatMap(uuidsOf);
  return [];
}

/** Interface statistics with their bridge and port, and the root row's external_ids, in one transaction. */
async function readConfDb(
  dbSocket: string,
): Promise<{ interfaces: InterfaceCounters[]; externalIds: Map<string, string> } | undefined> {
  let client: OvsdbClient | undefined;
  try {
    client = await OvsdbClient.connect({
      remotes: `unix:${dbSocket}`,
      leaderOnly: false,
      waitForConnectionMs: 2_000,
    });
    const [bridges, ports, interfaces, root] = await client.transact("Open_vSwitch", [
      { op: "select", table: "Bridge", where: [], columns: ["name", "ports"] },
      { op: "select", table: "Port", where: [], columns: ["_uuid", "name", "interfaces"] },
      { op: "select", table: "Interface", where: [], columns: ["_uuid", "name", "statistics"] },
      { op: "select", table: "Open_vSwitch", where: [], columns: ["external_ids"] },
    ]);
    const rows = (r: unknown) => (r as { rows?: Record<string, unknown>[] } | null)?.rows ?? [];
    const bridgeOfPort = new Map<string, string>();
    for (const b of rows(bridges))
      for (const p of uuidsOf(b.ports)) bridgeOfPort.set(p, String(b.name));
    const portOfInterface = new Map<string, { port: string; bridge: string }>();
    for (const p of rows(ports)) {
      const [, uuid] = p._uuid as [string, string];
      for (const i of uuidsOf(p.interfaces)) {
        portOfInterface.set(i, { port: String(p.name), bridge: bridgeOfPort.get(uuid) ?? "none" });
      }
    }
    return {
      interfaces: rows(interfaces).map((row) => {
        const [, uuid] = row._uuid as [string, string];
        const owner = portOfInterface.get(uuid);
        return {
          name: String(row.name),
          bridge: owner?.bridge ?? "none",
          port: owner?.port ?? "none",
          statistics: mapOf(row.statistics),
        };
      }),
      externalIds: new Map([...mapOf(rows(root)[0]?.external_ids)].map(([k, v]) => [k, String(v)])),
    };
  } catch {
    return undefined;
  } finally {
    client?.close();
  }
}

export async function collectVswitchd(set: MetricSet, files: SwitchFiles): Promise<SwitchView> {
  const [dpif, version, confDb] = await Promise.all([
    appctl(files.vswitchdControlSocket, "dpif/show"),
    appctl(files.vswitchdControlSocket, "version"),
    readConfDb(files.dbSocket),
  ]);
  const bridges = dpif === undefined ? [] : parseDpifShow(dpif);
  const flows = new Map<string, number>();
  await Promise.all(
    bridges.map(async (b) => {
      const count = await flowCount(files.managementSocket(b.name));
      if (count !== undefined) flows.set(b.name, count);
    }),
  );
  for (const b of bridges) {
    set.gauge("ovs_vswitchd_bridge_ports_total", "Ports on the bridge", b.ports.length, {
      bridge: b.name,
    });
    const count = flows.get(b.name);
    if (count !== undefined)
      set.gauge("ovs_vswitchd_bridge_flows_total", "OpenFlow flows on the bridge", count, {
        bridge: b.name,
      });
  }
  for (const iface of confDb?.interfaces ?? []) {
    for (const key of INTERFACE_COUNTERS) {
      const value = iface.statistics.get(key);
      if (typeof value === "number") {
        set.counter(
          `ovs_vswitchd_interface_${key}_total`,
          `The interface's ${key.replace("_", " ")}`,
          value,
          { bridge: iface.bridge, port: iface.port, interface: iface.name },
        );
      }
    }
  }
  const built = version === undefined ? undefined : parseVersion(version);
  if (built)
    set.info("ovs_build_info", "1, labelled with Open vSwitch's version", {
      version: built.version,
    });
  return { bridges, flows, externalIds: confDb?.externalIds ?? new Map<string, string>() };
}
