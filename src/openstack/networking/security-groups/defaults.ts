/**
 * The rows every deployment and every project gets without asking, as
 * Neutron makes them: the shared drop port group, a project's `default`
 * group with its four rules on first use, and the two egress rules every
 * new group starts with. Each is added to the caller's transaction, with a
 * `wait` so that two API servers adding the same thing at once cannot both
 * succeed (the loser's transaction fails and is retried against a replica
 * that then has it).
 */
import { randomUUID } from "node:crypto";
import type { NbReplica } from "../../backend.js";
import type { NbTransaction } from "../write.js";
import type { Operation } from "../../../ovsdb/index.js";
import { ruleAcl } from "./acl.js";
import { ACL_PRIORITY_DROP, DROP_PORT_GROUP, portGroupName } from "./names.js";
import { MICROOVN } from "../attributes.js";
import {
  groupExternalIds,
  readGroup,
  ruleExternalIds,
  type GroupRecord,
  type NewGroup,
  type NewRule,
} from "./records.js";
import type { Direction, Ethertype } from "./rules.js";

export const DEFAULT_GROUP_NAME = "default";
export const DEFAULT_GROUP_DESCRIPTION = "Default security group";

/**
 * What this transaction already added (or found in NB), so a second call
 * (a bulk create, another write of a shared transaction) adds nothing
 * more. Each entry remembers the operation that began its rows: an entry
 * whose operation was rolled back (a write of a shared transaction that
 * was refused) is forgotten, so the next caller adds the rows again.
 */
type Remembered = Map<string, { value: string; first?: Operation }>;
const added = new WeakMap<NbTransaction, Remembered>();

function recall(txn: NbTransaction, key: string): string | undefined {
  const entries = added.get(txn);
  const entry = entries?.get(key);
  if (!entry) return undefined;
  if (entry.first && !txn.toOperations().includes(entry.first)) {
    entries!.delete(key);
    return undefined;
  }
  return entry.value;
}

/** Remembers `value` under `key`; `since` is the transaction's size before the rows were added. */
function remember(txn: NbTransaction, key: string, value: string, since?: number): void {
  let entries = added.get(txn);
  if (!entries) added.set(txn, (entries = new Map() as Remembered));
  const first = since === undefined ? undefined : txn.toOperations()[since];
  entries.set(key, first ? { value, first } : { value });
}

/** The drop port group with its two ACLs, unless NB (or this transaction) has it. */
export function ensureDropPortGroup(txn: NbTransaction, nbReplica: NbReplica): void {
  if (recall(txn, DROP_PORT_GROUP) !== undefined) return;
  if (nbReplica.table("Port_Group").lookup({ name: DROP_PORT_GROUP })) {
    remember(txn, DROP_PORT_GROUP, DROP_PORT_GROUP);
    return;
  }
  const since = txn.size;
  txn.wait("Port_Group", {
    where: [["name", "==", DROP_PORT_GROUP]],
    columns: ["name"],
    until: "==",
    rows: [],
    timeoutMs: 0,
  });
  const acls = (
    [
      ["from-lport", "inport"],
      ["to-lport", "outport"],
    ] as const
  ).map(([direction, port]) =>
    txn.insert("ACL", {
      priority: ACL_PRIORITY_DROP,
      direction,
      match: `${port} == @${DROP_PORT_GROUP} && ip`,
      action: "drop",
      log: false,
    }),
  );
  txn.insert("Port_Group", { name: DROP_PORT_GROUP, acls });
  remember(txn, DROP_PORT_GROUP, DROP_PORT_GROUP, since);
}

/** A rule of `group` that Neutron adds itself: any protocol, to or from anywhere or a group. */
function ownRule(
  group: Pick<NewGroup, "id" | "project_id">,
  direction: Direction,
  ethertype: Ethertype,
  remoteGroupId: string | null,
): NewRule {
  return {
    id: randomUUID(),
    security_group_id: group.id,
    project_id: group.project_id,
    description: "",
    direction,
    ethertype,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: remoteGroupId,
  };
}

/** The rules a new group starts with: egress IPv4 and IPv6 to anywhere. */
export function egressRules(group: Pick<NewGroup, "id" | "project_id">): NewRule[] {
  return (["IPv4", "IPv6"] as const).map((e) => ownRule(group, "egress", e, null));
}

/** A project's default group adds ingress from its own members, IPv4 and IPv6. */
export function defaultGroupRules(group: Pick<NewGroup, "id" | "project_id">): NewRule[] {
  return [
    ...egressRules(group),
    ...(["IPv4", "IPv6"] as const).map((e) => ownRule(group, "ingress", e, group.id)),
  ];
}

/** Adds a group's Port_Group and its rules' ACLs to the transaction. */
export function insertGroup(txn: NbTransaction, group: NewGroup, rules: readonly NewRule[]): void {
  const acls = rules.map((r) =>
    txn.insert(
      "ACL",
      ruleAcl(group.id, r, { stateful: group.stateful, externalIds: ruleExternalIds(r) }),
    ),
  );
  txn.insert("Port_Group", {
    name: portGroupName(group.id),
    acls,
    external_ids: groupExternalIds(group),
  });
}

/** The project's default group in the replica, if it has one. */
export function findDefaultGroup(nbReplica: NbReplica, projectId: string): GroupRecord | undefined {
  for (const row of nbReplica.table("Port_Group").values()) {
    const group = readGroup(row.external_ids);
    if (group?.project_id === projectId && group.name === DEFAULT_GROUP_NAME) return group;
  }
  return undefined;
}

/**
 * The id of the project's `default` group, added to the transaction with
 * its four rules when the project has none yet.
 */
export function ensureDefaultSecurityGroup(
  txn: NbTransaction,
  nb: NbReplica,
  projectId: string,
): string {
  const key = `default:${projectId}`;
  const pending = recall(txn, key);
  if (pending) return pending;
  const existing = findDefaultGroup(nb, projectId);
  if (existing) return existing.id;
  const since = txn.size;
  const group: NewGroup = {
    id: randomUUID(),
    name: DEFAULT_GROUP_NAME,
    description: DEFAULT_GROUP_DESCRIPTION,
    project_id: projectId,
    stateful: true,
    tags: [],
  };
  // Names of groups are not unique, so the port group's name index cannot
  // stop a second default: the wait does.
  txn.wait("Port_Group", {
    where: [
      [
        "external_ids",
        "includes",
        new Map([
          [MICROOVN.projectId, projectId],
          [MICROOVN.name, DEFAULT_GROUP_NAME],
        ]),
      ],
    ],
    columns: ["name"],
    until: "==",
    rows: [],
    timeoutMs: 0,
  });
  insertGroup(txn, group, defaultGroupRules(group));
  remember(txn, key, group.id, since);
  return group.id;
}
