/**
 * `/v2.0/security-groups`: each group is a Port_Group `pg_<id>` whose
 * external_ids hold its Neutron attributes and whose ACLs are its rules.
 * A project's `default` group appears on its first use (a list of groups,
 * a new group, a new port); new groups start with the two egress rules.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import { isAdmin, type Caller } from "../../auth/caller.js";
import type { NbReplica } from "../../backend.js";
import { ApiError } from "../../errors.js";
import { MICROOVN } from "../attributes.js";
import { owningProject, writeHoldingRow, type Collection, type Item } from "../collection.js";
import { BooleanLike, toBoolean } from "../validation.js";
import type { NbTransaction } from "../write.js";
import { ruleAcl } from "./acl.js";
import {
  DEFAULT_GROUP_NAME,
  egressRules,
  ensureDefaultSecurityGroup,
  insertGroup,
} from "./defaults.js";
import { SECURITY_GROUP_RULE_ID_KEY, portGroupName } from "./names.js";
import { KEYS, groupHoldingRow, readGroup, readRule, type NewGroup } from "./records.js";
import { groupView, type GroupView } from "./views.js";

const NAME = Type.String({ maxLength: 255 });
const DESCRIPTION = Type.String({ maxLength: 255 });

const CreateSchema = Type.Object(
  {
    name: Type.Optional(NAME),
    description: Type.Optional(DESCRIPTION),
    stateful: Type.Optional(BooleanLike()),
    project_id: Type.Optional(Type.String()),
    tenant_id: Type.Optional(Type.String()),
    tags: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

const UpdateSchema = Type.Object(
  {
    name: Type.Optional(NAME),
    description: Type.Optional(DESCRIPTION),
    stateful: Type.Optional(BooleanLike()),
  },
  { additionalProperties: false },
);

function groupRow(nb: NbReplica, id: string) {
  const row = nb.table("Port_Group").lookup({ name: portGroupName(id) });
  const group = row && readGroup(row.external_ids);
  return row && group?.id === id ? { row, group } : undefined;
}

function inUse(message: string): ApiError {
  return new ApiError(409, message, "SecurityGroupInUse");
}

/**
 * Removes, in the transaction, the rules of other groups that name
 * `groupId` as their remote group (Neutron's database drops them with the
 * group they point at).
 */
function removeRulesNaming(txn: NbTransaction, nb: NbReplica, groupId: string): void {
  for (const row of nb.table("Port_Group").values()) {
    const other = readGroup(row.external_ids);
    if (!other || other.id === groupId) continue;
    const naming = row.acls.filter((uuid) => {
      const acl = nb.table("ACL").get(uuid);
      return acl?.external_ids.get(KEYS.remoteGroupId) === groupId;
    });
    if (naming.length === 0) continue;
    txn.mutate("Port_Group", [["_uuid", "==", row._uuid]], [["acls", "delete", naming]]);
    writeHoldingRow(txn, groupHoldingRow(row), {});
  }
}

export function securityGroups(nb: NbReplica): Collection<GroupView> {
  const collection: Collection<GroupView> = {
    singular: "security_group",
    plural: "security_groups",
    path: "security-groups",
    label: "SecurityGroup",
    attributes: new Set([
      "id",
      "name",
      "description",
      "project_id",
      "tenant_id",
      "stateful",
      "shared",
      "tags",
      "created_at",
      "updated_at",
      "revision_number",
    ]),
    createSchema: CreateSchema,
    updateSchema: UpdateSchema,

    *all() {
      for (const row of nb.table("Port_Group").values()) {
        const group = readGroup(row.external_ids);
        if (group) yield groupView(nb, group, row.acls);
      }
    },

    get(id) {
      const found = groupRow(nb, id);
      return found && groupView(nb, found.group, found.row.acls);
    },

    holdingRow(id) {
      const found = groupRow(nb, id);
      return found && groupHoldingRow(found.row);
    },

    create(txn: NbTransaction, items: readonly Item[], caller: Caller): string[] {
      return items.map((item) => {
        const project = owningProject(caller, item, "security_group");
        if (item.name === DEFAULT_GROUP_NAME) {
          throw new ApiError(
            409,
            "Default security group already exists: every project has one named default; give this group another name.",
            "SecurityGroupDefaultAlreadyExists",
          );
        }
        // As Neutron does, the project's default group comes first.
        ensureDefaultSecurityGroup(txn, nb, project);
        const group: NewGroup = {
          id: randomUUID(),
          name: (item.name as string | undefined) ?? "",
          description: (item.description as string | undefined) ?? "",
          project_id: project,
          stateful:
            item.stateful === undefined
              ? true
              : toBoolean(item.stateful as boolean | string, "stateful"),
          tags: [...new Set((item.tags as string[] | undefined) ?? [])],
        };
        insertGroup(txn, group, egressRules(group));
        return group.id;
      });
    },

    update(txn: NbTransaction, view: GroupView, changes: Item): void {
      const found = groupRow(nb, view.id)!;
      const renames = changes.name !== undefined && changes.name !== view.name;
      if (renames && (view.name === DEFAULT_GROUP_NAME || changes.name === DEFAULT_GROUP_NAME)) {
        throw new ApiError(
          409,
          "Updating default security group not allowed: the default group keeps its name, and no other group may take it.",
          "SecurityGroupCannotUpdateDefault",
        );
      }
      const out: Record<string, string | undefined> = {};
      if (changes.name !== undefined) out[MICROOVN.name] = changes.name as string;
      if (changes.description !== undefined)
        out[MICROOVN.description] = changes.description as string;
      if (changes.stateful !== undefined) {
        const stateful = toBoolean(changes.stateful as boolean | string, "stateful");
        if (stateful !== view.stateful) {
          if (found.row.ports.length > 0) {
            throw inUse(
              `Security Group ${view.id} in use: its stateful attribute cannot change while ports use it; remove it from its ports first.`,
            );
          }
          out[KEYS.stateful] = String(stateful);
          for (const uuid of found.row.acls) {
            const acl = nb.table("ACL").get(uuid);
            const ruleId = acl?.external_ids.get(SECURITY_GROUP_RULE_ID_KEY);
            if (!acl || !ruleId) continue;
            const rule = readRule(ruleId, acl.external_ids);
            txn.update("ACL", [["_uuid", "==", uuid]], {
              action: ruleAcl(view.id, rule, { stateful }).action,
            });
          }
        }
      }
      writeHoldingRow(txn, groupHoldingRow(found.row), out);
    },

    remove(txn: NbTransaction, view: GroupView, caller: Caller): void {
      const found = groupRow(nb, view.id)!;
      if (view.name === DEFAULT_GROUP_NAME && !isAdmin(caller)) {
        throw new ApiError(
          409,
          "Insufficient rights for removing default security group: only an admin may delete a project's default group.",
          "SecurityGroupCannotRemoveDefault",
        );
      }
      if (found.row.ports.length > 0) {
        throw inUse(
          `Security Group ${view.id} in use by ${found.row.ports.length} port(s): remove it from those ports (openstack port set --no-security-group or --security-group OTHER) first.`,
        );
      }
      // The port group still holds what it held when checked.
      txn.wait("Port_Group", {
        where: [["_uuid", "==", found.row._uuid]],
        columns: ["ports", "external_ids"],
        until: "==",
        rows: [{ ports: [], external_ids: found.row.external_ids }],
        timeoutMs: 0,
      });
      // Its ACLs go with it: nothing else refers to them.
      txn.delete("Port_Group", [["_uuid", "==", found.row._uuid]]);
      removeRulesNaming(txn, nb, view.id);
    },
  };
  return collection;
}
