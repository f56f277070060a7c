/**
 * `microovn chassis show|set KEY VALUE|unset KEY`: this member's OVN chassis
 * settings (bridge-mappings, gateway, availability-zones, encap-ip,
 * underlay-interface), kept across restarts.
 */
import type { Command } from "commander";
import { MicroOvnError } from "../../errors.js";
import { formatBridgeMappings, type ChassisSettings } from "../../member/config.js";
import { UNDERLAY_BRIDGE } from "../../ovn/underlay.js";
import type { CliContext } from "../context.js";

const KEYS = {
  "bridge-mappings": "bridgeMappings",
  gateway: "gateway",
  "availability-zones": "availabilityZones",
  "encap-ip": "encapIp",
  "underlay-interface": "underlayInterface",
} as const;

type Key = keyof typeof KEYS;

function checkKey(key: string): Key {
  if (!Object.hasOwn(KEYS, key)) {
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
  const { underlay } = settings;
  const defaultEncap = underlay ? `(${underlay.address}, the underlay's)` : "(member address)";
  return [
    `bridge-mappings: ${formatBridgeMappings(settings.bridgeMappings) || "(none)"}`,
    `gateway: ${settings.gateway}`,
    `availability-zones: ${settings.availabilityZones?.join(":") || "(none)"}`,
    `encap-ip: ${settings.encapIp ?? defaultEncap}`,
    `underlay-interface: ${underlay ? `${underlay.interface} (its addresses on ${UNDERLAY_BRIDGE})` : "(none)"}`,
  ].join("\n");
}

export function registerChassis(program: Command, ctx: CliContext): void {
  const chassis = program
    .command("chassis")
    .description(
      "This member's chassis settings: bridge-mappings, gateway, availability-zones, encap-ip, " +
        "underlay-interface",
    );
  chassis
    .command("show")
    .description("Show the chassis settings")
    .action(async () => {
      const { settings } = await ctx.client().query<{ settings: ChassisSettings }>("/chassis");
      ctx.print(show(settings));
    });
  chassis
    .command("set")
    .description(
      "Set one: bridge-mappings physnet1:br-ex[,…] | gateway true|false | " +
        "availability-zones az1[:az2…] | encap-ip IP | " +
        "underlay-interface IFACE (userspace datapath: its addresses move onto br-phy)",
    )
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
