/**
 * systemd, where it runs this machine: whether microovnd.service serves a
 * state dir (then only systemd starts that member's daemon), starting the
 * unit and waiting for it, and the daemon's readiness messages.
 *
 * Node has no unix datagram sockets, so readiness goes through Debian's
 * `systemd-notify`. It waits until systemd has read the message (systemd
 * 246 and later), so the message is never dropped because the sender
 * exited first; the unit sets NotifyAccess=all for it.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_STATE_DIR, type StateDir } from "../member/state-dir.js";
import { MicroOvnError } from "../errors.js";
import { run } from "../process/run.js";

export const DAEMON_UNIT = "microovnd.service";

/** How long `systemctl start` may wait for the daemon to say it is ready. */
const UNIT_START_TIMEOUT_MS = 120_000;

/** Whether systemd is this machine's service manager (what sd_booted() checks). */
export function systemdRuns(): boolean {
  return existsSync("/run/systemd/system");
}

/** The state dir a unit's `Environment=` line gives microovnd (`systemctl show` format). */
export function unitStateDir(environment: string): string {
  for (const assignment of environment.split(/\s+/)) {
    if (assignment.startsWith("MICROOVN_STATE_DIR=")) {
      return resolve(assignment.slice("MICROOVN_STATE_DIR=".length));
    }
  }
  return DEFAULT_STATE_DIR;
}

/**
 * Whether microovnd.service is installed and serves `state`: then its
 * daemon is started through systemd only, never by the CLI, so that there
 * is one daemon and systemd knows it.
 */
export async function unitServes(state: StateDir): Promise<boolean> {
  if (!systemdRuns()) return false;
  const shown = await run(
    "systemctl",
    ["show", "--property=LoadState", "--property=Environment", DAEMON_UNIT],
    { allowFailure: true, timeoutMs: 10_000 },
  ).catch(() => undefined);
  if (!shown || shown.exitCode !== 0) return false;
  const props = new Map(
    shown.stdout
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  return (
    props.get("LoadState") === "loaded" &&
    unitStateDir(props.get("Environment") ?? "") === state.root
  );
}

/** The unit's ActiveState: active, activating, inactive, failed, … */
export async function unitActiveState(): Promise<string> {
  const r = await run("systemctl", ["show", "--property=ActiveState", "--value", DAEMON_UNIT], {
    allowFailure: true,
    timeoutMs: 10_000,
  }).catch(() => undefined);
  // systemctl not answering (a timeout): treat the unit as not started, like the other calls here.
  return r?.stdout.trim() ?? "unknown";
}

/** The unit's last journal lines, for an error message. */
async function journalTail(lines = 10): Promise<string> {
  const r = await run(
    "journalctl",
    ["--unit", DAEMON_UNIT, "--lines", String(lines), "--no-pager", "--output", "cat"],
    { allowFailure: true, timeoutMs: 10_000 },
  ).catch(() => undefined);
  return r?.stdout.trim() ?? "";
}

/**
 * Starts microovnd.service, or joins a start already under way; returns
 * once the daemon has told systemd it is ready (Type=notify).
 */
export async function startUnit(): Promise<void> {
  const r = await run("systemctl", ["start", DAEMON_UNIT], {
    allowFailure: true,
    timeoutMs: UNIT_START_TIMEOUT_MS,
  });
  if (r.exitCode === 0) return;
  const tail = await journalTail();
  throw new MicroOvnError(
    "DAEMON_NOT_RUNNING",
    `microovnd is not running and systemd could not start ${DAEMON_UNIT}: ` +
      `${r.stderr.trim() || `systemctl exited with ${r.exitCode}`}` +
      (tail ? `\n${tail}\n` : "\n") +
      "See `systemctl status microovnd` and `journalctl -u microovnd`",
  );
}

/**
 * Tells systemd about the daemon (READY=1, STATUS=…) when it started us as
 * a Type=notify service; does nothing otherwise. `socket` is the
 * NOTIFY_SOCKET the daemon was started with (kept away from its children).
 */
export async function notifySystemd(
  socket: string | undefined,
  message: { ready?: boolean; status?: string },
): Promise<void> {
  if (socket === undefined || socket === "") return;
  const args = [`--pid=${process.pid}`];
  if (message.ready) args.push("--ready");
  if (message.status !== undefined) args.push(`--status=${message.status}`);
  await run("systemd-notify", args, { env: { NOTIFY_SOCKET: socket }, timeoutMs: 10_000 });
}
