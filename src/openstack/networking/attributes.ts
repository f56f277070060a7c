/**
 * Where the attributes Neutron keeps in its own database live when NB is
 * the only store: in the external_ids of the row that carries the resource.
 * Keys Neutron's ML2/OVN driver writes keep its names (`neutron:*`, and
 * `subnet_id` on DHCP_Options) so OVN tools made for OpenStack read our
 * rows; what only Neutron's database holds gets a `microovn:` key of ours.
 * Pure: no I/O.
 */

/** Keys ML2/OVN writes (reference/openstack.md). */
export const NEUTRON = {
  revision: "neutron:revision_number",
  networkName: "neutron:network_name",
  mtu: "neutron:mtu",
  azHints: "neutron:availability_zone_hints",
  cidrs: "neutron:cidrs",
  deviceId: "neutron:device_id",
  deviceOwner: "neutron:device_owner",
  portName: "neutron:port_name",
  projectId: "neutron:project_id",
  securityGroupIds: "neutron:security_group_ids",
  /** DHCP_Options of a subnet: no prefix, as ML2/OVN writes it. */
  subnetId: "subnet_id",
  /** DHCP_Options of one port's extra_dhcp_opts. */
  portId: "port_id",
} as const;

/** Keys of ours, for what Neutron keeps in its database. */
export const MICROOVN = {
  createdAt: "microovn:created_at",
  updatedAt: "microovn:updated_at",
  description: "microovn:description",
  /** JSON array of strings. */
  tags: "microovn:tags",
  projectId: "microovn:project_id",
  name: "microovn:name",
} as const;

export type ExternalIds = ReadonlyMap<string, string>;

/** What every resource answers with: Neutron's standard attributes. */
export interface StandardAttributes {
  description: string;
  tags: string[];
  created_at: string;
  updated_at: string;
  revision_number: number;
}

/** Attributes every resource has, besides its own: what may be filtered and sorted on. */
export const COMMON_ATTRIBUTES = [
  "id",
  "name",
  "tenant_id",
  "project_id",
  "description",
  "tags",
  "created_at",
  "updated_at",
  "revision_number",
] as const;

/** Neutron's timestamps: ISO 8601 in UTC to the second, with a Z. */
export function timestamp(now = new Date()): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function tagsOf(ids: ExternalIds): string[] {
  const parsed = jsonOf<unknown>(ids, MICROOVN.tags, []);
  return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === "string") : [];
}

/** A value we keep as JSON; the fallback when it is missing or unreadable. */
export function jsonOf<T>(ids: ExternalIds, key: string, fallback: T): T {
  const raw = ids.get(key);
  if (!raw) return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    // A hand-edited value we cannot read is none rather than a failed answer.
    return fallback;
  }
}

export function revisionOf(ids: ExternalIds): number {
  const n = Number(ids.get(NEUTRON.revision));
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

export function standardAttributes(ids: ExternalIds): StandardAttributes {
  const created = ids.get(MICROOVN.createdAt) ?? "";
  return {
    description: ids.get(MICROOVN.description) ?? "",
    tags: tagsOf(ids),
    created_at: created,
    updated_at: ids.get(MICROOVN.updatedAt) ?? created,
    revision_number: revisionOf(ids),
  };
}

/** The standard attributes a new resource starts with (revision 1, as Neutron's first write). */
export function createdIds(options: {
  description?: string | undefined;
  tags?: readonly string[] | undefined;
  now?: Date;
}): Map<string, string> {
  const now = timestamp(options.now);
  const ids = new Map<string, string>([
    [NEUTRON.revision, "1"],
    [MICROOVN.createdAt, now],
    [MICROOVN.updatedAt, now],
    [MICROOVN.description, options.description ?? ""],
  ]);
  if (options.tags && options.tags.length > 0) ids.set(MICROOVN.tags, JSON.stringify(options.tags));
  return ids;
}

/**
 * The external_ids after a change: `changes` applied (undefined removes a
 * key), the revision one up and updated_at now, as every Neutron update
 * bumps them.
 */
export function changedIds(
  ids: ExternalIds,
  changes: Readonly<Record<string, string | undefined>>,
  now = new Date(),
): Map<string, string> {
  const out = new Map(ids);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) out.delete(key);
    else out.set(key, value);
  }
  out.set(NEUTRON.revision, String(revisionOf(ids) + 1));
  out.set(MICROOVN.updatedAt, timestamp(now));
  return out;
}

/** The change that sets a resource's tags (none removes the key). */
export function tagsChange(tags: readonly string[]): Record<string, string | undefined> {
  const unique = [...new Set(tags)];
  return { [MICROOVN.tags]: unique.length > 0 ? JSON.stringify(unique) : undefined };
}
