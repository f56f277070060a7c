/**
 * Where a group's and a rule's Neutron attributes live: NB has no Neutron
 * database behind it, so what ML2/OVN keeps in Neutron's tables is kept in
 * external_ids next to the keys ML2/OVN writes itself (`neutron:*`), under
 * `microovn:` keys of ours. Pure.
 */
import { SECURITY_GROUP_ID_KEY } from "./names.js";
import type { RuleSpec } from "./rules.js";

export const KEYS = {
  name: "microovn:name",
  description: "microovn:description",
  projectId: "microovn:project_id",
  stateful: "microovn:stateful",
  createdAt: "microovn:created_at",
  updatedAt: "microovn:updated_at",
  revision: "neutron:revision_number",
  tags: "microovn:tags",
  groupId: "microovn:security_group_id",
  direction: "microovn:direction",
  ethertype: "microovn:ethertype",
  protocol: "microovn:protocol",
  portRangeMin: "microovn:port_range_min",
  portRangeMax: "microovn:port_range_max",
  remoteIpPrefix: "microovn:remote_ip_prefix",
  remoteGroupId: "microovn:remote_group_id",
} as const;

/** What Neutron stamps on every resource. */
export interface Stamps {
  description: string;
  project_id: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
  tags: string[];
}

export interface GroupRecord extends Stamps {
  id: string;
  name: string;
  stateful: boolean;
}

export interface RuleRecord extends RuleSpec, Stamps {
  security_group_id: string;
}

/** Neutron's timestamps: UTC to the second, `Z`. */
export function neutronTime(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function stampIds(s: Stamps): Record<string, string> {
  return {
    [KEYS.description]: s.description,
    [KEYS.projectId]: s.project_id,
    [KEYS.createdAt]: s.created_at,
    [KEYS.updatedAt]: s.updated_at,
    [KEYS.revision]: String(s.revision_number),
    [KEYS.tags]: JSON.stringify(s.tags),
  };
}

function readStamps(ids: ReadonlyMap<string, string>): Stamps {
  let tags: string[] = [];
  try {
    const parsed: unknown = JSON.parse(ids.get(KEYS.tags) ?? "[]");
    if (Array.isArray(parsed)) tags = parsed.filter((t): t is string => typeof t === "string");
  } catch {
    // A hand-edited value is read as no tags rather than failing every list.
  }
  return {
    description: ids.get(KEYS.description) ?? "",
    project_id: ids.get(KEYS.projectId) ?? "",
    created_at: ids.get(KEYS.createdAt) ?? "",
    updated_at: ids.get(KEYS.updatedAt) ?? "",
    revision_number: Number(ids.get(KEYS.revision) ?? 0) || 0,
    tags,
  };
}

export function groupExternalIds(group: GroupRecord): Record<string, string> {
  return {
    [SECURITY_GROUP_ID_KEY]: group.id,
    [KEYS.name]: group.name,
    [KEYS.stateful]: String(group.stateful),
    ...stampIds(group),
  };
}

/** The group a Port_Group row is, or undefined for port groups that are no security group. */
export function readGroup(ids: ReadonlyMap<string, string>): GroupRecord | undefined {
  const id = ids.get(SECURITY_GROUP_ID_KEY);
  if (id === undefined) return undefined;
  return {
    id,
    name: ids.get(KEYS.name) ?? "",
    stateful: ids.get(KEYS.stateful) !== "false",
    ...readStamps(ids),
  };
}

function optional(value: string | number | null): string | undefined {
  return value === null ? undefined : String(value);
}

/** A rule's attributes for its ACL's external_ids (the rule id is added by ruleAcl). */
export function ruleExternalIds(rule: RuleRecord): Record<string, string> {
  const ids: Record<string, string | undefined> = {
    [KEYS.groupId]: rule.security_group_id,
    [KEYS.direction]: rule.direction,
    [KEYS.ethertype]: rule.ethertype,
    [KEYS.protocol]: optional(rule.protocol),
    [KEYS.portRangeMin]: optional(rule.port_range_min),
    [KEYS.portRangeMax]: optional(rule.port_range_max),
    [KEYS.remoteIpPrefix]: optional(rule.remote_ip_prefix),
    [KEYS.remoteGroupId]: optional(rule.remote_group_id),
    ...stampIds(rule),
  };
  return Object.fromEntries(
    Object.entries(ids).filter((e): e is [string, string] => e[1] !== undefined),
  );
}

function optionalNumber(value: string | undefined): number | null {
  return value === undefined ? null : Number(value);
}

/** The rule an ACL is, given the rule id ML2/OVN's key holds. */
export function readRule(id: string, ids: ReadonlyMap<string, string>): RuleRecord {
  return {
    id,
    security_group_id: ids.get(KEYS.groupId) ?? "",
    direction: ids.get(KEYS.direction) === "egress" ? "egress" : "ingress",
    ethertype: ids.get(KEYS.ethertype) === "IPv6" ? "IPv6" : "IPv4",
    protocol: ids.get(KEYS.protocol) ?? null,
    port_range_min: optionalNumber(ids.get(KEYS.portRangeMin)),
    port_range_max: optionalNumber(ids.get(KEYS.portRangeMax)),
    remote_ip_prefix: ids.get(KEYS.remoteIpPrefix) ?? null,
    remote_group_id: ids.get(KEYS.remoteGroupId) ?? null,
    ...readStamps(ids),
  };
}
