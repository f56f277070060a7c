/** `microovn config set|get|list|delete KEY`: settings shared by the whole cluster. */
import type { Command } from "commander";
import { CONFIG_KEYS } from "../../cluster/config-keys.js";
import type { CliContext } from "../context.js";
import { printWarnings } from "../format/warnings.js";

export function registerConfig(program: Command, ctx: CliContext): void {
  const keys = Object.entries(CONFIG_KEYS)
    .map(([key, k]) => `  ${key}: ${k.description}`)
    .join("\n");
  const config = program
    .command("config")
    .description("Settings shared by every member of the cluster")
    .addHelpText("after", `\nKeys:\n${keys}`);
  const path = (key: string) => `/config/${encodeURIComponent(key)}`;

  config
    .command("set")
    .description("Set a key for the whole cluster (every member refreshes)")
    .argument("<key>")
    .argument("<value>")
    .action(async (key: string, value: string) => {
      const result = await ctx
        .client()
        .call<{ key: string; value: string; warnings: string[] }>("PUT", path(key), { value });
      ctx.print(`${result.key} set to ${result.value}`);
      printWarnings(result.warnings);
    });

  config
    .command("get")
    .description("Print a key's value")
    .argument("<key>")
    .action(async (key: string) => {
      const { value } = await ctx.client().query<{ value: string }>(path(key));
      ctx.print(value);
    });

  config
    .command("list")
    .description("Every key that is set, with its value")
    .action(async () => {
      const { config: entries } = await ctx
        .client()
        .query<{ config: { key: string; value: string }[] }>("/config");
      const width = Math.max(3, ...entries.map((e) => e.key.length));
      ctx.print(
        [
          `${"KEY".padEnd(width)}  VALUE`,
          ...entries.map((e) => `${e.key.padEnd(width)}  ${e.value}`),
        ].join("\n"),
      );
    });

  config
    .command("delete")
    .description("Unset a key (chassis go back to this cluster's centrals for ovn.central-ips)")
    .argument("<key>")
    .action(async (key: string) => {
      await ctx.client().call("DELETE", path(key));
      ctx.print(`${key} deleted`);
    });
}
