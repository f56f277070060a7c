/**
 * Quota arithmetic, pure: a project's limits (its own over the cluster's
 * defaults over Neutron's), whether a create fits, and Neutron's answers
 * when it does not or a limit is bad.
 */
import {
  QUOTA_DEFAULTS,
  QUOTA_RESOURCES,
  type QuotaResource,
} from "../../../cluster/config-keys.js";
import { ApiError } from "../../errors.js";

export type Limits = Record<QuotaResource, number>;

/** -1: no limit. */
export const UNLIMITED = -1;

export function isQuotaResource(name: string): name is QuotaResource {
  return (QUOTA_RESOURCES as readonly string[]).includes(name);
}

/** Limits from the most specific source that has one: the project's, the cluster's, Neutron's. */
export function mergeLimits(
  clusterDefaults: Partial<Limits>,
  projectLimits: Partial<Limits> = {},
): Limits {
  const out = {} as Limits;
  for (const r of QUOTA_RESOURCES) {
    out[r] = projectLimits[r] ?? clusterDefaults[r] ?? QUOTA_DEFAULTS[r];
  }
  return out;
}

/**
 * The resources a create of `requested` more would take past their limits,
 * given `used` (what the project has); sorted, as Neutron names them.
 */
export function exceeded(
  limits: Limits,
  used: Partial<Limits>,
  requested: Partial<Limits>,
): QuotaResource[] {
  const over: QuotaResource[] = [];
  for (const r of QUOTA_RESOURCES) {
    const more = requested[r] ?? 0;
    if (more === 0 || limits[r] === UNLIMITED) continue;
    if ((used[r] ?? 0) + more > limits[r]) over.push(r);
  }
  return over.sort();
}

/** Neutron's 409, word for word: `Quota exceeded for resources: ['port'].` */
export function overQuota(resources: readonly QuotaResource[]): ApiError {
  const list = resources.map((r) => `'${r}'`).join(", ");
  return new ApiError(409, `Quota exceeded for resources: [${list}].`, "OverQuota");
}

/** What clients send beside the limits: options, and the project the URL names already. */
const IGNORED_KEYS = new Set(["force", "check_limit", "project_id", "tenant_id"]);

/**
 * The limits a quota update names, checked: only known resources, each a
 * whole number from -1 up (numbers or numeric strings, as clients send
 * them). Anything else is a 400 that says what is allowed.
 */
export function requestedLimits(body: Readonly<Record<string, unknown>>): Partial<Limits> {
  const unknown = Object.keys(body).filter((k) => !isQuotaResource(k) && !IGNORED_KEYS.has(k));
  if (unknown.length > 0) {
    throw new ApiError(
      400,
      `Unrecognized attribute(s) '${unknown.join(", ")}': quotas are set for ${QUOTA_RESOURCES.join(", ")}.`,
      "HTTPBadRequest",
    );
  }
  const out: Partial<Limits> = {};
  for (const r of QUOTA_RESOURCES) {
    const value = body[r];
    if (value === undefined) continue;
    const n = typeof value === "string" && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < UNLIMITED) {
      throw new ApiError(
        400,
        `Invalid input for ${r}. Reason: '${typeof value === "string" ? value : JSON.stringify(value)}' is not a whole number of ${r} ` +
          "from 0 up, or -1 for no limit.",
        "InvalidInput",
      );
    }
    out[r] = n;
  }
  return out;
}

/** With `check_limit`, Neutron refuses a limit below what the project already uses. */
export function belowUsage(changes: Partial<Limits>, used: Partial<Limits>): ApiError | undefined {
  for (const r of QUOTA_RESOURCES) {
    const limit = changes[r];
    if (limit === undefined || limit === UNLIMITED) continue;
    const inUse = used[r] ?? 0;
    if (limit < inUse) {
      return new ApiError(
        400,
        `Invalid input for operation: Quota limit ${limit} for ${r} must be greater than or ` +
          `equal to already used ${inUse}.`,
        "InvalidQuotaValue",
      );
    }
  }
  return undefined;
}
