#!/usr/bin/env node
/**
 * microovn: the command line. Commands are thin: parse, call the daemon's
 * control API, print. Errors go to stderr with a non-zero exit.
 */
import { Command, CommanderError } from "commander";
import { MicroOvnError } from "../errors.js";
import { registerCertificates } from "./commands/certificates.js";
import { registerChassis } from "./commands/chassis.js";
import { registerLab } from "./commands/lab.js";
import { registerCluster } from "./commands/cluster.js";
import { registerConfig } from "./commands/config.js";
import { registerDashboard } from "./commands/dashboard.js";
import { registerInit } from "./commands/init.js";
import { runPassthrough } from "./commands/passthrough.js";
import { registerOpenstackApi } from "./commands/openstack-api.js";
import { registerPort } from "./commands/port.js";
import { registerProject } from "./commands/project.js";
import { registerRestart } from "./commands/restart.js";
import { registerServices } from "./commands/services.js";
import { registerStatus } from "./commands/status.js";
import { registerUser } from "./commands/user.js";
import { CliContext } from "./context.js";
import { PASSTHROUGH_TOOLS, isPassthroughTool } from "./passthrough.js";
import { versionReport } from "./versions.js";

/** Where the command word is, after the global options (--state-dir DIR). */
function commandIndex(argv: readonly string[]): number {
  let i = 0;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === "--state-dir") i += 2;
    else if (a.startsWith("--state-dir=")) i += 1;
    else return i;
  }
  return i;
}

function stateDirOption(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--state-dir") return argv[i + 1];
    if (a.startsWith("--state-dir=")) return a.slice("--state-dir=".length);
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const at = commandIndex(argv);
  const word = argv[at];
  const ctx = new CliContext(() => stateDirOption(argv.slice(0, at)));
  if (word !== undefined && isPassthroughTool(word)) {
    return runPassthrough(ctx, word, argv.slice(at + 1));
  }
  if (word === "--version" || word === "-V") {
    ctx.print(await versionReport());
    return 0;
  }

  const program = new Command("microovn")
    .description(
      "Deploy and run a TLS-secured, highly available OVN.\n\n" +
        `Passthrough tools (run with this member's databases, TLS files and sockets):\n  ` +
        PASSTHROUGH_TOOLS.join(" "),
    )
    .option(
      "--state-dir <dir>",
      "state directory (env MICROOVN_STATE_DIR; default /var/lib/microovn)",
    )
    .option("-V, --version", "show the versions of microovn, OVN and Open vSwitch")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerInit(program, ctx);
  registerCluster(program, ctx);
  registerStatus(program, ctx);
  registerServices(program, ctx);
  registerRestart(program, ctx);
  registerCertificates(program, ctx);
  registerConfig(program, ctx);
  registerChassis(program, ctx);
  registerPort(program, ctx);
  registerOpenstackApi(program, ctx);
  registerDashboard(program, ctx);
  registerUser(program, ctx);
  registerProject(program, ctx);
  registerLab(program, ctx);
  for (const c of program.commands) c.exitOverride();
  await program.parseAsync(argv, { from: "user" });
  return typeof process.exitCode === "number" ? process.exitCode : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof CommanderError) {
      process.exit(e.exitCode);
    }
    const message = e instanceof MicroOvnError ? e.message : String((e as Error).stack ?? e);
    process.stderr.write(`Error: ${message}\n`);
    process.exit(1);
  },
);
