/** `microovn cluster bootstrap|add|join|list|remove|recover`. */
import type { Command } from "commander";
import { MicroOvnError } from "../../errors.js";
import { parseServiceList, type MemberConfig } from "../../member/config.js";
import { printWarnings } from "../format/warnings.js";
import { ALLOW_FOREIGN_OVS_HELP, asNewMember } from "../new-member.js";
import type { CliContext } from "../context.js";
import { formatMembers, listedMember, type MemberRow } from "../format/members.js";
import { addListCommand } from "../format/table.js";
import { describeRecovery, describeRecoveryPlan } from "../format/recovery.js";
import type { RecoveryPlan, RecoveryResult } from "../../lifecycle/recover.js";

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
    .option("--allow-foreign-ovs", ALLOW_FOREIGN_OVS_HELP)
    .action(
      async (options: {
        name?: string;
        address?: string;
        services?: string;
        allowForeignOvs?: boolean;
      }) => {
        const body: Record<string, unknown> = {};
        if (options.name !== undefined) body.name = options.name;
        if (options.address !== undefined) body.address = options.address;
        if (options.services !== undefined) {
          body.services = parseServiceList(options.services.split(",").map((s) => s.trim()));
        }
        if (options.allowForeignOvs === true) body.allowForeignOvs = true;
        const client = ctx.client();
        const { member } = await asNewMember(client, () =>
          client.call<{ member: MemberConfig }>("POST", "/cluster/bootstrap", body),
        );
        ctx.print(
          `Bootstrapped ${member.name} (${member.address}); services: ${member.services.join(", ")}`,
        );
      },
    );

  cluster
    .command("add")
    .description("Make a single-use join token for a new member (printed alone on its line)")
    .argument("<name>", "the new member's name")
    .option("--timeout <duration>", "how long the token is valid: seconds, or e.g. 30m, 3h", "3h")
    .action(async (name: string, options: { timeout: string }) => {
      const { token, expiresAt } = await ctx
        .client()
        .call<{ token: string; expiresAt: string }>("POST", "/cluster/add", {
          name,
          timeout: options.timeout,
        });
      ctx.print(token);
      process.stderr.write(`(valid for ${name} until ${expiresAt})\n`);
    });

  cluster
    .command("join")
    .description("Join the cluster that issued TOKEN")
    .argument("<token>", "what `microovn cluster add NAME` printed on a member")
    .option("--name <name>", "this member's name (must be the token's; default: the token's)")
    .option("--address <ip>", "address other members reach this one at")
    .option("--allow-foreign-ovs", ALLOW_FOREIGN_OVS_HELP)
    .action(
      async (
        token: string,
        options: { name?: string; address?: string; allowForeignOvs?: boolean },
      ) => {
        const client = ctx.client();
        const { member, layout } = await asNewMember(client, () =>
          client.call<{
            member: MemberConfig;
            layout: { members: { name: string }[] };
          }>("POST", "/cluster/join", { token, ...options }),
        );
        ctx.print(
          `Joined the cluster as ${member.name} (${member.address}); services: ` +
            `${member.services.join(", ")}; members: ${layout.members.map((m) => m.name).join(", ")}`,
        );
      },
    );

  addListCommand(
    cluster,
    "List the members: name, address, role, certificate fingerprint, status",
    async () =>
      (await ctx.client().query<{ members: MemberRow[] }>("/cluster/members")).members.map(
        listedMember,
      ),
    formatMembers,
  );

  cluster
    .command("remove")
    .description("Remove a member: it leaves every Raft cluster and keeps a backup of its data")
    .argument("<name>", "the member to remove")
    .option("--force", "remove a member that is down (kick it from the Raft clusters)")
    .action(async (name: string, options: { force?: boolean }) => {
      const result = await ctx.client().call<{
        backup?: string;
        kicked?: string[];
        warnings: string[];
      }>("POST", `/cluster/members/${encodeURIComponent(name)}/remove`, {
        force: options.force === true,
      });
      ctx.print(
        result.backup
          ? `Removed ${name}; its data, logs and keys are in ${result.backup} on ${name}`
          : `Removed ${name}` +
              (result.kicked?.length ? ` (kicked from ${result.kicked.join(", ")})` : ""),
      );
      printWarnings(result.warnings);
    });

  cluster
    .command("recover")
    .description(
      "After losing the majority of the database members for good: make this member the only " +
        "database member of a new cluster, keeping every row and the spares that still answer",
    )
    .option("--yes", "do not ask for confirmation (for scripts)")
    .action(async (options: { yes?: boolean }) => {
      const client = ctx.client();
      // Asked first without confirming: a refusal comes before any question.
      const plan = await client.call<RecoveryPlan>("POST", "/cluster/recover", {});
      if (options.yes !== true) await confirmRecovery(plan);
      const result = await client.call<RecoveryResult>("POST", "/cluster/recover", {
        confirmed: true,
      });
      ctx.print(describeRecovery(result));
    });
}

async function confirmRecovery(plan: RecoveryPlan): Promise<void> {
  if (process.stdin.isTTY !== true) {
    throw new MicroOvnError(
      "CONFIRMATION_REQUIRED",
      "cluster recover cannot be undone and asks for confirmation on a terminal; " +
        "run it on one, or add --yes. Nothing was changed",
    );
  }
  const { Prompter } = await import("../prompts.js");
  const prompter = new Prompter(process.stdin, process.stderr);
  try {
    prompter.say(describeRecoveryPlan(plan));
    const answer = await prompter.line("This cannot be undone. Type yes to go on:");
    if (answer !== "yes") {
      throw new MicroOvnError(
        "NOT_CONFIRMED",
        `recovery not confirmed ("${answer}"); nothing was changed`,
      );
    }
  } finally {
    prompter.close();
  }
}
