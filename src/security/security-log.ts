/**
 * The security log: one JSON line per authentication or authorisation event
 * (joins, tokens, certificates, services, config, logins) in
 * DIR/logs/security.log. Both processes that see such events write it —
 * microovnd and the OpenStack API service — each appending whole lines, so
 * their lines never interleave mid-line.
 *
 * Recording must never hurt the caller: `recordSecurityEvent` builds the line
 * at once (so its time is the event's), queues the write and returns; a
 * failure to write is reported once on stderr and otherwise dropped. Details
 * that are or look like secrets are redacted (redact.ts).
 *
 * The file is 0600: it tells who logged in from where, which only root (and
 * the log shippers root runs) should read. At ROTATE_BYTES it is renamed to
 * security.log.1 (replacing the previous one) and a new file begun, so the
 * log is bounded to about twice that while keeping the recent past across a
 * rotation.
 */
import { appendFile, chmod, mkdir, readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import type { StateDir } from "../member/state-dir.js";
import { safeValue } from "./redact.js";

export interface SecurityEvent {
  /** What happened, from SECURITY_EVENTS (events.ts), e.g. "member.join". */
  event: string;
  outcome: "success" | "failure";
  user?: string;
  member?: string;
  remote?: string;
  reason?: string;
  [detail: string]: string | number | boolean | undefined;
}

export const SECURITY_LOG_FILE = "security.log";
/** A log this big is rotated before the next line. */
export const ROTATE_BYTES = 10 * 1024 * 1024;
const FILE_MODE = 0o600;

export function securityLogPath(state: StateDir): string {
  return join(state.logDir, SECURITY_LOG_FILE);
}

/** What one process knows about one member's security log. */
interface LogState {
  enabled: boolean;
  /** This member's name once member.json has told it. */
  memberName?: string;
  /** The writes queued so far, in order. */
  queue: Promise<void>;
  warned: boolean;
}

const logs = new Map<string, LogState>();

function logState(state: StateDir): LogState {
  let s = logs.get(state.root);
  if (!s) {
    s = { enabled: true, queue: Promise.resolve(), warned: false };
    logs.set(state.root, s);
  }
  return s;
}

/**
 * Turns recording on or off for this process (the cluster-wide
 * `security-log` key; on until told otherwise).
 */
export function setSecurityLogEnabled(state: StateDir, enabled: boolean): void {
  logState(state).enabled = enabled;
}

export function securityLogEnabled(state: StateDir): boolean {
  return logState(state).enabled;
}

/** Resolves once every line recorded so far has been written (or given up on). */
export function securityLogFlushed(state: StateDir): Promise<void> {
  return logState(state).queue;
}

async function memberName(state: StateDir, s: LogState): Promise<string | undefined> {
  if (s.memberName === undefined) {
    try {
      const config = JSON.parse(await readFile(state.memberConfigPath, "utf8")) as {
        name?: unknown;
      };
      if (typeof config.name === "string") s.memberName = config.name;
    } catch {
      /* not a member yet: the line goes without */
    }
  }
  return s.memberName;
}

/** The line's fields in a fixed order: time, event, outcome, member, then the details. */
function entry(e: SecurityEvent, time: string): Record<string, string | number | boolean> {
  const line: Record<string, string | number | boolean> = {
    time,
    event: String(e.event),
    outcome: e.outcome,
  };
  if (e.member !== undefined) line.member = safeValue("member", e.member);
  for (const [field, value] of Object.entries(e)) {
    if (value === undefined || field in line) continue;
    line[field] = safeValue(field, value);
  }
  return line;
}

async function write(
  state: StateDir,
  s: LogState,
  line: Record<string, string | number | boolean>,
): Promise<void> {
  if (line.member === undefined) {
    const name = await memberName(state, s);
    // Keep "member" right after "outcome" when it is filled in here.
    if (name !== undefined) {
      const { time, event, outcome, ...details } = line;
      line = { time, event, outcome, member: name, ...details } as typeof line;
    }
  }
  const path = securityLogPath(state);
  await mkdir(state.logDir, { recursive: true });
  const size = await stat(path).then(
    (st) => st.size,
    () => undefined,
  );
  if (size !== undefined && size >= ROTATE_BYTES) await rename(path, `${path}.1`);
  await appendFile(path, `${JSON.stringify(line)}\n`, { mode: FILE_MODE });
  // A new file: its mode is ours even where the umask would have added nothing or the file pre-existed.
  if (size === undefined || size >= ROTATE_BYTES) await chmod(path, FILE_MODE);
}

/**
 * Records one event. Never throws and never waits: the line is written
 * after the caller has moved on, in the order events were recorded.
 */
export function recordSecurityEvent(state: StateDir, e: SecurityEvent): void {
  try {
    const s = logState(state);
    if (!s.enabled) return;
    const line = entry(e, new Date().toISOString());
    s.queue = s.queue
      .then(() => write(state, s, line))
      .then(() => {
        s.warned = false; // a later failure is news again
      })
      .catch((error: unknown) => {
        if (s.warned) return;
        s.warned = true;
        try {
          process.stderr.write(
            `${new Date().toISOString()} security log ${securityLogPath(state)} cannot be written ` +
              `(${error instanceof Error ? error.message : String(error)}); its events are dropped until it can\n`,
          );
        } catch {
          /* nowhere left to say it */
        }
      });
  } catch {
    /* recording must never break what is being recorded */
  }
}
