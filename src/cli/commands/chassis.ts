/**
 * `microovn chassis show|set KEY VALUE|unset KEY`: this member's OVN chassis
 * settings (bridge-mappings, gateway, encap-ip), kept across restarts.
 */
import type { Command } from "commander";
import { MicroOvnError } from "../../errors.js";
import { formatBridgeMappings, type ChassisSettings } from "../../member/config.js";
import type { CliContext } from "../context.js";

const KEYS = {
  "bridge-mappings": "bridgeMappings",
  gateway: "gateway",
  "encap-ip": "encapIp",
} as const;

type Key = keyof typeof KEYS;

function checkKey(key: string): Key {
  if (!(key in KEYS)) {
    throw new MicroOvnError(
      "UNKNOWN_SETTING",
      `"${key}" is not a chassis setting; choose one of ${Object.keys(KEYS).join(", ")}`,
    );
  }
  return key as Key;
}

function parseValue(key: Key, value: string): string | boolean {
  if (key !== "gateway") return value;
  if (value === "true" || value === "false") return value === "true";
  throw new MicroOvnError("BAD_GATEWAY", `gateway is true or false, not "${value}"`);
}

function show(settings: ChassisSettings): string {
  return [
    `bridge-mappings: ${formatBridgeMappings(settings.bridgeMappings)}`,
    `gateway: ${settings.gateway}`,
    `encap-ip: ${settings.encapIp ?? "(member address)"}`,
  ].join("\n");
}

export function registerChassis(program: Command, ctx: CliContext): void {
  const chassis = program
    .command("chassis")
    .description("This member's chassis settings: bridge-mappings, gateway, encap-ip");
  chassis
    .command("show")
    .description("Show the chassis settings")
    .action(async () => {
      const { settings } = await ctx.client().query<{ settings: ChassisSettings }>("/chassis");
      ctx.print(show(settings));
    });
  chassis
    .command("set")
    .description("Set one: bridge-mappings physnet1:br-ex[,…] | gateway true|false | encap-ip IP")
    .argument("<key>")
    .argument("<value>")
    .action(async (key: string, value: string) => {
      const k = checkKey(key);
      const { settings } = await ctx
        .client()
        .call<{ settings: ChassisSettings }>("PUT", "/chassis", {
          [KEYS[k]]: parseValue(k, value),
        });
      ctx.print(show(settings));
    });
  chassis
    .command("unset")
    .description("Return a setting to its default")
    .argument("<key>")
    .action(async (key: string) => {
      const k = checkKey(key);
      const { settings } = await ctx
        .client()
        .call<{ settings: ChassisSettings }>("PUT", "/chassis", { [KEYS[k]]: null });
      ctx.print(show(settings));
    });
}
