/**
 * Per-chassis OVN settings (bridge mappings, gateway capability, availability
 * zones, a custom encapsulation IP, the underlay interface), kept in the member record and
 * written into conf.db; ovn-controller follows them without a restart.
 * A value that cannot work is refused before anything changes.
 */
import { recordMember } from "../membership/member-row.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import {
  checkAddress,
  parseAvailabilityZones,
  parseBridgeMappings,
  type ChassisSettings,
} from "../member/config.js";
import { isLocalAddress } from "../ovn/underlay.js";
import { configureChassis } from "./start.js";
import { applyUnderlay, checkUnderlay, restoreUnderlay } from "./underlay.js";

/** What `chassis set` accepts; a value of null clears a setting. */
export interface ChassisSettingsChange {
  bridgeMappings?: string | null;
  gateway?: boolean | null;
  encapIp?: string | null;
  underlayInterface?: string | null;
  availabilityZones?: string | null;
}

export const CHASSIS_CHANGE_KEYS = [
  "bridgeMappings",
  "gateway",
  "encapIp",
  "underlayInterface",
  "availabilityZones",
] as const;

/** The pure part: every setting but the underlay interface, which needs the machine. */
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
  if (change.availabilityZones !== undefined) {
    if (change.availabilityZones !== null && typeof change.availabilityZones !== "string") {
      throw new MicroOvnError(
        "BAD_AVAILABILITY_ZONES",
        'availability zones are a string such as "az1:az2"',
      );
    }
    if (change.availabilityZones === null) delete next.availabilityZones;
    else next.availabilityZones = parseAvailabilityZones(change.availabilityZones);
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

/** Refuses an encapsulation IP this machine does not have: no tunnel could reach it. */
async function checkEncapIpLocal(encapIp: string): Promise<void> {
  if (!(await isLocalAddress(encapIp))) {
    throw new MicroOvnError(
      "ADDRESS_NOT_LOCAL",
      `${encapIp} is not an address of this machine, so no tunnel could reach it; give one ` +
        "it has (see `ip address`); nothing was changed",
    );
  }
}

export async function updateChassisSettings(
  rt: MemberRuntime,
  change: ChassisSettingsChange,
): Promise<ChassisSettings> {
  const config = rt.requireConfig();
  const settings = applyChassisChange(config.chassis, change);
  // The underlay's addresses are this machine's too (on the interface or on br-phy).
  if (typeof change.encapIp === "string") await checkEncapIpLocal(change.encapIp);
  const underlayChange = change.underlayInterface;
  if (underlayChange === null) {
    await restoreUnderlay(rt, { deleteBridge: true });
    delete settings.underlay;
  } else if (underlayChange !== undefined) {
    settings.underlay = await checkUnderlay(rt, underlayChange);
  }
  const previous = config;
  rt.config = { ...config, chassis: settings };
  try {
    if (config.services.includes("chassis")) {
      await applyUnderlay(rt);
      await configureChassis(rt);
    }
  } catch (e) {
    // A new underlay that failed half way gives the interface its addresses back.
    if (underlayChange && !previous.chassis.underlay) {
      await restoreUnderlay(rt, { deleteBridge: true }).catch(() => undefined);
    }
    rt.config = previous;
    // An unset that failed puts the addresses back on br-phy, as they were.
    if (
      underlayChange === null &&
      previous.chassis.underlay &&
      config.services.includes("chassis")
    ) {
      await applyUnderlay(rt).catch(() => undefined);
    }
    throw e;
  }
  await rt.save({ ...config, chassis: settings });
  await recordMember(rt);
  return settings;
}
