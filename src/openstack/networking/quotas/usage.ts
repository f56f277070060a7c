/**
 * What a project uses, counted from the collections themselves: every
 * collection registered under a quota resource's name (its `singular`:
 * network, port, router, floatingip, …) is counted by the projects of its
 * views, so a new resource is counted as soon as it is registered, with
 * nothing to add here. Counts are kept per collection until its replica
 * changes; the creates of one shared NB transaction (group commit) are
 * added to them, so a burst on one server cannot overshoot a limit.
 */
import type { QuotaResource } from "../../../cluster/config-keys.js";
import type { Caller } from "../../auth/caller.js";
import type { Backend } from "../../backend.js";
import type { View } from "../query.js";
import type { NbTransaction } from "../write.js";
import { UNLIMITED, exceeded, isQuotaResource, overQuota, type Limits } from "./limits.js";
import { limitsOf } from "./store.js";

/** What counting needs of a collection. */
export interface Counted {
  singular: string;
  all(): Iterable<View>;
  generation?(): number;
}

interface Registry {
  backend: Backend;
  counted: Map<QuotaResource, Counted>;
}

const registries = new WeakMap<object, Registry>();
const counts = new WeakMap<Counted, { generation: number; byProject: Map<string, number> }>();
/** Creates already in a transaction not yet committed: "<resource> <project>" → how many. */
const pending = new WeakMap<NbTransaction, Map<string, number>>();

function registry(context: { backend: Backend }): Registry {
  let r = registries.get(context);
  if (!r) registries.set(context, (r = { backend: context.backend, counted: new Map() }));
  return r;
}

/** Counts the collection's resources against its quota, if it has one (by its singular name). */
export function countCollection(context: { backend: Backend }, kind: Counted): void {
  if (isQuotaResource(kind.singular)) registry(context).counted.set(kind.singular, kind);
}

function byProject(kind: Counted): Map<string, number> {
  const generation = kind.generation?.();
  const kept = counts.get(kind);
  if (kept && generation !== undefined && kept.generation === generation) return kept.byProject;
  const made = new Map<string, number>();
  for (const view of kind.all()) {
    const project = view.project_id;
    if (typeof project === "string") made.set(project, (made.get(project) ?? 0) + 1);
  }
  if (generation !== undefined) counts.set(kind, { generation, byProject: made });
  return made;
}

/** What the project uses of each resource (0 for one nothing counts yet). */
export function usage(context: { backend: Backend }, project: string): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const [resource, kind] of registry(context).counted) {
    out[resource] = byProject(kind).get(project) ?? 0;
  }
  return out;
}

/**
 * Refuses (409 OverQuota) a create that would take a project past a
 * limit, the items of a bulk request counted together. Returns what to
 * call once the items are in `txn`, so that the next create built into
 * the same transaction counts them.
 */
export function checkQuota(
  context: { backend: Backend },
  kind: Counted,
  txn: NbTransaction,
  items: readonly Readonly<Record<string, unknown>>[],
  caller: Caller,
): () => void {
  const resource = kind.singular;
  if (!isQuotaResource(resource) || !registry(context).counted.has(resource)) return () => {};
  const requested = new Map<string, number>();
  for (const item of items) {
    const named = item.project_id ?? item.tenant_id ?? caller.projectId;
    // No project: the create itself refuses the request, saying so.
    if (typeof named === "string") requested.set(named, (requested.get(named) ?? 0) + 1);
  }
  const inTxn = pending.get(txn) ?? new Map<string, number>();
  for (const [project, more] of requested) {
    const limits = limitsOf(context.backend, project);
    // No limit, nothing to count (a scan of every port would be the cost otherwise).
    if (limits[resource] === UNLIMITED) continue;
    const counted = byProject(kind).get(project) ?? 0;
    const used = counted + (inTxn.get(`${resource} ${project}`) ?? 0);
    const over = exceeded(limits, { [resource]: used }, { [resource]: more });
    if (over.length > 0) throw overQuota(over);
  }
  return () => {
    for (const [project, more] of requested) {
      const key = `${resource} ${project}`;
      inTxn.set(key, (inTxn.get(key) ?? 0) + more);
    }
    pending.set(txn, inTxn);
  };
}
