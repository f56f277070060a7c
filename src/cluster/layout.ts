/**
 * The cluster's layout as this member last saw it: every member's name,
 * address, role and services. It comes from the cluster state database and
 * is kept in DIR/data/cluster.json, so that a daemon starting again knows
 * where the OVN databases and the voters are before it can read the state
 * database (which, on a spare, it reaches through those voters).
 */
import { readFile } from "node:fs/promises";
import { clientPort, raftPort, sslTarget, type CentralDatabase } from "../ovn/central.js";
import { isServiceName, type ServiceName } from "../member/config.js";
import { writeAtomically } from "../util/fs.js";
import type { MemberRole } from "./placement.js";
import { STATE_DB_PORTS } from "./state-db.js";

export interface LayoutMember {
  name: string;
  address: string;
  role: MemberRole;
  services: ServiceName[];
}

export interface ClusterLayout {
  members: LayoutMember[];
  /** Cluster-wide settings (`microovn config`), e.g. ovn.central-ips; absent when none. */
  config?: Record<string, string>;
}

/** Sort order of members everywhere: by name. */
export function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** A layout in its one canonical form (members by name, services in order, keys sorted). */
export function normalizeLayout(
  members: readonly LayoutMember[],
  config: Readonly<Record<string, string>> = {},
): ClusterLayout {
  const keys = Object.keys(config).sort();
  return {
    ...(keys.length > 0 ? { config: Object.fromEntries(keys.map((k) => [k, config[k]!])) } : {}),
    members: members
      .map((m) => ({
        name: m.name,
        address: m.address,
        role: m.role,
        services: [...m.services].filter(isServiceName).sort(),
      }))
      .sort(byName),
  };
}

export function sameLayout(a: ClusterLayout, b: ClusterLayout): boolean {
  return (
    JSON.stringify(normalizeLayout(a.members, a.config)) ===
    JSON.stringify(normalizeLayout(b.members, b.config))
  );
}

export function centrals(layout: ClusterLayout): LayoutMember[] {
  return layout.members.filter((m) => m.services.includes("central"));
}

export function voters(layout: ClusterLayout): LayoutMember[] {
  return layout.members.filter((m) => m.role === "voter");
}

/** Client remotes of NB or SB on every central, e.g. ["ssl:10.0.0.1:6641", …]. */
export function databaseRemotes(layout: ClusterLayout, db: CentralDatabase): string[] {
  return centrals(layout).map((m) => sslTarget(m.address, clientPort(db)));
}

/** Raft addresses of NB or SB on every central except `exceptName`. */
export function raftPeers(
  layout: ClusterLayout,
  db: CentralDatabase,
  exceptName: string,
): string[] {
  return centrals(layout)
    .filter((m) => m.name !== exceptName)
    .map((m) => sslTarget(m.address, raftPort(db)));
}

/** Client remotes of the cluster state database (on the voters). */
export function stateDbRemotes(layout: ClusterLayout): string[] {
  return voters(layout).map((m) => sslTarget(m.address, STATE_DB_PORTS.client));
}

/** Raft addresses of the state database on every voter except `exceptName`. */
export function stateDbRaftPeers(layout: ClusterLayout, exceptName: string): string[] {
  return voters(layout)
    .filter((m) => m.name !== exceptName)
    .map((m) => sslTarget(m.address, STATE_DB_PORTS.raft));
}

export class LayoutFile {
  constructor(readonly path: string) {}

  async read(): Promise<ClusterLayout | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch {
      return undefined;
    }
    const value = JSON.parse(text) as ClusterLayout;
    return normalizeLayout(value.members ?? [], value.config);
  }

  async write(layout: ClusterLayout): Promise<void> {
    await writeAtomically(
      this.path,
      `${JSON.stringify(normalizeLayout(layout.members, layout.config), null, 2)}\n`,
      0o644,
    );
  }
}
