#!/usr/bin/env node
/**
 * microovnd [--state-dir DIR]: the per-member daemon. Started by systemd
 * (microovnd.service, Type=notify: it says READY=1 once its control socket
 * listens) or, for state dirs no unit serves, by the `microovn` CLI (in the
 * background, logging to DIR/logs/microovnd.log).
 *
 * Exit status EXIT_ALREADY_RUNNING means another microovnd already runs for
 * the state dir; the unit lists it in RestartPreventExitStatus=, so systemd
 * does not start this one again and again while the other one runs.
 */
import { Command } from "commander";
import { MicroOvnError } from "../errors.js";
import { VERSION } from "../version.js";
import { DAEMON_PROCESS_NAME, Daemon, EXIT_ALREADY_RUNNING } from "./daemon.js";
import { log } from "./log.js";
import { StateDir } from "../member/state-dir.js";

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
  // Ours to answer: OVN programs started with it would talk to systemd as well.
  daemon.notifySocket = process.env.NOTIFY_SOCKET;
  delete process.env.NOTIFY_SOCKET;
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
  const alreadyRuns = e instanceof MicroOvnError && e.code === "DAEMON_ALREADY_RUNNING";
  process.exit(alreadyRuns ? EXIT_ALREADY_RUNNING : 1);
});
