/**
 * The one place that runs external programs. Everything else (OVN/OVS tools,
 * openssl, ip) goes through `run` for short commands and `spawnDetached` for
 * long-lived processes, so timeouts, exit codes and stderr reach the caller
 * the same way everywhere.
 */
import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { MicroOvnError } from "../errors.js";

export class ProgramError extends MicroOvnError {
  readonly program: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(
    code: "PROGRAM_NOT_FOUND" | "PROGRAM_FAILED" | "PROGRAM_TIMEOUT",
    message: string,
    details: { program: string; args: readonly string[]; exitCode: number | null; stderr: string },
  ) {
    super(code, message);
    this.program = details.program;
    this.args = details.args;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
  }
}

export interface RunOptions {
  /** Kill the program (SIGKILL) after this long. Default 60 s. */
  timeoutMs?: number;
  /** Extra environment variables, merged over this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Written to the program's standard input, which is then closed. */
  input?: string | Buffer;
  /** Return a non-zero exit instead of throwing. */
  allowFailure?: boolean;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

function describe(program: string, args: readonly string[]): string {
  const shown = [program, ...args].join(" ");
  return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
}

function notFound(program: string, args: readonly string[]): ProgramError {
  return new ProgramError(
    "PROGRAM_NOT_FOUND",
    `${program} is not installed or not on PATH. Install Debian's packages: ` +
      `apt-get install -y ovn-central ovn-host openvswitch-switch`,
    { program, args, exitCode: null, stderr: "" },
  );
}

/** Why a program could not be started at all. */
function spawnFailure(
  program: string,
  args: readonly string[],
  e: NodeJS.ErrnoException,
): ProgramError {
  return e.code === "ENOENT"
    ? notFound(program, args)
    : new ProgramError("PROGRAM_FAILED", `${describe(program, args)}: ${e.message}`, {
        program,
        args,
        exitCode: null,
        stderr: "",
      });
}

/** Runs a program to completion and collects its output. */
export function run(
  program: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {
      /* the program may exit without reading its input */
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(spawnFailure(program, args, e));
    });
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        exitCode,
        signal,
      };
      const details = { program, args, exitCode, stderr: result.stderr };
      if (timedOut) {
        reject(
          new ProgramError(
            "PROGRAM_TIMEOUT",
            `${describe(program, args)} did not finish within ${timeoutMs} ms`,
            details,
          ),
        );
      } else if (exitCode !== 0 && !options.allowFailure) {
        const why = result.stderr.trim() || `exit status ${exitCode ?? signal}`;
        reject(new ProgramError("PROGRAM_FAILED", `${describe(program, args)}: ${why}`, details));
      } else {
        resolve(result);
      }
    });
    child.stdin.end(options.input ?? "");
  });
}

export interface DetachedProcess {
  readonly pid: number;
  /** Settles when the process exits (only while it is our child). */
  readonly exited: Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>;
  /** Lets this process exit while the child still runs (then `exited` may never settle). */
  unref(): void;
}

export interface SpawnDetachedOptions {
  /** Standard output and error are appended here; the process keeps no pipe to us. */
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * Starts a long-lived program in its own process group with its output going
 * to a log file, so it survives us and never dies of SIGPIPE on a pipe we held.
 */
export function spawnDetached(
  program: string,
  args: readonly string[],
  options: SpawnDetachedOptions,
): Promise<DetachedProcess> {
  const fd = openSync(options.logFile, "a");
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ["ignore", fd, fd],
      detached: true,
    });
    closeSync(fd);
    const exited = new Promise<{ exitCode: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once("exit", (exitCode, signal) => done({ exitCode, signal })),
    );
    child.once("error", (e: NodeJS.ErrnoException) => reject(spawnFailure(program, args, e)));
    child.once("spawn", () => {
      resolve({ pid: child.pid!, exited, unref: () => child.unref() });
    });
  });
}

/**
 * Runs a program on this terminal (standard input, output and error are
 * ours) and resolves with its exit status: the passthrough commands.
 */
export function runAttached(
  program: string,
  args: readonly string[],
  options: { env?: Record<string, string> } = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: "inherit",
    });
    child.once("error", (e: NodeJS.ErrnoException) => reject(spawnFailure(program, args, e)));
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
