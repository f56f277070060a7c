/**
 * A rule as an ACL of its group's port group, with the match ML2/OVN
 * builds: the direction's port (`outport` for ingress, `inport` for egress)
 * in the group, the family, the remote prefix or the remote group's address
 * set, then the protocol with its ports or ICMP type and code. Pure.
 */
import type { WritableRow } from "../../../ovsdb/index.js";
import type { Acl } from "../../../ovsdb/models/ovn-northbound.js";
import {
  ACL_PRIORITY_ALLOW,
  SECURITY_GROUP_RULE_ID_KEY,
  groupAddressSetName,
  portGroupName,
} from "./names.js";
import { parseIpPrefix } from "./prefix.js";
import { ICMP, ICMPV6, SCTP, TCP, UDP, protocolNumber } from "./protocols.js";
import type { RuleSpec } from "./rules.js";

/** The protocols OVN matches by name, with their port fields. */
const PORT_FIELDS: ReadonlyMap<number, string> = new Map([
  [TCP, "tcp"],
  [UDP, "udp"],
  [SCTP, "sctp"],
]);

function protocolMatch(rule: RuleSpec, ip: "ip4" | "ip6"): string {
  if (rule.protocol === null) return "";
  const n = protocolNumber(rule.protocol);
  if (n === undefined) throw new Error(`unchecked protocol ${rule.protocol}`);
  const min = rule.port_range_min;
  const max = rule.port_range_max;
  const name = PORT_FIELDS.get(n);
  if (name) {
    let match = ` && ${name}`;
    if (min !== null && min === max) match += ` && ${name}.dst == ${min}`;
    else {
      if (min !== null) match += ` && ${name}.dst >= ${min}`;
      if (max !== null) match += ` && ${name}.dst <= ${max}`;
    }
    return match;
  }
  if (n === ICMP || n === ICMPV6) {
    // The family decides, as in ML2/OVN: "icmp" on an IPv6 rule is ICMPv6.
    const icmp = ip === "ip4" ? "icmp4" : "icmp6";
    let match = ` && ${icmp}`;
    if (min !== null) match += ` && ${icmp}.type == ${min}`;
    if (max !== null) match += ` && ${icmp}.code == ${max}`;
    return match;
  }
  return ` && ip.proto == ${n}`;
}

/** The OVN match of a rule of the group `groupId`. */
export function ruleMatch(groupId: string, rule: RuleSpec): string {
  const ingress = rule.direction === "ingress";
  const ip = rule.ethertype === "IPv4" ? "ip4" : "ip6";
  // Ingress is traffic to the group's ports: the peer is the source.
  const peer = ingress ? "src" : "dst";
  let match = `${ingress ? "outport" : "inport"} == @${portGroupName(groupId)} && ${ip}`;
  if (rule.remote_ip_prefix !== null) {
    const prefix = parseIpPrefix(rule.remote_ip_prefix);
    if (!prefix) throw new Error(`unchecked remote_ip_prefix ${rule.remote_ip_prefix}`);
    match += ` && ${ip}.${peer} == ${prefix.network}`;
  }
  if (rule.remote_group_id !== null) {
    match += ` && ${ip}.${peer} == $${groupAddressSetName(rule.remote_group_id, ip)}`;
  }
  return match + protocolMatch(rule, ip);
}

/**
 * The rule's ACL: priority 1002, allow-related (connection tracking lets
 * replies back) or allow-stateless for a group that is not stateful, and
 * the rule id in external_ids with whatever else the caller keeps there.
 */
export function ruleAcl(
  groupId: string,
  rule: RuleSpec,
  options: { stateful: boolean; externalIds?: ReadonlyMap<string, string> },
): WritableRow<Acl> {
  return {
    priority: ACL_PRIORITY_ALLOW,
    direction: rule.direction === "ingress" ? "to-lport" : "from-lport",
    match: ruleMatch(groupId, rule),
    action: options.stateful ? "allow-related" : "allow-stateless",
    log: false,
    external_ids: new Map([...(options.externalIds ?? []), [SECURITY_GROUP_RULE_ID_KEY, rule.id]]),
  };
}
