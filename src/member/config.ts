/**
 * What this member is: its name and address, the services it runs, and its
 * chassis settings. Kept in DIR/data/member.json, written atomically, so a
 * daemon that starts again knows what to bring back. Its existence is what
 * "bootstrapped" means.
 */
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { MicroOvnError } from "../errors.js";
import { addressProblem, canonicalAddress } from "../util/address.js";
import { writeAtomically } from "../util/fs.js";

/** What to do on a machine that is not a member (yet, or any more). */
export const NOT_A_MEMBER_HINT =
  "`microovn cluster join TOKEN` makes it a member (`microovn cluster add NAME` on a member " +
  "prints the token), `microovn cluster bootstrap` starts a new cluster, and `microovn init` " +
  "asks which";

/** The services a new member chooses among (bootstrap, join, init); all of them by default. */
export const SETUP_SERVICES = ["central", "switch", "chassis"] as const;
/** Services that run only where `microovn enable` starts them. */
export const OPTIONAL_SERVICES = ["openstack-api"] as const;
export const SERVICES = [...SETUP_SERVICES, ...OPTIONAL_SERVICES] as const;
export type ServiceName = (typeof SERVICES)[number];
export type SetupServiceName = (typeof SETUP_SERVICES)[number];

export function isServiceName(name: string): name is ServiceName {
  return (SERVICES as readonly string[]).includes(name);
}

export function isSetupService(name: string): name is SetupServiceName {
  return (SETUP_SERVICES as readonly string[]).includes(name);
}

/** What to do about `name` on a set-up list, when it is a service only `enable` starts. */
function optionalServiceHint(name: string): string {
  return `${name} is not started at set-up; once the member runs, \`microovn enable ${name}\` starts it`;
}

/** Why a set-up list may not name `name`, or undefined when it may. */
export function setupServiceProblem(name: string): string | undefined {
  if (isSetupService(name)) return undefined;
  return isServiceName(name) ? optionalServiceHint(name) : `"${name}" is not a service`;
}

/**
 * A list of set-up service names (e.g. from `--services a,b`), each one
 * named if it is not one.
 */
export function parseServiceList(names: readonly unknown[]): SetupServiceName[] {
  const unknown = names.filter((n) => typeof n !== "string" || !isServiceName(n));
  const optional = names.filter(
    (n): n is string => typeof n === "string" && isServiceName(n) && !isSetupService(n),
  );
  if (unknown.length > 0 || optional.length > 0 || names.length === 0) {
    const problems = [
      ...(unknown.length > 0
        ? [
            `${unknown.map((n) => JSON.stringify(n)).join(", ")} ${unknown.length === 1 ? "is not a service" : "are not services"}`,
          ]
        : []),
      ...optional.map(optionalServiceHint),
    ];
    throw new MicroOvnError(
      "UNKNOWN_SERVICE",
      (problems.length > 0 ? problems.join("; ") : "no service given") +
        `; choose from ${SETUP_SERVICES.join(", ")}`,
    );
  }
  return [...new Set(names as SetupServiceName[])];
}

/** Per-chassis OVN settings (Open_vSwitch external_ids). */
export interface ChassisSettings {
  /** ovn-bridge-mappings: physical network name → bridge. */
  bridgeMappings: Record<string, string>;
  /** ovn-cms-options=enable-chassis-as-gw. */
  gateway: boolean;
  /** ovn-cms-options availability-zones=az1:az2: the cloud's zones this chassis is in. */
  availabilityZones?: string[];
  /** ovn-encap-ip when it is not the member address (nor the underlay's). */
  encapIp?: string;
  /**
   * On the userspace datapath: the interface whose addresses and routes
   * live on the OVS bridge br-phy, and the address of them that carries
   * Geneve unless encapIp says otherwise.
   */
  underlay?: UnderlaySetting;
}

export interface UnderlaySetting {
  interface: string;
  address: string;
  /** The interface's kernel settings before it became a port, given back on unset. */
  kernelSettings?: Record<string, string>;
}

/** The Geneve tunnel endpoint: encap-ip, else the underlay's address, else the member address. */
export function encapsulationIp(settings: ChassisSettings, memberAddress: string): string {
  return settings.encapIp ?? settings.underlay?.address ?? memberAddress;
}

export interface MemberConfig {
  name: string;
  address: string;
  services: ServiceName[];
  chassis: ChassisSettings;
  /** When `cluster bootstrap` made this member, ISO 8601. */
  createdAt: string;
}

export function defaultChassisSettings(): ChassisSettings {
  return { bridgeMappings: {}, gateway: false };
}

/** Member names become chassis names and DNS names in certificates. */
export function checkMemberName(name: string): string {
  if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,61}[A-Za-z0-9])?$/.test(name)) {
    throw new MicroOvnError(
      "BAD_MEMBER_NAME",
      `"${name}" is not a valid member name: use 1-63 letters, digits, dots and dashes, ` +
        `starting and ending with a letter or digit`,
    );
  }
  return name;
}

/** An address other machines reach this one at, canonical (util/address.ts); BAD_ADDRESS if not. */
export function checkAddress(address: string, what = "address"): string {
  const problem = addressProblem(address);
  if (problem !== undefined) {
    throw new MicroOvnError("BAD_ADDRESS", `${problem}; give the ${what} as IPv4 or IPv6`);
  }
  return canonicalAddress(address);
}

/** ovn-controller's own bridge: OVN writes its flows, nothing else may be mapped onto it. */
export const INTEGRATION_BRIDGE = "br-int";

/**
 * Reads a bridge-mappings string "physnet1:br-ex,physnet2:br-vlan". Names
 * start with a letter or digit (a bridge name is also a Linux interface
 * name: at most 15 characters, never "." or ".."); br-int is refused, since
 * a physical network patched into the integration bridge loops it onto itself.
 */
export function parseBridgeMappings(text: string): Record<string, string> {
  const mappings: Record<string, string> = {};
  for (const item of text.split(",").map((s) => s.trim())) {
    if (item === "") continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*):([A-Za-z0-9][A-Za-z0-9_.-]{0,14})$/.exec(item);
    if (!m?.[1] || !m[2]) {
      throw new MicroOvnError(
        "BAD_BRIDGE_MAPPINGS",
        `"${item}" is not a bridge mapping; write NETWORK:BRIDGE, e.g. physnet1:br-ex ` +
          `(names start with a letter or digit; bridge names have at most 15 characters), ` +
          `several separated by commas`,
      );
    }
    if (m[2] === INTEGRATION_BRIDGE) {
      throw new MicroOvnError(
        "BAD_BRIDGE_MAPPINGS",
        `"${item}" maps a physical network onto ${INTEGRATION_BRIDGE}, the integration bridge ` +
          `ovn-controller owns; map it onto a bridge of its own, e.g. ${m[1]}:br-ex`,
      );
    }
    if (m[1] in mappings) {
      throw new MicroOvnError("BAD_BRIDGE_MAPPINGS", `network "${m[1]}" is mapped twice`);
    }
    mappings[m[1]] = m[2];
  }
  return mappings;
}

/**
 * Reads availability zones "az1:az2" (as ovn-cms-options writes them).
 * A zone name is letters, digits, `_`, `.` and `-`: the option's own
 * separators (`,` `:` `=`) cannot be in one.
 */
export function parseAvailabilityZones(text: string): string[] {
  const zones: string[] = [];
  for (const zone of text.split(":").map((z) => z.trim())) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(zone)) {
      throw new MicroOvnError(
        "BAD_AVAILABILITY_ZONES",
        `"${zone}" is not an availability zone name; give names of letters, digits, _ . - ` +
          "(at most 64 characters each) separated by colons, e.g. az1:az2",
      );
    }
    if (zones.includes(zone)) {
      throw new MicroOvnError("BAD_AVAILABILITY_ZONES", `zone "${zone}" is named twice`);
    }
    zones.push(zone);
  }
  return zones;
}

export function formatBridgeMappings(mappings: Record<string, string>): string {
  return Object.entries(mappings)
    .map(([network, bridge]) => `${network}:${bridge}`)
    .join(",");
}

/** What makes a machine a member, for messages to someone whose machine is not one yet. */
export function notMemberError(): MicroOvnError {
  return new MicroOvnError(
    "NOT_BOOTSTRAPPED",
    `this machine is not a member of a cluster: ${NOT_A_MEMBER_HINT}`,
  );
}

export class MemberConfigFile {
  constructor(readonly path: string) {}

  async read(): Promise<MemberConfig | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      return JSON.parse(text) as MemberConfig;
    } catch (e) {
      throw new MicroOvnError(
        "MEMBER_CONFIG_CORRUPT",
        `${this.path} is not valid JSON (${(e as Error).message}); restore it from a backup ` +
          `or fix it by hand`,
      );
    }
  }

  async write(config: MemberConfig): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await writeAtomically(this.path, JSON.stringify(config, null, 2) + "\n", 0o600);
  }
}
