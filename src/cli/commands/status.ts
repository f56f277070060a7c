/** `microovn status` and `microovn waitready`. */
import { InvalidArgumentError, type Command } from "commander";
import type { Readiness } from "../../daemon/daemon.js";
import type { StatusReport } from "../../daemon/status.js";
import { MicroOvnError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { formatStatus } from "../format/status.js";

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError("give a number of seconds (0 waits forever)");
  }
  return n;
}

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("Show this member, its services, the OVN databases and any problems")
    .option("--json", "print the report as JSON")
    .action(async (options: { json?: boolean }) => {
      const report = await ctx.client().call<StatusReport>("GET", "/status");
      ctx.print(options.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    });

  program
    .command("waitready")
    .description("Wait until the daemon has brought this member's services up")
    .option("--timeout <seconds>", "give up after this long (0: wait forever)", seconds, 0)
    .action(async (options: { timeout: number }) => {
      const client = ctx.client();
      const deadline = options.timeout > 0 ? Date.now() + options.timeout * 1000 : Infinity;
      for (;;) {
        const readiness = await client.call<Readiness>("GET", "/ready");
        if (readiness.ready) {
          if (readiness.error) {
            throw new MicroOvnError("SERVICES_NOT_UP", `microovnd is up but: ${readiness.error}`);
          }
          return;
        }
        if (Date.now() > deadline) {
          throw new MicroOvnError(
            "NOT_READY",
            `microovnd was not ready within ${options.timeout} s; see ${ctx.state.log("microovnd")}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    });
}
