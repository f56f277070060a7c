/** `microovn enable SERVICE`, `microovn disable SERVICE`, `microovn shutdown`. */
import type { Command } from "commander";
import { isRunning, readPidFiles, waitForExit } from "../../supervisor/supervisor.js";
import { MicroOvnError } from "../../errors.js";
import type { IdentityBootstrap } from "../../identity/store.js";
import type { CliContext } from "../context.js";
import { printWarnings } from "../format/warnings.js";

/** Whether a process named in one of the member's pidfiles still runs. */
async function anyRunning(runDir: string): Promise<boolean> {
  return Object.values(await readPidFiles(runDir)).some(isRunning);
}

/** What the cluster's first `enable openstack-api` created: the one time its password shows. */
function printAdministrator(ctx: CliContext, admin: IdentityBootstrap): void {
  ctx.print(
    `Created the ${admin.project} project and the ${admin.user} user with the ${admin.role} role ` +
      `on it. The ${admin.user} user's password, shown only this once (store it now):`,
  );
  ctx.print(admin.password);
  ctx.print(`Change it with \`microovn user set-password ${admin.user} --password-stdin\`.`);
}

export function registerServices(program: Command, ctx: CliContext): void {
  const change = async (
    action: "enable" | "disable",
    service: string,
    options: { node?: string; allowDisableLastCentral?: boolean },
  ) => {
    const result = await ctx.client().call<{
      changed: boolean;
      node: string;
      warnings: string[];
      administrator?: IdentityBootstrap;
    }>("POST", `/services/${encodeURIComponent(service)}/${action}`, {
      ...(options.node !== undefined ? { node: options.node } : {}),
      allowDisableLastCentral: options.allowDisableLastCentral === true,
    });
    const where = options.node !== undefined ? ` on ${result.node}` : "";
    ctx.print(
      result.changed
        ? `Service ${service} ${action}d${where}`
        : `Service ${service} was ${action === "enable" ? "already enabled" : "not enabled"}${where}`,
    );
    printWarnings(result.warnings);
    if (result.administrator) printAdministrator(ctx, result.administrator);
  };

  program
    .command("enable")
    .description(
      "Start a service on a member and keep it enabled: central, switch, chassis or openstack-api",
    )
    .argument("<service>")
    .option("--node <name>", "the member to change (default: this one)")
    .action((service: string, options: { node?: string }) => change("enable", service, options));

  program
    .command("disable")
    .description("Stop a service on a member and keep it disabled")
    .argument("<service>")
    .option("--node <name>", "the member to change (default: this one)")
    .option(
      "--allow-disable-last-central",
      "stop central even on the last member running it (the OVN databases go down; data kept)",
    )
    .action((service: string, options: { node?: string; allowDisableLastCentral?: boolean }) =>
      change("disable", service, options),
    );

  program
    .command("shutdown")
    .description("Stop every OVN process of this member and the daemon; data is kept")
    .action(async () => {
      const client = ctx.client();
      // Nothing of this member runs: nothing to start only to stop it again.
      if (!(await client.isUp()) && !(await anyRunning(ctx.state.runDir))) {
        ctx.print("MicroOVN is already stopped on this member");
        return;
      }
      const { pid } = await client.call<{ pid: number }>("POST", "/shutdown");
      if (!(await waitForExit(pid, 30_000))) {
        throw new MicroOvnError(
          "SHUTDOWN_TIMEOUT",
          `microovnd (pid ${pid}) did not exit within 30 s; see its log, ` +
            `then stop it with \`kill ${pid}\``,
        );
      }
      ctx.print("MicroOVN stopped on this member");
    });
}
