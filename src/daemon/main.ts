#!/usr/bin/env node
/**
 * microovnd [--state-dir DIR]: the per-member daemon. Usually started by the
 * `microovn` CLI (in the background, logging to DIR/logs/microovnd.log) or
 * by systemd (microovnd.service).
 */
import { Command } from "commander";
import { MicroOvnError } from "../errors.js";
import { VERSION } from "../version.js";
import { DAEMON_PROCESS_NAME, Daemon } from "./daemon.js";
import { log } from "./log.js";
import { StateDir } from "./state-dir.js";

const program = new Command("microovnd")
  .description("MicroOVN member daemon: runs this member's OVN services and the control API")
  .version(VERSION)
  .option(
    "--state-dir <dir>",
    "state directory (env MICROOVN_STATE_DIR; default /var/lib/microovn)",
  )
  .parse();

const options = program.opts<{ stateDir?: string }>();

async function main(): Promise<void> {
  process.title = DAEMON_PROCESS_NAME;
  const daemon = new Daemon(new StateDir(options.stateDir));
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log(`${signal}: leaving the OVN processes running for the next daemon`);
      void daemon.exit(0);
    });
  }
  await daemon.start();
}

main().catch((e: unknown) => {
  const message = e instanceof MicroOvnError ? e.message : String((e as Error).stack ?? e);
  process.stderr.write(`microovnd: ${message}\n`);
  process.exit(1);
});
