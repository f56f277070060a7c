/**
 * Where quotas live: the cluster's defaults are settings
 * (`openstack-api.quota.<resource>`), a project's own limits rows of the
 * state database's Config table under `openstack-api.project-quota/<project
 * id>/<resource>`, one row per limit, so that two administrators setting
 * different limits of one project at once both keep theirs, and no schema
 * change was needed. Read from the state replica; written on its client,
 * so the next read sees the write.
 */
import {
  PROJECT_QUOTA_PREFIX,
  QUOTA_RESOURCES,
  parseQuotaLimit,
  quotaDefaultKey,
} from "../../../cluster/config-keys.js";
import type { Backend } from "../../backend.js";
import { isQuotaResource, mergeLimits, type Limits } from "./limits.js";

function projectKey(project: string, resource: string): string {
  return `${PROJECT_QUOTA_PREFIX}${project}/${resource}`;
}

/** A stored limit, or undefined when the row is missing or not a limit (set by hand). */
function storedLimit(key: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseQuotaLimit(key, value);
  } catch {
    return undefined;
  }
}

/** The cluster's defaults, where an operator set them. */
export function clusterDefaults(backend: Backend): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const r of QUOTA_RESOURCES) {
    const key = quotaDefaultKey(r);
    const limit = storedLimit(key, backend.config(key));
    if (limit !== undefined) out[r] = limit;
  }
  return out;
}

/** The limits set for this project itself. */
export function projectLimits(backend: Backend, project: string): Partial<Limits> {
  const out: Partial<Limits> = {};
  for (const r of QUOTA_RESOURCES) {
    const key = projectKey(project, r);
    const limit = storedLimit(key, backend.config(key));
    if (limit !== undefined) out[r] = limit;
  }
  return out;
}

/** The project's limits in force. */
export function limitsOf(backend: Backend, project: string): Limits {
  return mergeLimits(clusterDefaults(backend), projectLimits(backend, project));
}

/** The projects that have limits of their own (`GET /v2.0/quotas`), sorted. */
export function projectsWithLimits(backend: Backend): string[] {
  const projects = new Set<string>();
  for (const row of backend.stateReplica.table("Config").values()) {
    if (!row.key.startsWith(PROJECT_QUOTA_PREFIX)) continue;
    const [project, resource] = row.key.slice(PROJECT_QUOTA_PREFIX.length).split("/");
    if (project && resource && isQuotaResource(resource)) projects.add(project);
  }
  return [...projects].sort();
}

/** Sets these limits of the project, in one transaction. */
export async function setProjectLimits(
  backend: Backend,
  project: string,
  limits: Partial<Limits>,
): Promise<void> {
  const txn = backend.state.transaction();
  for (const [resource, limit] of Object.entries(limits)) {
    const key = projectKey(project, resource);
    txn.delete("Config", [["key", "==", key]]);
    txn.insert("Config", { key, value: String(limit) });
  }
  if (txn.size > 0) await txn.commit();
}

/** The project goes back to the defaults. */
export async function clearProjectLimits(backend: Backend, project: string): Promise<void> {
  const txn = backend.state.transaction();
  for (const r of QUOTA_RESOURCES) txn.delete("Config", [["key", "==", projectKey(project, r)]]);
  await txn.commit();
}
