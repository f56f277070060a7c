/**
 * Per-chassis OVN settings (bridge mappings, gateway capability, a custom
 * encapsulation IP), kept in the member record and written into conf.db;
 * ovn-controller follows them without a restart.
 */
import { recordMember } from "../cluster/members.js";
import type { MemberRuntime } from "../daemon/runtime.js";
import { MicroOvnError } from "../errors.js";
import { checkAddress, parseBridgeMappings, type ChassisSettings } from "../member/config.js";
import { configureChassis } from "./start.js";

/** What `chassis set` accepts; a value of null clears a setting. */
export interface ChassisSettingsChange {
  bridgeMappings?: string | null;
  gateway?: boolean | null;
  encapIp?: string | null;
}

export function applyChassisChange(
  current: ChassisSettings,
  change: ChassisSettingsChange,
): ChassisSettings {
  const next: ChassisSettings = { ...current, bridgeMappings: { ...current.bridgeMappings } };
  if (change.bridgeMappings !== undefined) {
    if (change.bridgeMappings !== null && typeof change.bridgeMappings !== "string") {
      throw new MicroOvnError(
        "BAD_BRIDGE_MAPPINGS",
        'bridge mappings are a string such as "physnet1:br-ex,physnet2:br-vlan"',
      );
    }
    next.bridgeMappings =
      change.bridgeMappings === null ? {} : parseBridgeMappings(change.bridgeMappings);
  }
  if (change.gateway !== undefined) {
    if (change.gateway !== null && typeof change.gateway !== "boolean") {
      throw new MicroOvnError("BAD_GATEWAY", "gateway must be true or false");
    }
    next.gateway = change.gateway ?? false;
  }
  if (change.encapIp !== undefined) {
    if (change.encapIp !== null && typeof change.encapIp !== "string") {
      throw new MicroOvnError("BAD_ADDRESS", "the encapsulation IP must be a string");
    }
    if (change.encapIp === null) delete next.encapIp;
    else next.encapIp = checkAddress(change.encapIp, "encapsulation IP");
  }
  return next;
}

export async function updateChassisSettings(
  rt: MemberRuntime,
  change: ChassisSettingsChange,
): Promise<ChassisSettings> {
  const config = rt.requireConfig();
  const settings = applyChassisChange(config.chassis, change);
  const previous = config;
  rt.config = { ...config, chassis: settings };
  try {
    if (config.services.includes("chassis")) await configureChassis(rt);
  } catch (e) {
    rt.config = previous;
    throw e;
  }
  await rt.save({ ...config, chassis: settings });
  await recordMember(rt);
  return settings;
}
