/** `microovn restart [SERVICE|PROGRAM…]`: this member's programs, one by one, onto new binaries. */
import type { Command } from "commander";
import type { RestartedProgram } from "../../lifecycle/restart.js";
import type { CliContext } from "../context.js";

function line(p: RestartedProgram): string {
  const seconds = ((p.finishedAt - p.startedAt) / 1000).toFixed(2);
  return `Restarted ${p.name}: pid ${p.oldPid ?? "?"} → ${p.newPid ?? "?"} (${seconds} s)`;
}

export function registerRestart(program: Command, ctx: CliContext): void {
  program
    .command("restart")
    .description(
      "Restart this member's OVN and OVS programs one at a time, each once the one before is " +
        "healthy, so that newly installed binaries take over with the least data plane loss. " +
        "Names: services (central, switch, chassis) or programs (ovsdb-server-state, " +
        "ovsdb-server-nb, ovsdb-server-sb, ovn-northd, ovsdb-server-switch, ovs-vswitchd, " +
        "ovn-controller); none: all of them",
    )
    .argument("[names...]")
    .option("--json", "print what was restarted as JSON")
    .action(async (names: string[], options: { json?: boolean }) => {
      const { restarted } = await ctx
        .client()
        .call<{ restarted: RestartedProgram[] }>("POST", "/restart", { programs: names });
      if (options.json) ctx.print(JSON.stringify(restarted, null, 2));
      else for (const p of restarted) ctx.print(line(p));
    });
}
