/**
 * The CLI's side of the control API. Commands that change something
 * (`call`) start the member's daemon when none answers: where
 * microovnd.service serves the state dir, by starting the unit and waiting
 * until it is ready (so systemd always knows the one daemon); elsewhere by
 * starting microovnd in the background (logging to DIR/logs/microovnd.log).
 * Either way a failure says why and where to look. Commands that only read
 * (`query`) never start anything: they say the member is stopped and how to
 * start it, or that the machine is not a member yet.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";
import { DEFAULT_STATE_DIR, type StateDir } from "../member/state-dir.js";
import { MicroOvnError } from "../errors.js";
import { startUnit, unitActiveState, unitServes } from "../host/systemd.js";
import { notMemberError } from "../member/config.js";
import { spawnDetached } from "../process/run.js";

const START_TIMEOUT_MS = 15_000;
/** How long a command waits for microovnd.service while systemd starts it. */
const UNIT_ACTIVATING_TIMEOUT_MS = 120_000;

interface ApiError {
  error: { code: string; message: string };
}

function isApiError(body: unknown): body is ApiError {
  return typeof body === "object" && body !== null && "error" in body;
}

/** No daemon listens on the control socket (none runs, or it has not listened yet). */
function isNoDaemon(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ECONNREFUSED";
}

/** The daemon's entry point next to this file (main.js when built, main.ts under tsx). */
function daemonEntry(): string {
  const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  return fileURLToPath(new URL(`../daemon/main${ext}`, import.meta.url));
}

async function logTail(path: string, lines = 10): Promise<string> {
  try {
    return (await readFile(path, "utf8")).trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export class ControlClient {
  constructor(readonly state: StateDir) {}

  private send(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = 0,
  ): Promise<{ status: number; body: unknown }> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          socketPath: this.state.controlSocket,
          // Not Node's global agent: it gives every socket a 5 s idle timeout, which cut
          // off answers that take longer to come (`cluster recover`, a CA change).
          agent: false,
          path: `/1.0${path}`,
          method,
          headers: payload
            ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
            : {},
          ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            try {
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} });
            } catch {
              reject(new MicroOvnError("BAD_RESPONSE", `microovnd answered: ${text}`));
            }
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Whether a daemon answers now. */
  async isUp(): Promise<boolean> {
    try {
      await this.send("GET", "/ready", undefined, 2_000);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Starts microovnd unless one answers (through systemd where its unit
   * serves this state dir); resolves once it answers.
   */
  async ensureDaemon(): Promise<void> {
    if (await this.isUp()) return;
    if (await unitServes(this.state)) {
      await startUnit();
      if (!(await this.isUp())) {
        throw new MicroOvnError(
          "DAEMON_NOT_RUNNING",
          "microovnd.service started but its daemon does not answer on " +
            `${this.state.controlSocket}; see \`journalctl -u microovnd\``,
        );
      }
      return;
    }
    await this.spawnDaemon();
  }

  /** Starts microovnd in the background for a state dir no unit serves. */
  private async spawnDaemon(): Promise<void> {
    await mkdir(this.state.logDir, { recursive: true });
    const logFile = this.state.log("microovnd");
    const child = await spawnDetached(
      process.execPath,
      [...process.execArgv, daemonEntry(), "--state-dir", this.state.root],
      { logFile },
    );
    child.unref();
    let exited: string | undefined;
    void child.exited.then(({ exitCode, signal }) => {
      exited = signal ?? `status ${exitCode}`;
    });
    let deadline = Date.now() + START_TIMEOUT_MS;
    let exitNoticed = false;
    while (Date.now() < deadline) {
      if (await this.isUp()) return;
      if (exited !== undefined && !exitNoticed) {
        exitNoticed = true;
        // Lost the race to a daemon another command started: give that one a moment.
        if (!(await logTail(logFile, 3)).includes("microovnd already runs")) break;
        deadline = Math.min(deadline, Date.now() + 2_000);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const tail = await logTail(logFile);
    throw new MicroOvnError(
      "DAEMON_NOT_RUNNING",
      `microovnd is not running and could not be started` +
        (exited
          ? ` (it exited with ${exited})`
          : ` (no answer within ${START_TIMEOUT_MS / 1000} s)`) +
        (tail ? `:\n${tail}\n` : ". ") +
        `Its log: ${logFile}`,
    );
  }

  /**
   * Calls the API for a command that changes something (starting the
   * daemon if needed) and returns the body, or throws its error.
   */
  async call<T>(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    body?: unknown,
  ): Promise<T> {
    let response: { status: number; body: unknown };
    try {
      response = await this.send(method, path, body);
    } catch (e) {
      // No daemon listening yet: start one, then ask again.
      if (!isNoDaemon(e)) throw e;
      await this.ensureDaemon();
      response = await this.send(method, path, body);
    }
    return this.answer<T>(response);
  }

  /**
   * GETs `path` for a command that changes nothing: never starts a daemon.
   * Waits for microovnd.service while systemd is starting it.
   */
  async query<T>(path: string): Promise<T> {
    try {
      return this.answer<T>(await this.send("GET", path));
    } catch (e) {
      if (!isNoDaemon(e)) throw e;
    }
    if (await this.waitForStartingUnit()) return this.answer<T>(await this.send("GET", path));
    throw await this.stopped();
  }

  /** True once the unit's daemon answers, false when systemd is not starting it. */
  private async waitForStartingUnit(): Promise<boolean> {
    if (!(await unitServes(this.state))) return false;
    const deadline = Date.now() + UNIT_ACTIVATING_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (await this.isUp()) return true;
      if ((await unitActiveState()) !== "activating") return this.isUp();
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  /** What to tell someone whose command needs a daemon when none runs. */
  async stopped(): Promise<MicroOvnError> {
    if (!existsSync(this.state.memberConfigPath)) return notMemberError();
    if (await unitServes(this.state)) {
      const failed = (await unitActiveState()) === "failed";
      return new MicroOvnError(
        "MEMBER_STOPPED",
        "this member is stopped (microovnd is not running" +
          (failed ? "; microovnd.service failed, see `journalctl -u microovnd`" : "") +
          "); start it with `systemctl start microovnd`",
      );
    }
    const start =
      this.state.root === DEFAULT_STATE_DIR && process.env.MICROOVN_STATE_DIR === undefined
        ? "`microovn waitready`"
        : `\`microovn --state-dir ${this.state.root} waitready\``;
    return new MicroOvnError(
      "MEMBER_STOPPED",
      `this member is stopped (microovnd is not running); start it with ${start}`,
    );
  }

  private answer<T>(response: { status: number; body: unknown }): T {
    if (isApiError(response.body)) {
      throw new MicroOvnError(response.body.error.code, response.body.error.message);
    }
    if (response.status !== 200) {
      throw new MicroOvnError("BAD_RESPONSE", `microovnd answered HTTP ${response.status}`);
    }
    return response.body as T;
  }
}
