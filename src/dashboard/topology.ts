/**
 * The logical topology the dashboard draws: switches, routers, their ports,
 * NAT on routers (from NB), and the chassis each port is bound to (from
 * SB's Port_Binding and Chassis). Read by two replicas of only the columns
 * needed, opened while at least one browser watches and closed after.
 *
 * A switch lists at most PORTS_SHOWN ports by name; the rest are counted
 * per chassis, so that a switch with thousands of ports stays one box in
 * the picture and a small message on the wire.
 */
import { EventEmitter } from "node:events";
import type { CentralDatabase } from "../ovn/central.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import type { OvnNorthboundDatabase } from "../ovsdb/models/ovn-northbound.js";
import type { OvnSouthboundDatabase } from "../ovsdb/models/ovn-southbound.js";
import { Replica } from "../ovsdb/replica/replica.js";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import type { Topology, TopologyPort, TopologyRouter, TopologySwitch } from "./view-types.js";

/** Ports of a switch drawn one by one; the others are summed up. */
export const PORTS_SHOWN = 12;

const NB_SELECTION = {
  Logical_Switch: { columns: ["name", "ports"] },
  Logical_Switch_Port: { columns: ["name", "type", "addresses", "options", "up"] },
  Logical_Router: { columns: ["name", "ports", "nat"] },
  Logical_Router_Port: { columns: ["name", "networks"] },
  NAT: { columns: ["type", "external_ip", "logical_ip", "logical_port"] },
} as const;

const SB_SELECTION = {
  Port_Binding: { columns: ["logical_port", "chassis", "type"] },
  Chassis: { columns: ["name", "hostname"] },
} as const;

/** Batches of replica changes closer than this make one update. */
const SETTLE_MS = 250;

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class TopologySource extends EventEmitter<{ change: [] }> {
  private nb: Replica<OvnNorthboundDatabase> | undefined;
  private sb: Replica<OvnSouthboundDatabase> | undefined;
  private clients: OvsdbClient[] = [];
  private problem: string | undefined = "not read yet";
  private settle: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly rt: MemberRuntime) {
    super();
  }

  /** Opens both replicas, retrying in the background until they are read. */
  async open(): Promise<void> {
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const nbClient = await this.connect<OvnNorthboundDatabase>("nb");
        this.clients.push(nbClient);
        const sbClient = await this.connect<OvnSouthboundDatabase>("sb");
        this.clients.push(sbClient);
        this.nb = await Replica.start(nbClient, NB_SELECTION);
        this.sb = await Replica.start(sbClient, SB_SELECTION);
        if (this.closed) break;
        for (const r of [this.nb, this.sb]) {
          (r as Replica).on("change", () => this.changed());
          (r as Replica).on("synced", () => this.changed());
        }
        this.problem = undefined;
        this.changed();
        return;
      } catch (e) {
        this.problem = `NB or SB cannot be read: ${(e as Error).message}`;
        this.closeReplicas();
        this.changed();
        await new Promise((r) => setTimeout(r, Math.min(1000 * 2 ** attempt, 10_000)));
      }
    }
    this.closeReplicas();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.settle);
    this.closeReplicas();
  }

  private closeReplicas(): void {
    this.nb?.close();
    this.sb?.close();
    for (const c of this.clients) c.close();
    this.nb = this.sb = undefined;
    this.clients = [];
  }

  private changed(): void {
    if (this.settle || this.closed) return;
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.emit("change");
    }, SETTLE_MS);
  }

  /** This member's own server when it is a central, else the centrals over TLS. */
  private connect<T extends OvnNorthboundDatabase | OvnSouthboundDatabase>(
    db: CentralDatabase,
  ): Promise<OvsdbClient<T>> {
    const database = (db === "nb" ? INSTALLED_SCHEMAS.northbound : INSTALLED_SCHEMAS.southbound)
      .database;
    const local = this.rt.requireConfig().services.includes("central");
    return OvsdbClient.connect<T>({
      remotes: local
        ? `unix:${this.rt.central().unixSocket(db)}`
        : db === "nb"
          ? this.rt.nbRemotes()
          : this.rt.sbRemotes(),
      database,
      leaderOnly: false,
      waitForConnectionMs: 5_000,
      ...(local ? {} : { tls: this.rt.pki.tlsFiles("client") }),
    });
  }

  /** The topology as the replicas hold it now. */
  snapshot(): Topology {
    const nb = this.nb;
    const sb = this.sb;
    if (!nb || !sb) return { switches: [], routers: [], chassis: [], problem: this.problem };
    const chassis = sb.table("Chassis");
    const boundTo = new Map<string, string>();
    for (const b of sb.table("Port_Binding").values()) {
      const c = b.chassis !== undefined ? chassis.get(b.chassis) : undefined;
      if (c) boundTo.set(b.logical_port, c.hostname || c.name);
    }
    const lsps = nb.table("Logical_Switch_Port");
    const switches = [...nb.table("Logical_Switch").values()].map((ls): TopologySwitch => {
      const all = ls.ports
        .map((uuid) => lsps.get(uuid))
        .filter((p) => p !== undefined)
        .map((p): TopologyPort => {
          const bound = boundTo.get(p.name);
          const routerPort = p.type === "router" ? p.options.get("router-port") : undefined;
          return {
            name: p.name,
            type: p.type,
            addresses: p.addresses,
            ...(bound !== undefined ? { chassis: bound } : {}),
            ...(p.up !== undefined ? { up: p.up } : {}),
            ...(routerPort !== undefined ? { routerPort } : {}),
          };
        })
        // Router and other special ports first: they are what connects the picture.
        .sort((a, b) => Number(a.type === "") - Number(b.type === "") || byName(a, b));
      const more = { count: 0, byChassis: {} as Record<string, number> };
      for (const p of all.slice(PORTS_SHOWN)) {
        more.count++;
        const key = p.chassis ?? "";
        more.byChassis[key] = (more.byChassis[key] ?? 0) + 1;
      }
      return { name: ls.name || ls._uuid, ports: all.slice(0, PORTS_SHOWN), more };
    });
    const lrps = nb.table("Logical_Router_Port");
    const nats = nb.table("NAT");
    const routers = [...nb.table("Logical_Router").values()].map((lr): TopologyRouter => ({
      name: lr.name || lr._uuid,
      ports: lr.ports
        .map((uuid) => lrps.get(uuid))
        .filter((p) => p !== undefined)
        .map((p) => {
          const gateway = boundTo.get(`cr-${p.name}`);
          return {
            name: p.name,
            networks: p.networks,
            ...(gateway !== undefined ? { gatewayChassis: gateway } : {}),
          };
        })
        .sort(byName),
      nat: lr.nat
        .map((uuid) => nats.get(uuid))
        .filter((n) => n !== undefined)
        .map((n) => ({
          type: n.type,
          externalIp: n.external_ip,
          logicalIp: n.logical_ip,
          ...(n.logical_port !== undefined ? { logicalPort: n.logical_port } : {}),
        }))
        .sort((a, b) => a.type.localeCompare(b.type) || a.externalIp.localeCompare(b.externalIp)),
    }));
    return {
      switches: switches.sort(byName),
      routers: routers.sort(byName),
      chassis: [...chassis.values()]
        .map((c) => ({ name: c.name, hostname: c.hostname }))
        .sort(byName),
    };
  }
}
