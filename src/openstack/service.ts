/**
 * The OpenStack API service as microovnd sees it: which ports it serves and
 * how the supervisor runs it. The service is a Node process of its own
 * (main.ts), not part of microovnd: it faces cloud managers, and microovnd on
 * a voter holds the CA key. It gets this member's `openstack-api`
 * certificate and key and its client certificate, never the CA key.
 */
import { fileURLToPath } from "node:url";
import type { StateDir } from "../member/state-dir.js";
import type { ProcessSpec } from "../supervisor/supervisor.js";

/** The supervisor's name for the process; also its pidfile's and log's name. */
export const OPENSTACK_API_PROCESS = "openstack-api";

/** Neutron's port. */
export const NETWORKING_PORT = 9696;
/**
 * Keystone's public and former admin ports: oVirt's provider and engine
 * default to either, so both answer the same Identity API.
 */
export const IDENTITY_PORTS = [5000, 35357] as const;

/** The compiled entry next to this file (dist/openstack/main.js). */
export const OPENSTACK_API_ENTRY = fileURLToPath(new URL("./main.js", import.meta.url));

/**
 * The process; what it serves and where the databases are is in its
 * settings file (settings.ts), which microovnd writes first.
 */
export function openstackApiSpec(state: StateDir): ProcessSpec {
  const pidFile = state.socket(`${OPENSTACK_API_PROCESS}.pid`);
  return {
    name: OPENSTACK_API_PROCESS,
    // The same node that runs microovnd. The supervisor recognises the
    // process after a daemon restart by this program and the pidfile among
    // its arguments; so the service must not set process.title, which on
    // Linux overwrites /proc/PID/cmdline and would hide both (measured).
    program: process.execPath,
    args: [
      OPENSTACK_API_ENTRY,
      `--pidfile=${pidFile}`,
      `--settings=${state.openstackApiSettingsPath}`,
    ],
    pidFile,
    logFile: state.log(OPENSTACK_API_PROCESS),
  };
}
