/**
 * What the `versions` map of member rows says about an upgrade of MicroOVN
 * itself: each member reports the state database schema and the member API
 * version it ships. A member ahead of the others (or of the state database's
 * active schema) is UPGRADING, one behind the newest NEEDS UPGRADE, and the
 * state database is converted only once every member reports the same
 * newer schema. Pure logic: the daemon feeds it rows and the active version.
 */

/** Keys of Member.versions. */
export const VERSION_KEYS = {
  /** The program's version (src/version.ts). */
  microovn: "microovn",
  /** The version of the state database schema this member ships. */
  stateSchema: "state-schema",
  /** The member API version this member serves. */
  memberApi: "member-api",
} as const;

/** How a member that answers stands in an upgrade of MicroOVN itself. */
export type UpgradeStatus = "ONLINE" | "UPGRADING" | "NEEDS UPGRADE";

export interface VersionedMember {
  name: string;
  versions: ReadonlyMap<string, string>;
}

/**
 * Compares dotted versions ("1.10.0" > "1.9.2") part by part as numbers, a
 * missing part counting as 0. A member that reports no version at all (one
 * from before versions were recorded) is older than any that does.
 */
export function compareVersions(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) {
    return a === b ? 0 : a === undefined ? -1 : 1;
  }
  const pa = a.split(".").map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split(".").map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function newest(values: readonly (string | undefined)[]): string | undefined {
  return values.reduce<string | undefined>(
    (best, v) => (compareVersions(v, best) > 0 ? v : best),
    values[0],
  );
}

/**
 * Each member's status by name. For each key (state schema, member API):
 * a member behind the newest any member reports NEEDS UPGRADE; one at the
 * newest is UPGRADING while some member is behind it, or (for the schema)
 * while the state database still runs an older `activeSchema`; ONLINE when
 * nothing is left to do. Behind in one key and ahead in the other counts as
 * NEEDS UPGRADE: that member is the one to act on.
 */
export function upgradeStatuses(
  members: readonly VersionedMember[],
  activeSchema?: string,
): Map<string, UpgradeStatus> {
  const statuses = new Map<string, UpgradeStatus>();
  // A member admitted a moment ago has an empty map until its daemon writes
  // its row: it is compared with nobody yet (and holds a conversion back).
  const reporting = members.filter((m) => m.versions.size > 0);
  for (const m of members) if (m.versions.size === 0) statuses.set(m.name, "ONLINE");
  const keys = [VERSION_KEYS.stateSchema, VERSION_KEYS.memberApi];
  const newestOf = new Map(
    keys.map((k) => [k, newest(reporting.map((m) => m.versions.get(k)))] as const),
  );
  for (const m of reporting) {
    let status: UpgradeStatus = "ONLINE";
    for (const key of keys) {
      const mine = m.versions.get(key);
      const top = newestOf.get(key);
      if (compareVersions(mine, top) < 0) {
        status = "NEEDS UPGRADE";
        break;
      }
      const othersBehind = reporting.some((o) => compareVersions(o.versions.get(key), mine) < 0);
      const aheadOfActive =
        key === VERSION_KEYS.stateSchema &&
        activeSchema !== undefined &&
        compareVersions(mine, activeSchema) > 0;
      if (othersBehind || aheadOfActive) status = "UPGRADING";
    }
    statuses.set(m.name, status);
  }
  return statuses;
}

/**
 * The schema version to convert the state database to now: the one every
 * member reports when they all report the same version and it is newer than
 * the `active` one; otherwise undefined (a member not yet upgraded, or one
 * that reports nothing, holds the conversion back).
 */
export function stateSchemaTarget(
  members: readonly VersionedMember[],
  active: string,
): string | undefined {
  if (members.length === 0) return undefined;
  const reported = new Set(members.map((m) => m.versions.get(VERSION_KEYS.stateSchema)));
  if (reported.size !== 1) return undefined;
  const [target] = reported;
  return target !== undefined && compareVersions(target, active) > 0 ? target : undefined;
}
