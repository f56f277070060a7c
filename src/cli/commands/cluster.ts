/** `microovn cluster bootstrap`. */
import type { Command } from "commander";
import type { MemberConfig } from "../../member/config.js";
import type { CliContext } from "../context.js";

export function registerCluster(program: Command, ctx: CliContext): void {
  const cluster = program.command("cluster").description("Manage the cluster's members");
  cluster
    .command("bootstrap")
    .description("Make this machine the first member of a new cluster")
    .option("--name <name>", "member name (default: the host name)")
    .option("--address <ip>", "address other members and chassis reach this one at")
    .option(
      "--services <list>",
      "comma-separated services to run: central, switch, chassis (default: all)",
    )
    .action(async (options: { name?: string; address?: string; services?: string }) => {
      const body: Record<string, unknown> = {};
      if (options.name !== undefined) body.name = options.name;
      if (options.address !== undefined) body.address = options.address;
      if (options.services !== undefined) {
        body.services = options.services.split(",").map((s) => s.trim());
      }
      const { member } = await ctx
        .client()
        .call<{ member: MemberConfig }>("POST", "/cluster/bootstrap", body);
      ctx.print(
        `Bootstrapped ${member.name} (${member.address}); services: ${member.services.join(", ")}`,
      );
    });
}
