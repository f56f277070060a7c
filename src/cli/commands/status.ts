/** `microovn status` and `microovn waitready`. */
import { InvalidArgumentError, type Command } from "commander";
import type { Readiness } from "../../daemon/api/route-context.js";
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
      if (options.json) ctx.print(JSON.stringify(report, null, 2));
      else ctx.print("members" in report ? formatStatus(report) : NOT_MEMBER_STATUS);
    });

  program
    .command("waitready")
    .description(
      "Start this member's daemon if it is stopped, and wait until its services are up and its " +
        "databases take writes (have a Raft leader)",
    )
    .option("--timeout <seconds>", "give up after this long (0: wait forever)", seconds, 0)
    .action(async (options: { timeout: number }) => {
      const client = ctx.client();
      const deadline = options.timeout > 0 ? Date.now() + options.timeout * 1000 : Infinity;
      let waitingFor = ["microovnd to bring the services up"];
      for (;;) {
        const readiness = await client.call<Readiness>("GET", "/ready");
        if (readiness.ready) {
          if (readiness.error) {
            throw new MicroOvnError("SERVICES_NOT_UP", `microovnd is up but: ${readiness.error}`);
          }
          const { unwritable } = await client.call<{ unwritable: string[] }>(
            "GET",
            "/ready/databases",
          );
          if (unwritable.length === 0) return;
          waitingFor = unwritable;
        }
        if (Date.now() > deadline) {
          throw new MicroOvnError(
            "NOT_READY",
            `not ready within ${options.timeout} s:\n${waitingFor.map((w) => `- ${w}`).join("\n")}\n` +
              `See \`microovn status\` and ${ctx.state.log("microovnd")}`,
          );
        }
        await new Promise((r) => setTimeout(r, readiness.ready ? 200 : 50));
      }
    });
}
