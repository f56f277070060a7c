/** `microovn status` and `microovn waitready`. */
import { InvalidArgumentError, type Command } from "commander";
import type { Readiness } from "../../daemon/daemon.js";
import type { StatusReport } from "../../daemon/status.js";
import { MicroOvnError } from "../../errors.js";
import type { CliContext } from "../context.js";
import { NOT_MEMBER_STATUS, formatStatus } from "../format/status.js";

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
      let report: StatusReport | { bootstrapped: false };
      try {
        report = await ctx.client().query<StatusReport>("/status");
      } catch (e) {
        // Not a member and no daemon: the same answer a running daemon gives.
        if (!(e instanceof MicroOvnError && e.code === "NOT_BOOTSTRAPPED")) throw e;
        report = { bootstrapped: false };
      }
      ctx.print(
        options.json
          ? JSON.stringify(report, null, 2)
          : report.bootstrapped
            ? formatStatus(report)
            : NOT_MEMBER_STATUS,
      );
    });

  program
    .command("waitready")
    .description(
      "Start this member's daemon if it is stopped, and wait until it has brought the services up",
    )
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
