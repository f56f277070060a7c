/** `microovn dashboard`: where this member serves the web dashboard, and who may log in. */
import type { Command } from "commander";
import type { DashboardState } from "../../dashboard/dashboard.js";
import type { CliContext } from "../context.js";

export function registerDashboard(program: Command, ctx: CliContext): void {
  program
    .command("dashboard")
    .description("Print the URL of this member's web dashboard and how to give someone access")
    .option("--json", "print it as JSON")
    .action(async (options: { json?: boolean }) => {
      const state = await ctx.client().query<DashboardState>("/dashboard");
      if (options.json) return ctx.print(JSON.stringify(state, null, 2));
      if (state.setting === "off") {
        return ctx.print(
          "The dashboard is off (dashboard.address is off): " +
            "`microovn config set dashboard.address member:6690` turns it on.",
        );
      }
      for (const url of state.urls) ctx.print(url);
      if (state.problem) ctx.print(`Not listening: ${state.problem} (tried again every 10 s)`);
      ctx.print(
        "\nLog in as a user with a role on the admin project (the browser trusts the cluster CA, " +
          "or asks you to accept its certificate). To give someone read access:\n" +
          "  microovn user add NAME --project admin --role reader\n" +
          "(the admin project exists once openstack-api has been enabled, or after " +
          "`microovn project add admin`)",
      );
    });
}
