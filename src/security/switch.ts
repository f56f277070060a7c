/**
 * Following the cluster-wide `security-log` setting (on unless set to
 * off). The switch itself is recorded: "security-log.off" as the last
 * line before recording stops, "security-log.on" as the first after it
 * starts again; a daemon that starts with the log off writes nothing.
 */
import type { StateDir } from "../member/state-dir.js";
import { recordSecurityEvent, securityLogEnabled, setSecurityLogEnabled } from "./security-log.js";

export const SECURITY_LOG_VALUES = ["on", "off"] as const;

/** Whether a value of the setting (undefined: not set) turns recording on. */
export function securityLogWanted(value: string | undefined): boolean {
  return value !== "off";
}

const followed = new Set<string>();

/** Brings recording in this process to the setting's value (`undefined`: not set). */
export function followSecurityLogSetting(state: StateDir, value: string | undefined): void {
  const wanted = securityLogWanted(value);
  const first = !followed.has(state.root);
  followed.add(state.root);
  if (wanted === securityLogEnabled(state)) return;
  if (!wanted && !first)
    recordSecurityEvent(state, { event: "security-log.off", outcome: "success" });
  setSecurityLogEnabled(state, wanted);
  if (wanted && !first)
    recordSecurityEvent(state, { event: "security-log.on", outcome: "success" });
}
