/**
 * `/v2.0/security-group-rules`: each rule is one ACL of its group's port
 * group, its match built from the rule (acl.ts) and its Neutron attributes
 * in external_ids. Rules are created and deleted, never changed (as in
 * Neutron); each change bumps the group's revision.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import type { Caller } from "../../auth/caller.js";
import type { NbReplica } from "../../backend.js";
import { ApiError } from "../../errors.js";
import {
  owningProject,
  visibleResource,
  writeHoldingRow,
  type Collection,
  type Item,
} from "../collection.js";
import { IntegerLike } from "../validation.js";
import type { NbTransaction } from "../write.js";
import { ruleAcl } from "./acl.js";
import { SECURITY_GROUP_RULE_ID_KEY, portGroupName } from "./names.js";
import { groupHoldingRow, readGroup, readRule, ruleExternalIds, type NewRule } from "./records.js";
import { checkRule, ruleKey } from "./rules.js";
import { ruleView, rulesOfGroup, type GroupView, type RuleView } from "./views.js";

const NULLABLE_STRING = Type.Union([Type.String(), Type.Null()]);
const PORT = Type.Union([IntegerLike(), Type.Null()]);

const CreateSchema = Type.Object(
  {
    security_group_id: Type.String(),
    direction: Type.Optional(Type.String()),
    ethertype: Type.Optional(Type.String()),
    protocol: Type.Optional(Type.Union([Type.String(), Type.Integer(), Type.Null()])),
    port_range_min: Type.Optional(PORT),
    port_range_max: Type.Optional(PORT),
    remote_ip_prefix: Type.Optional(NULLABLE_STRING),
    remote_group_id: Type.Optional(NULLABLE_STRING),
    remote_address_group_id: Type.Optional(Type.Null()),
    description: Type.Optional(Type.String({ maxLength: 255 })),
    project_id: Type.Optional(Type.String()),
    tenant_id: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** Rules are not updated in Neutron; the update route refuses every attribute. */
const UpdateSchema = Type.Object({}, { additionalProperties: false });

/** Where a rule lives: its ACL and the port group holding it. */
function locate(nb: NbReplica, id: string) {
  for (const group of nb.table("Port_Group").values()) {
    if (!readGroup(group.external_ids)) continue;
    for (const uuid of group.acls) {
      const acl = nb.table("ACL").get(uuid);
      if (acl?.external_ids.get(SECURITY_GROUP_RULE_ID_KEY) === id) return { acl, group };
    }
  }
  return undefined;
}

export function securityGroupRules(
  nb: NbReplica,
  groups: Collection<GroupView>,
): Collection<RuleView> {
  return {
    singular: "security_group_rule",
    plural: "security_group_rules",
    path: "security-group-rules",
    label: "SecurityGroupRule",
    attributes: new Set([
      "id",
      "security_group_id",
      "direction",
      "ethertype",
      "protocol",
      "port_range_min",
      "port_range_max",
      "remote_ip_prefix",
      "normalized_cidr",
      "remote_group_id",
      "remote_address_group_id",
      "description",
      "project_id",
      "tenant_id",
      "created_at",
      "updated_at",
      "revision_number",
    ]),
    createSchema: CreateSchema,
    updateSchema: UpdateSchema,

    *all() {
      for (const group of nb.table("Port_Group").values()) {
        if (readGroup(group.external_ids)) yield* rulesOfGroup(nb, group.acls).map(ruleView);
      }
    },

    get(id) {
      const found = locate(nb, id);
      return found && ruleView(readRule(id, found.acl.external_ids));
    },

    holdingRow() {
      // Rules carry no tags in Neutron.
      return undefined;
    },

    create(txn: NbTransaction, items: readonly Item[], caller: Caller): string[] {
      // Rules of one request see each other: a duplicate within it is one too.
      const added = new Map<string, NewRule[]>();
      return items.map((item) => {
        const groupId = item.security_group_id as string;
        const group = visibleResource(caller, groups, groupId);
        // A rule belongs to its group's project unless the body names
        // another, so an admin's rule in a project's group is that project's.
        const named = item.project_id ?? item.tenant_id;
        const project = owningProject(
          caller,
          named === undefined ? { ...item, project_id: group.project_id } : item,
          "security_group_rule",
        );
        const spec = checkRule(randomUUID(), item);
        if (spec.remote_group_id !== null && spec.remote_group_id !== groupId) {
          visibleResource(caller, groups, spec.remote_group_id);
        }
        const key = ruleKey(spec);
        const pending = added.get(groupId) ?? [];
        const same = [...group.security_group_rules, ...pending].find((r) => ruleKey(r) === key);
        if (same) {
          throw new ApiError(
            409,
            `Security group rule already exists. Rule id is ${same.id}.`,
            "SecurityGroupRuleExists",
          );
        }
        const rule: NewRule = {
          ...spec,
          security_group_id: groupId,
          project_id: project,
          description: (item.description as string | undefined) ?? "",
        };
        pending.push(rule);
        added.set(groupId, pending);
        const acl = txn.insert(
          "ACL",
          ruleAcl(groupId, rule, { stateful: group.stateful, externalIds: ruleExternalIds(rule) }),
        );
        txn.mutate(
          "Port_Group",
          [["name", "==", portGroupName(groupId)]],
          [["acls", "insert", acl]],
        );
        // The group's revision goes up with each of its rules, and the wait
        // in this makes two servers adding the same rule at once collide.
        if (pending.length === 1) writeHoldingRow(txn, groups.holdingRow(groupId)!, {});
        return rule.id;
      });
    },

    update(): void {
      throw new ApiError(
        400,
        "Security group rules cannot be changed: delete the rule and create a new one.",
      );
    },

    remove(txn: NbTransaction, view: RuleView): void {
      const found = locate(nb, view.id);
      if (!found) return;
      // The ACL goes once its port group no longer refers to it.
      txn.mutate(
        "Port_Group",
        [["_uuid", "==", found.group._uuid]],
        [["acls", "delete", found.acl._uuid]],
      );
      writeHoldingRow(txn, groupHoldingRow(found.group), {});
    },
  };
}
