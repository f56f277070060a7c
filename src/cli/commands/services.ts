/** `microovn enable SERVICE`, `microovn disable SERVICE`, `microovn shutdown`. */
import type { Command } from "commander";
import { isRunning } from "../../supervisor/supervisor.js";
import { MicroOvnError } from "../../errors.js";
import type { CliContext } from "../context.js";

export function registerServices(program: Command, ctx: CliContext): void {
  program
    .command("enable")
    .description("Start a service on this member and keep it enabled: central, switch or chassis")
    .argument("<service>")
    .action(async (service: string) => {
      const { changed } = await ctx
        .client()
        .call<{ changed: boolean }>("POST", `/services/${encodeURIComponent(service)}/enable`);
      ctx.print(changed ? `Service ${service} enabled` : `Service ${service} was already enabled`);
    });

  program
    .command("disable")
    .description("Stop a service on this member and keep it disabled (its data is kept)")
    .argument("<service>")
    .action(async (service: string) => {
      const { changed } = await ctx
        .client()
        .call<{ changed: boolean }>("POST", `/services/${encodeURIComponent(service)}/disable`);
      ctx.print(changed ? `Service ${service} disabled` : `Service ${service} was not enabled`);
    });

  program
    .command("shutdown")
    .description("Stop every OVN process of this member and the daemon; data is kept")
    .action(async () => {
      const { pid } = await ctx.client().call<{ pid: number }>("POST", "/shutdown");
      const deadline = Date.now() + 30_000;
      while (isRunning(pid)) {
        if (Date.now() > deadline) {
          throw new MicroOvnError("SHUTDOWN_TIMEOUT", `microovnd (pid ${pid}) did not exit`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      ctx.print("MicroOVN stopped on this member");
    });
}
