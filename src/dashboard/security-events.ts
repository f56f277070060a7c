/**
 * The dashboard's entries in the security log. Logins and logouts are
 * written through here so that the log's own module stays the one place
 * that knows its file and format.
 */
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import type { StateDir } from "../member/state-dir.js";

export interface DashboardSecurityEvent {
  event: "dashboard.login" | "dashboard.logout";
  outcome: "success" | "failure";
  user?: string;
  remote?: string;
  reason?: string;
}

/** One JSON line in DIR/logs/security.log; never throws, never blocks the caller. */
export function recordDashboardEvent(state: StateDir, e: DashboardSecurityEvent): void {
  const line = JSON.stringify({ time: new Date().toISOString(), ...e }) + "\n";
  appendFile(join(state.logDir, "security.log"), line, { mode: 0o600 }).catch(() => undefined);
}
