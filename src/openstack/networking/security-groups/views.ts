/**
 * Groups and rules as Neutron answers them, read from the replica: a
 * group's rules are the ACLs of its port group that carry a rule id.
 */
import type { NbReplica } from "../../backend.js";
import { SECURITY_GROUP_RULE_ID_KEY } from "./names.js";
import { parseIpPrefix } from "./prefix.js";
import { readRule, type GroupRecord, type RuleRecord } from "./records.js";
import type { Direction, Ethertype } from "./rules.js";

export interface RuleView {
  readonly id: string;
  readonly security_group_id: string;
  readonly direction: Direction;
  readonly ethertype: Ethertype;
  readonly protocol: string | null;
  readonly port_range_min: number | null;
  readonly port_range_max: number | null;
  readonly remote_ip_prefix: string | null;
  readonly normalized_cidr: string | null;
  readonly remote_group_id: string | null;
  readonly remote_address_group_id: null;
  readonly description: string;
  readonly project_id: string;
  readonly tenant_id: string;
  readonly created_at: string;
  readonly updated_at: string;
  readonly revision_number: number;
  readonly [attribute: string]: unknown;
}

export interface GroupView {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly project_id: string;
  readonly tenant_id: string;
  readonly security_group_rules: RuleView[];
  readonly stateful: boolean;
  readonly shared: boolean;
  readonly tags: string[];
  readonly created_at: string;
  readonly updated_at: string;
  readonly revision_number: number;
  readonly [attribute: string]: unknown;
}

export function ruleView(rule: RuleRecord): RuleView {
  return {
    id: rule.id,
    security_group_id: rule.security_group_id,
    direction: rule.direction,
    ethertype: rule.ethertype,
    protocol: rule.protocol,
    port_range_min: rule.port_range_min,
    port_range_max: rule.port_range_max,
    remote_ip_prefix: rule.remote_ip_prefix,
    normalized_cidr:
      rule.remote_ip_prefix === null
        ? null
        : (parseIpPrefix(rule.remote_ip_prefix)?.network ?? null),
    remote_group_id: rule.remote_group_id,
    remote_address_group_id: null,
    description: rule.description,
    project_id: rule.project_id,
    tenant_id: rule.project_id,
    created_at: rule.created_at,
    updated_at: rule.updated_at,
    revision_number: rule.revision_number,
  };
}

/** The rules among a port group's ACLs (the drop group's ACLs are none). */
export function rulesOfGroup(nb: NbReplica, acls: readonly string[]): RuleRecord[] {
  const out: RuleRecord[] = [];
  for (const uuid of acls) {
    const acl = nb.table("ACL").get(uuid);
    const id = acl?.external_ids.get(SECURITY_GROUP_RULE_ID_KEY);
    if (acl && id !== undefined) out.push(readRule(id, acl.external_ids));
  }
  return out;
}

export function groupView(nb: NbReplica, group: GroupRecord, acls: readonly string[]): GroupView {
  return {
    id: group.id,
    name: group.name,
    description: group.description,
    project_id: group.project_id,
    tenant_id: group.project_id,
    security_group_rules: rulesOfGroup(nb, acls).map(ruleView),
    stateful: group.stateful,
    shared: false,
    tags: group.tags,
    created_at: group.created_at,
    updated_at: group.updated_at,
    revision_number: group.revision_number,
  };
}
