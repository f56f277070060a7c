/**
 * Security groups and their rules (Neutron's `security-group` extension)
 * over NB port groups and ACLs, named as ML2/OVN names them.
 */
export {
  ACL_PRIORITY_ALLOW,
  ACL_PRIORITY_DROP,
  DROP_PORT_GROUP,
  SECURITY_GROUP_ID_KEY,
  SECURITY_GROUP_RULE_ID_KEY,
  groupAddressSetName,
  portGroupName,
} from "./names.js";
export { ruleAcl, ruleMatch } from "./acl.js";
export { checkRule, ruleKey, type RuleSpec, type RuleRequest } from "./rules.js";
export {
  DEFAULT_GROUP_NAME,
  ensureDefaultSecurityGroup,
  ensureDropPortGroup,
  findDefaultGroup,
} from "./defaults.js";
