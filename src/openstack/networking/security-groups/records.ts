/**
 * Where a group's and a rule's Neutron attributes live: next to the keys
 * ML2/OVN writes itself (`neutron:security_group_id` on the port group,
 * `neutron:security_group_rule_id` on the ACL), what Neutron keeps in its
 * own tables goes under `microovn:` keys (attributes.ts has the standard
 * ones). Pure.
 */
import {
  MICROOVN,
  createdIds,
  standardAttributes,
  type ExternalIds,
  type StandardAttributes,
} from "../attributes.js";
import type { HoldingRow } from "../collection.js";
import { SECURITY_GROUP_ID_KEY } from "./names.js";
import type { RuleSpec } from "./rules.js";

/** Keys of ours only security groups and rules have. */
export const KEYS = {
  stateful: "microovn:stateful",
  groupId: "microovn:security_group_id",
  direction: "microovn:direction",
  ethertype: "microovn:ethertype",
  protocol: "microovn:protocol",
  portRangeMin: "microovn:port_range_min",
  portRangeMax: "microovn:port_range_max",
  remoteIpPrefix: "microovn:remote_ip_prefix",
  remoteGroupId: "microovn:remote_group_id",
} as const;

/** A group as it is made. */
export interface NewGroup {
  id: string;
  name: string;
  description: string;
  project_id: string;
  stateful: boolean;
  tags: string[];
}

/** A rule as it is made. */
export interface NewRule extends RuleSpec {
  security_group_id: string;
  project_id: string;
  description: string;
}

export type GroupRecord = NewGroup & StandardAttributes;
export type RuleRecord = NewRule & StandardAttributes;

/** A group's port group as the collection machinery updates it (revision, tags). */
export function groupHoldingRow(row: { _uuid: string; external_ids: ExternalIds }): HoldingRow {
  return { table: "Port_Group", uuid: row._uuid, externalIds: row.external_ids };
}

export function groupExternalIds(group: NewGroup): Map<string, string> {
  const ids = createdIds({ description: group.description, tags: group.tags });
  ids.set(SECURITY_GROUP_ID_KEY, group.id);
  ids.set(MICROOVN.name, group.name);
  ids.set(MICROOVN.projectId, group.project_id);
  ids.set(KEYS.stateful, String(group.stateful));
  return ids;
}

/** The group a Port_Group row is, or undefined for port groups that are no security group. */
export function readGroup(ids: ExternalIds): GroupRecord | undefined {
  const id = ids.get(SECURITY_GROUP_ID_KEY);
  if (id === undefined) return undefined;
  return {
    id,
    name: ids.get(MICROOVN.name) ?? "",
    project_id: ids.get(MICROOVN.projectId) ?? "",
    stateful: ids.get(KEYS.stateful) !== "false",
    ...standardAttributes(ids),
  };
}

/** A rule's attributes for its ACL's external_ids (ruleAcl adds the rule id). */
export function ruleExternalIds(rule: NewRule): Map<string, string> {
  const ids = createdIds({ description: rule.description });
  ids.set(KEYS.groupId, rule.security_group_id);
  ids.set(MICROOVN.projectId, rule.project_id);
  ids.set(KEYS.direction, rule.direction);
  ids.set(KEYS.ethertype, rule.ethertype);
  const optional: [string, string | number | null][] = [
    [KEYS.protocol, rule.protocol],
    [KEYS.portRangeMin, rule.port_range_min],
    [KEYS.portRangeMax, rule.port_range_max],
    [KEYS.remoteIpPrefix, rule.remote_ip_prefix],
    [KEYS.remoteGroupId, rule.remote_group_id],
  ];
  for (const [key, value] of optional) if (value !== null) ids.set(key, String(value));
  return ids;
}

function optionalNumber(value: string | undefined): number | null {
  return value === undefined ? null : Number(value);
}

/** The rule an ACL is, given the rule id ML2/OVN's key holds. */
export function readRule(id: string, ids: ExternalIds): RuleRecord {
  return {
    id,
    security_group_id: ids.get(KEYS.groupId) ?? "",
    project_id: ids.get(MICROOVN.projectId) ?? "",
    direction: ids.get(KEYS.direction) === "egress" ? "egress" : "ingress",
    ethertype: ids.get(KEYS.ethertype) === "IPv6" ? "IPv6" : "IPv4",
    protocol: ids.get(KEYS.protocol) ?? null,
    port_range_min: optionalNumber(ids.get(KEYS.portRangeMin)),
    port_range_max: optionalNumber(ids.get(KEYS.portRangeMax)),
    remote_ip_prefix: ids.get(KEYS.remoteIpPrefix) ?? null,
    remote_group_id: ids.get(KEYS.remoteGroupId) ?? null,
    ...standardAttributes(ids),
  };
}
