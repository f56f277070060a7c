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

/** The network a subnet's DHCP_Options row belongs to (our key). */
export const SUBNET_NETWORK = "microovn:network_id";

export class NbRows {
  private stale = true;
  private switches = new Map<string, LogicalSwitch>();
  private subnets = new Map<string, DhcpOptions>();
  private subnetsOfNetwork = new Map<string, DhcpOptions[]>();
  private watched: NbReplica | undefined;

  /** `source` is asked on first use, so routes can be set up before the replica exists. */
  constructor(private readonly source: () => NbReplica) {}

  get replica(): NbReplica {
    if (!this.watched) {
      this.watched = this.source();
      this.watched.on("change", (changes: readonly { table: string }[]) => {
        if (changes.some((c) => c.table === "Logical_Switch" || c.table === "DHCP_Options")) {
          this.stale = true;
        }
      });
    }
    return this.watched;
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
