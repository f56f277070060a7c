/**
 * What the dashboard's server sends its page: the cluster view (each
 * member with what it reported about itself) and the logical topology.
 * Types only, importing nothing, so that the page's bundle shares them.
 */
export type DatabaseKey = "nb" | "sb" | "state";

export interface RaftSnapshot {
  role: string;
  status: string;
  term: number;
  /** "self", the leader's short server ID, or "unknown". */
  leader: string;
  serverId: string;
}

export interface MemberSnapshot {
  name: string;
  processes: {
    name: string;
    phase: string;
    pid?: number;
    restarts: number;
    lastExit?: string;
  }[];
  raft: Partial<Record<DatabaseKey, RaftSnapshot>>;
  certificates: { name: string; notAfter?: string; problem?: string }[];
}

export interface MemberEntry {
  name: string;
  address: string;
  role: string;
  status: string;
  services: string[];
  versions: Record<string, string>;
  /** What the member reported, unless it could not be asked. */
  snapshot?: MemberSnapshot;
  /** Why it could not be asked. */
  unreachable?: string;
}

export interface ClusterView {
  /** The member whose dashboard this is. */
  self: string;
  members: MemberEntry[];
  upgrade: {
    /** The schema the state database runs. */
    stateSchema?: string;
    /** Members whose versions differ from the rest (UPGRADING, NEEDS UPGRADE). */
    pending: { name: string; status: string }[];
  };
  /** Why the state database could not be read, if it could not. */
  problem?: string;
}

export interface TopologyPort {
  name: string;
  type: string;
  addresses: string[];
  /** The chassis (host name) it is bound to, if any. */
  chassis?: string;
  up?: boolean;
  /** For a switch port of type router: the router port it connects to. */
  routerPort?: string;
}

export interface TopologySwitch {
  name: string;
  ports: TopologyPort[];
  /** Ports not listed, by chassis ("" for unbound). */
  more: { count: number; byChassis: Record<string, number> };
}

export interface TopologyRouter {
  name: string;
  ports: { name: string; networks: string[]; gatewayChassis?: string }[];
  nat: { type: string; externalIp: string; logicalIp: string; logicalPort?: string }[];
}

export interface Topology {
  switches: TopologySwitch[];
  routers: TopologyRouter[];
  chassis: { name: string; hostname: string }[];
  /** Why NB or SB could not be read, if they could not. */
  problem?: string;
}
