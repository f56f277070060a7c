/**
 * Recording an action's outcome around the action: `audited(state, event,
 * details, action)` records success when it resolves and failure (with the
 * reason and the error's code) when it throws, then answers or throws as
 * the action did. So a call site is one line, and a refusal is recorded
 * the same way as a success.
 */
import { MicroOvnError } from "../errors.js";
import type { StateDir } from "../member/state-dir.js";
import type { SecurityEventName } from "./events.js";
import { recordSecurityEvent } from "./security-log.js";

export type SecurityDetails = Record<string, string | number | boolean | undefined>;

export async function audited<T>(
  state: StateDir,
  event: SecurityEventName,
  details: SecurityDetails | (() => SecurityDetails),
  action: () => Promise<T>,
  /** Details only the result tells (e.g. the role a member was given). */
  resultDetails?: (result: T) => SecurityDetails,
): Promise<T> {
  const known = () => (typeof details === "function" ? details() : details);
  let result: T;
  try {
    result = await action();
  } catch (e) {
    recordSecurityEvent(state, {
      event,
      outcome: "failure",
      ...safely(known),
      reason: e instanceof Error ? e.message : String(e),
      ...(e instanceof MicroOvnError ? { code: e.code } : {}),
    });
    throw e;
  }
  recordSecurityEvent(state, {
    event,
    outcome: "success",
    ...safely(known),
    ...(resultDetails ? safely(() => resultDetails(result)) : {}),
  });
  return result;
}

/** Details that cannot be had (a request that did not parse) are left out, not thrown. */
function safely(details: () => SecurityDetails): SecurityDetails {
  try {
    return details();
  } catch {
    return {};
  }
}
