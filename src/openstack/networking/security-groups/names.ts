/**
 * How ML2/OVN names a security group's rows in NB, so tools made for
 * OpenStack find ours where they look for Neutron's: a port group
 * `pg_<id with - as _>`, one ACL per rule, and one shared drop group.
 */

/** The port group holding every port with port security; its two ACLs drop all IP. */
export const DROP_PORT_GROUP = "neutron_pg_drop";

/** ML2/OVN's priorities: a group's rules allow above the drop group's default deny. */
export const ACL_PRIORITY_ALLOW = 1002;
export const ACL_PRIORITY_DROP = 1001;

/** external_ids ML2/OVN writes: on the port group, on each rule's ACL. */
export const SECURITY_GROUP_ID_KEY = "neutron:security_group_id";
export const SECURITY_GROUP_RULE_ID_KEY = "neutron:security_group_rule_id";

/** `pg_` and the id with its dashes as underscores (port group names are identifiers). */
export function portGroupName(groupId: string): string {
  return `pg_${groupId.replace(/-/g, "_")}`;
}

/**
 * The address set of a group's member addresses. ovn-northd derives
 * `<port group>_ip4` and `<port group>_ip6` from every Port_Group itself
 * (ovn-nb(5), Port_Group), so no Address_Set row is written for them.
 */
export function groupAddressSetName(groupId: string, ipVersion: "ip4" | "ip6"): string {
  return `${portGroupName(groupId)}_${ipVersion}`;
}
