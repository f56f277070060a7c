/**
 * The service's view of the cluster: one client and one in-memory replica
 * each for NB (networks, subnets, ports, security groups are its rows), SB
 * (which chassis bound a port, and where a migrating one is; the chassis,
 * which are the agents) and the cluster state database (users, projects,
 * roles, token keys and revocations, cluster settings). Reads are
 * answered from the replicas, never by a round trip; every write is one
 * transaction on the client whose replica the next read consults, so a read
 * after an acknowledged write sees it (`nbWritten` waits for that).
 */
import { OvsdbClient, Replica, type Selection, type TlsFiles } from "../ovsdb/index.js";
import type { MicroOVNDatabase } from "../ovsdb/models/microovn.js";
import type { OvnNorthboundDatabase } from "../ovsdb/models/ovn-northbound.js";
import type { OvnSouthboundDatabase } from "../ovsdb/models/ovn-southbound.js";
import type { ApiSettings } from "./settings.js";

export type NbClient = OvsdbClient<OvnNorthboundDatabase>;
export type NbReplica = Replica<OvnNorthboundDatabase>;
export type StateClient = OvsdbClient<MicroOVNDatabase>;
export type StateReplica = Replica<MicroOVNDatabase>;
export type SbReplica = Replica<OvnSouthboundDatabase>;

const NB_DATABASE = "OVN_Northbound";
const SB_DATABASE = "OVN_Southbound";
const STATE_DATABASE = "MicroOVN";

/** Every NB table the API maps (part of what Neutron's ML2/OVN driver writes). */
const NB_TABLES = [
  "NB_Global",
  "Logical_Switch",
  "Logical_Switch_Port",
  "DHCP_Options",
  "Port_Group",
  "ACL",
  "Address_Set",
  "Logical_Router",
  "Logical_Router_Port",
  "Logical_Router_Static_Route",
  "NAT",
  "Gateway_Chassis",
  "Load_Balancer",
] as const satisfies readonly (keyof OvnNorthboundDatabase)[];

/** The NB replica's selection: every column of every table the API maps. */
export const NB_SELECTION: Selection<OvnNorthboundDatabase> = Object.fromEntries(
  NB_TABLES.map((t) => [t, true]),
);

/**
 * What the service needs of SB: chassis names, and where each port is bound
 * (main and additional chassis, and the activation a live migration waits
 * for, in options).
 */
export const SB_SELECTION = {
  // Agents and availability zones read the chassis' options and how far they caught up.
  Chassis: { columns: ["name", "hostname", "other_config", "external_ids"] },
  Chassis_Private: {
    columns: ["name", "chassis", "nb_cfg", "nb_cfg_timestamp", "external_ids"],
  },
  Port_Binding: {
    columns: [
      "logical_port",
      "chassis",
      "additional_chassis",
      "requested_chassis",
      "up",
      "options",
    ],
  },
} as const satisfies Selection<OvnSouthboundDatabase>;

function connect<T extends object>(
  remotes: readonly string[],
  database: string,
  tls: TlsFiles,
  leaderOnly: boolean,
): Promise<OvsdbClient<T>> {
  return OvsdbClient.connect<T>({
    remotes,
    database,
    tls,
    leaderOnly,
    // The service waits for the databases at start (the supervisor restarts
    // it if they never come); later, requests wait at most this long.
    waitForConnectionMs: 10_000,
    requestTimeoutMs: 10_000,
  });
}

export class Backend {
  private constructor(
    readonly nb: NbClient,
    readonly nbReplica: NbReplica,
    readonly sbReplica: SbReplica,
    /** Agents' descriptions and the removal of dead chassis are its only writes. */
    readonly sb: OvsdbClient<OvnSouthboundDatabase>,
    readonly state: StateClient,
    readonly stateReplica: StateReplica,
  ) {}

  static async open(settings: ApiSettings): Promise<Backend> {
    const tls = settings.databaseTls;
    const opened: { close(): void }[] = [];
    try {
      // Writes go to the NB leader, and the replica on the same connection
      // sees each write before its reply comes back.
      const nb = await connect<OvnNorthboundDatabase>(settings.nbRemotes, NB_DATABASE, tls, true);
      opened.push(nb);
      const nbReplica = await Replica.start(nb, NB_SELECTION);
      opened.push(nbReplica);
      const sb = await connect<OvnSouthboundDatabase>(settings.sbRemotes, SB_DATABASE, tls, false);
      opened.push(sb);
      const sbReplica = await Replica.start(sb, SB_SELECTION);
      opened.push(sbReplica);
      const state = await connect<MicroOVNDatabase>(
        settings.stateDbRemotes,
        STATE_DATABASE,
        tls,
        false,
      );
      opened.push(state);
      const stateReplica = await Replica.start(state, {
        Config: true,
        Identity_Project: true,
        Identity_User: true,
        Identity_Role: true,
        Identity_Assignment: true,
        Identity_Token_Key: true,
        Identity_Revoked_Token: true,
      });
      opened.push(stateReplica);
      return new Backend(nb, nbReplica, sbReplica, sb, state, stateReplica);
    } catch (e) {
      for (const o of opened.reverse()) o.close();
      throw e;
    }
  }

  /** A cluster setting (`microovn config set`), from the replica. */
  config(key: string): string | undefined {
    return this.stateReplica.table("Config").lookup({ key })?.value;
  }

  /** The cluster's members changed: connect through the new lists. */
  follow(settings: ApiSettings): void {
    this.nb.setRemotes(settings.nbRemotes);
    this.sb.setRemotes(settings.sbRemotes);
    this.state.setRemotes(settings.stateDbRemotes);
  }

  close(): void {
    for (const r of [this.nbReplica, this.sbReplica, this.stateReplica]) r.close();
    for (const c of [this.nb, this.sb, this.state]) c.close();
  }
}
