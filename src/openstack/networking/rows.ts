/**
 * Where each Neutron resource is among the NB replica's rows, found without
 * a scan per request: networks by id (Logical_Switch `neutron-<id>`),
 * subnets by id and by network (DHCP_Options with `subnet_id` and no
 * `port_id`), ports by id (Logical_Switch_Port named by the id, through the
 * schema's name index). The two maps are made again from the replica after
 * it changed a switch or a DHCP_Options row, on the next read; there are
 * few of those rows next to ports.
 */
import type {
  DhcpOptions,
  LogicalSwitch,
  LogicalSwitchPort,
} from "../../ovsdb/models/ovn-northbound.js";
import type { NbReplica } from "../backend.js";
import type { RowChange } from "../../ovsdb/index.js";
import { parseIp } from "./addresses.js";
import { MICROOVN, NEUTRON } from "./attributes.js";

export const SWITCH_PREFIX = "neutron-";

/** The Logical_Switch name of a network, as ML2/OVN names it. */
export function switchName(networkId: string): string {
  return `${SWITCH_PREFIX}${networkId}`;
}

/** The network id of a switch name, or undefined for a switch Neutron did not make. */
export function networkIdOf(name: string): string | undefined {
  return name.startsWith(SWITCH_PREFIX) ? name.slice(SWITCH_PREFIX.length) : undefined;
}

/** One key per address a port holds: `microovn:ip:<address>` = the subnet id. */
export const PORT_IP_PREFIX = "microovn:ip:";

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

/** The fixed IPs a port's external_ids record. */
export function fixedIpsOf(ids: ReadonlyMap<string, string>): FixedIp[] {
  const out: FixedIp[] = [];
  for (const [key, subnet] of ids) {
    if (key.startsWith(PORT_IP_PREFIX)) {
      out.push({ subnet_id: subnet, ip_address: key.slice(PORT_IP_PREFIX.length) });
    }
  }
  return out;
}

/** A port's MAC, on the port (our key), for the guard that keeps it unique on its network. */
export const PORT_MAC = "microovn:mac";

/** The network a subnet's DHCP_Options row belongs to (our key). */
export const SUBNET_NETWORK = "microovn:network_id";

export class NbRows {
  private stale = true;
  private switches = new Map<string, LogicalSwitch>();
  private subnets = new Map<string, DhcpOptions>();
  private subnetsOfNetwork = new Map<string, DhcpOptions[]>();
  private watched: NbReplica | undefined;
  /** One up on every change the replica applies: what a cached answer was made from. */
  private changes = 0;
  /** subnet id → address → port; switch name → MAC → port. Kept up to date from the replica's changes once made. */
  private addressIndex: Map<string, Map<bigint, string>> | undefined;
  private macIndex: Map<string, Map<string, string>> | undefined;

  /** `source` is asked on first use, so routes can be set up before the replica exists. */
  constructor(private readonly source: () => NbReplica) {}

  get replica(): NbReplica {
    if (!this.watched) {
      this.watched = this.source();
      this.watched.on("change", (changes: readonly RowChange[]) => {
        this.changes++;
        for (const c of changes) {
          if (c.table === "Logical_Switch" || c.table === "DHCP_Options") this.stale = true;
          if (c.table !== "Logical_Switch_Port" || !this.addressIndex) continue;
          const before = c.kind === "delete" ? c.row : c.old;
          if (before) this.unindexPort(before as unknown as LogicalSwitchPort);
          if (c.kind !== "delete") this.indexPort(c.row as unknown as LogicalSwitchPort);
        }
      });
    }
    return this.watched;
  }

  private indexPort(lsp: LogicalSwitchPort, add = true): void {
    const network = lsp.external_ids.get(NEUTRON.networkName);
    if (network === undefined) return;
    for (const ip of fixedIpsOf(lsp.external_ids)) {
      const value = parseIp(ip.ip_address)?.value;
      if (value === undefined) continue;
      let m = this.addressIndex!.get(ip.subnet_id);
      if (!m) this.addressIndex!.set(ip.subnet_id, (m = new Map<bigint, string>()));
      if (add) m.set(value, lsp.name);
      else if (m.get(value) === lsp.name) m.delete(value);
    }
    const mac = lsp.external_ids.get(PORT_MAC);
    if (mac === undefined) return;
    let m = this.macIndex!.get(network);
    if (!m) this.macIndex!.set(network, (m = new Map<string, string>()));
    if (add) m.set(mac, lsp.name);
    else if (m.get(mac) === lsp.name) m.delete(mac);
  }

  private unindexPort(lsp: LogicalSwitchPort): void {
    this.indexPort(lsp, false);
  }

  private ensureIndex(): void {
    if (this.addressIndex) return;
    this.addressIndex = new Map();
    this.macIndex = new Map();
    for (const lsp of this.replica.table("Logical_Switch_Port").values()) this.indexPort(lsp);
  }

  /** Changes seen so far: an answer made at the same count is still true. */
  get generation(): number {
    void this.replica;
    return this.changes;
  }

  /** The port holding an address of a subnet, if any. */
  addressHolder(subnetId: string, value: bigint): string | undefined {
    this.ensureIndex();
    return this.addressIndex!.get(subnetId)?.get(value);
  }

  /** The port with this MAC on the network, if any. */
  macHolder(networkId: string, mac: string): string | undefined {
    this.ensureIndex();
    return this.macIndex!.get(switchName(networkId))?.get(mac);
  }

  private refresh(): void {
    if (!this.stale) return;
    this.stale = false;
    const switches = new Map<string, LogicalSwitch>();
    for (const ls of this.replica.table("Logical_Switch").values()) {
      const id = networkIdOf(ls.name);
      if (id !== undefined) switches.set(id, ls);
    }
    const subnets = new Map<string, DhcpOptions>();
    const byNetwork = new Map<string, DhcpOptions[]>();
    for (const row of this.replica.table("DHCP_Options").values()) {
      const id = row.external_ids.get(NEUTRON.subnetId);
      if (id === undefined || row.external_ids.has(NEUTRON.portId)) continue;
      subnets.set(id, row);
      const network = row.external_ids.get(SUBNET_NETWORK) ?? "";
      const list = byNetwork.get(network);
      if (list) list.push(row);
      else byNetwork.set(network, [row]);
    }
    this.switches = switches;
    this.subnets = subnets;
    this.subnetsOfNetwork = byNetwork;
  }

  network(id: string): LogicalSwitch | undefined {
    this.refresh();
    return this.switches.get(id);
  }

  networks(): IterableIterator<[string, LogicalSwitch]> {
    this.refresh();
    return this.switches.entries();
  }

  subnet(id: string): DhcpOptions | undefined {
    this.refresh();
    return this.subnets.get(id);
  }

  allSubnets(): IterableIterator<DhcpOptions> {
    this.refresh();
    return this.subnets.values();
  }

  subnetsOf(networkId: string): readonly DhcpOptions[] {
    this.refresh();
    return this.subnetsOfNetwork.get(networkId) ?? [];
  }

  /** A Neutron port (a switch port that carries Neutron's keys). */
  port(id: string): LogicalSwitchPort | undefined {
    const lsp = this.replica.table("Logical_Switch_Port").lookup({ name: id });
    return lsp && isNeutronPort(lsp) ? lsp : undefined;
  }

  /** The switch ports of a network, Neutron's and others (its localnet port). */
  portsOf(networkId: string): LogicalSwitchPort[] {
    const ls = this.network(networkId);
    if (!ls) return [];
    const table = this.replica.table("Logical_Switch_Port");
    const out: LogicalSwitchPort[] = [];
    for (const uuid of ls.ports) {
      const lsp = table.get(uuid);
      if (lsp) out.push(lsp);
    }
    return out;
  }

  /** The project that owns a network (our key; ML2/OVN has none on the switch). */
  networkProject(ls: LogicalSwitch): string {
    return ls.external_ids.get(MICROOVN.projectId) ?? "";
  }
}

export function isNeutronPort(lsp: LogicalSwitchPort): boolean {
  return lsp.external_ids.has(NEUTRON.networkName);
}

const shared = new WeakMap<object, NbRows>();

/** The one NbRows of a Networking API (its context), made on first use. */
export function nbRows(context: { backend: { nbReplica: NbReplica } }): NbRows {
  let rows = shared.get(context);
  if (!rows) {
    rows = new NbRows(() => context.backend.nbReplica);
    shared.set(context, rows);
  }
  return rows;
}
