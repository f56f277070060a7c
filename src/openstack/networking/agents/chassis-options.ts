/**
 * What a chassis tells the cloud about itself in SB: ovn-controller copies
 * the Open_vSwitch external_ids `ovn-cms-options`, `ovn-bridge-mappings`
 * and the datapath's capabilities into its Chassis row's other_config
 * (older OVN used external_ids, which ML2/OVN still reads as a fallback, so
 * we do too). Pure: rows in, facts out.
 */

/** The ovn-cms-options item that makes a chassis a gateway, as ML2/OVN reads it. */
export const GATEWAY_OPTION = "enable-chassis-as-gw";
/** `availability-zones=az1:az2` in ovn-cms-options. */
const ZONES_OPTION = "availability-zones";

export interface ChassisOptionsRow {
  other_config: ReadonlyMap<string, string>;
  external_ids: ReadonlyMap<string, string>;
}

/** A chassis option, from other_config or else external_ids. */
export function chassisOption(chassis: ChassisOptionsRow, key: string): string | undefined {
  return chassis.other_config.get(key) ?? chassis.external_ids.get(key);
}

/** The chassis' ovn-cms-options, one item each: "enable-chassis-as-gw", "availability-zones=az1:az2". */
export function cmsOptions(chassis: ChassisOptionsRow): string[] {
  return (chassisOption(chassis, "ovn-cms-options") ?? "")
    .split(",")
    .map((o) => o.trim())
    .filter((o) => o !== "");
}

export function isGatewayChassis(chassis: ChassisOptionsRow): boolean {
  return cmsOptions(chassis).includes(GATEWAY_OPTION);
}

/**
 * The zones a chassis names in `availability-zones=az1:az2`, in order,
 * each once; blank names are dropped, as ML2/OVN does.
 */
export function availabilityZonesOf(chassis: ChassisOptionsRow): string[] {
  const zones: string[] = [];
  for (const option of cmsOptions(chassis)) {
    const [key, value] = option.split("=", 2) as [string, string | undefined];
    if (key.trim() !== ZONES_OPTION || value === undefined) continue;
    for (const zone of value.split(":").map((z) => z.trim())) {
      if (zone !== "" && !zones.includes(zone)) zones.push(zone);
    }
  }
  return zones;
}
