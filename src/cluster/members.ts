/**
 * Members in the cluster state database: what their rows (name, address,
 * role, API certificate fingerprint, services, chassis settings, versions,
 * heartbeat) say about the layout and who is online. Writing this member's
 * own row is membership/member-row.ts's job.
 */
import type { MicroOVNDatabase } from "../ovsdb/models/microovn.js";
import type { DatabaseSchema } from "../ovsdb/schema/schema.js";
import { CONVERSION_LEASE_PREFIX } from "./config-keys.js";
import { upgradeStatuses, type UpgradeStatus } from "./member-versions.js";
import { byName, normalizeLayout, type ClusterLayout, type LayoutMember } from "./layout.js";

export type MemberRow = MicroOVNDatabase["Member"];

/** How often each daemon writes its heartbeat. */
export const HEARTBEAT_INTERVAL_MS = 2_000;
/** A member whose heartbeat is older than this is OFFLINE. */
export const OFFLINE_AFTER_MS = 8_000;

export type MemberStatus = "ONLINE" | "OFFLINE";

export function memberStatus(row: Pick<MemberRow, "heartbeat">, now = Date.now()): MemberStatus {
  return now - row.heartbeat <= OFFLINE_AFTER_MS ? "ONLINE" : "OFFLINE";
}

/** What `cluster list` shows: OFFLINE wins over where a member stands in an upgrade. */
export type ListedStatus = "OFFLINE" | UpgradeStatus;

/** A member as `cluster list` and `status` show it. */
export interface MemberView extends LayoutMember {
  fingerprint: string;
  status: ListedStatus;
}

/**
 * Views of `rows`, by name, with each one's status at `now`; given the state
 * database's `activeSchema`, a member whose versions are ahead of it or of
 * the others is UPGRADING, one behind NEEDS UPGRADE.
 */
export function describeMembers(
  rows: Iterable<MemberRow>,
  now = Date.now(),
  activeSchema?: string,
): MemberView[] {
  const all = [...rows];
  const upgrade = upgradeStatuses(all, activeSchema);
  return all
    .map((r): MemberView => ({
      name: r.name,
      address: r.address,
      role: r.role,
      services: [...r.services].sort(),
      fingerprint: r.fingerprint,
      status: memberStatus(r, now) === "OFFLINE" ? "OFFLINE" : (upgrade.get(r.name) ?? "ONLINE"),
    }))
    .sort(byName);
}

export type ConfigRow = MicroOVNDatabase["Config"];

/** The layout that Member rows (and Config rows, when given) describe. */
export function layoutFromRows(
  rows: Iterable<MemberRow>,
  configRows: Iterable<Pick<ConfigRow, "key" | "value">> = [],
): ClusterLayout {
  const members: LayoutMember[] = [];
  for (const r of rows) {
    members.push({ name: r.name, address: r.address, role: r.role, services: [...r.services] });
  }
  const config: Record<string, string> = {};
  for (const c of configRows) {
    // A lease comes and goes with each conversion; no member has anything to refresh for it.
    if (!c.key.startsWith(CONVERSION_LEASE_PREFIX)) config[c.key] = c.value;
  }
  return normalizeLayout(members, config);
}

/**
 * Whether a state database running `schema` can record a member running
 * `service`: a cluster made before the service existed runs a schema whose
 * Member.services does not name it.
 */
export function schemaRecordsService(schema: DatabaseSchema, service: string): boolean {
  const allowed = schema.tables.get("Member")?.columns.get("services")?.type.key.enum;
  return allowed === undefined || allowed.includes(service);
}
