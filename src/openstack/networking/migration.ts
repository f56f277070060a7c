/**
 * Live migration of a port, as Neutron's ML2/OVN driver writes it: while
 * the port's `binding:profile` has `migrating_to` = HOST, its
 * Logical_Switch_Port may be bound on two chassis, options
 * `requested-chassis` = "SOURCE,HOST" (the first is the main chassis, the
 * other an additional one, ovn-nb(5)) and `activation-strategy` = "rarp":
 * ovn-controller on HOST binds the port as soon as the VM manager plugs it
 * there, but lets no packet in or out until the VM sends its first RARP
 * from there (what QEMU does when a migrated VM resumes); then it records
 * HOST in SB's Port_Binding `options:additional-chassis-activated`.
 *
 * The migration ends when the VM has shown up on HOST: HOST holds the
 * binding and either the VM announced itself there (activated) or the
 * source let the port go (its interface was unplugged). Under Neutron, Nova
 * then moves the binding; here the API service sees it in its SB replica
 * and does it (migration-watch.ts). Pure: no I/O.
 */
import type { PortBinding } from "../../ovsdb/models/ovn-southbound.js";
import type { SbReplica } from "../backend.js";
import { ApiError } from "../errors.js";

export const REQUESTED_CHASSIS = "requested-chassis";
export const ACTIVATION_STRATEGY = "activation-strategy";
/** ML2/OVN's default `live_migration_activation_strategy`. */
export const RARP = "rarp";
/** The binding:profile key Nova sets on a port while its VM migrates. */
export const MIGRATING_TO = "migrating_to";
/** Where ovn-controller records the additional chassis that saw the RARP. */
export const ACTIVATED = "additional-chassis-activated";

/** A port's binding options: where it may be bound, and how a migration's destination is activated. */
export function bindingOptions(
  host: string,
  migratingTo: string | undefined,
): Record<string, string> {
  if (!host) return {};
  // As ML2/OVN: without a host, migrating_to has nothing to add to.
  if (!migratingTo) return { [REQUESTED_CHASSIS]: host };
  return { [REQUESTED_CHASSIS]: `${host},${migratingTo}`, [ACTIVATION_STRATEGY]: RARP };
}

/** The option keys bindingOptions owns, taken off a port before it writes them again. */
const BINDING_OPTION_KEYS: ReadonlySet<string> = new Set([REQUESTED_CHASSIS, ACTIVATION_STRATEGY]);

/** A port's options with its binding options made anew (the others kept). */
export function rebound(
  options: ReadonlyMap<string, string>,
  host: string,
  migratingTo: string | undefined,
): Map<string, string> {
  return new Map([
    ...[...options].filter(([k]) => !BINDING_OPTION_KEYS.has(k)),
    ...Object.entries(bindingOptions(host, migratingTo)),
  ]);
}

/** A binding:profile as the port keeps it: JSON, or nothing when empty. */
export function storedProfile(
  profile: Readonly<Record<string, unknown>> | null,
): string | undefined {
  return profile && Object.keys(profile).length > 0 ? JSON.stringify(profile) : undefined;
}

/** The chassis a port is bound to (the main one while it migrates), or "". */
export function boundHost(options: ReadonlyMap<string, string>): string {
  return (options.get(REQUESTED_CHASSIS) ?? "").split(",")[0]!.trim();
}

export interface Migration {
  source: string;
  destination: string;
}

/** The migration NB's options describe, if the port is migrating. */
export function migrationOf(options: ReadonlyMap<string, string>): Migration | undefined {
  const chassis = (options.get(REQUESTED_CHASSIS) ?? "").split(",").map((c) => c.trim());
  if (chassis.length !== 2 || !chassis[0] || !chassis[1]) return undefined;
  return { source: chassis[0], destination: chassis[1] };
}

/** What the service knows of SB's chassis: a chassis by its name or hostname. */
export interface ChassisNames {
  /** The chassis name (system-id) of a row uuid, with its hostname. */
  of(uuid: string | undefined): { name: string; hostname: string } | undefined;
  /** Whether a chassis has this name or hostname. */
  has(nameOrHostname: string): boolean;
  /** The hostname of the chassis with this name, if there is one. */
  hostnameOf(name: string): string | undefined;
  /** Every chassis name, for error messages. */
  names(): string[];
}

function invalidProfile(reason: string): ApiError {
  return new ApiError(400, `Invalid input for binding:profile. Reason: ${reason}`, "InvalidInput");
}

/**
 * The destination a request's binding:profile names, checked: a string
 * naming a chassis (by name or hostname, as requested-chassis takes it)
 * other than the port's host; undefined when it names none.
 */
export function checkMigratingTo(
  profile: Readonly<Record<string, unknown>> | null,
  host: string,
  chassis: () => ChassisNames,
): string | undefined {
  if (!profile || !(MIGRATING_TO in profile)) return undefined;
  const target = profile[MIGRATING_TO];
  if (typeof target !== "string") {
    throw invalidProfile(
      `${MIGRATING_TO} must be the name of the chassis the port moves to, as a string, ` +
        `not ${JSON.stringify(target)}.`,
    );
  }
  if (!/^[^\s,]{1,255}$/.test(target)) {
    throw invalidProfile(
      `${MIGRATING_TO} '${target}' is not a chassis name: 1 to 255 characters, no blanks or commas.`,
    );
  }
  if (target === host) {
    throw invalidProfile(
      `the port is bound to ${host} already; ${MIGRATING_TO} names the host it moves to.`,
    );
  }
  const known = chassis();
  if (!known.has(target)) {
    const names = known.names();
    throw invalidProfile(
      `${MIGRATING_TO} '${target}' is neither the name nor the hostname of a chassis ` +
        `(chassis now: ${names.length > 0 ? names.join(", ") : "none"}).`,
    );
  }
  return target;
}

/** A binding:profile without its migration. */
export function withoutMigration(
  profile: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const { [MIGRATING_TO]: _dropped, ...rest } = profile;
  return rest;
}

/** The destination a stored profile names, unchecked (it was checked when written). */
export function storedMigratingTo(profile: Readonly<Record<string, unknown>>): string | undefined {
  const target = profile[MIGRATING_TO];
  return typeof target === "string" && target !== "" ? target : undefined;
}

/**
 * Why the migration is over, or undefined while it is not: the
 * destination holds the port (as its main or an additional chassis) and
 * either activated it (the VM's RARP came from there) or is the only one
 * left (the source's interface was unplugged).
 */
export function migrationEnd(
  migration: Migration,
  binding: Pick<PortBinding, "chassis" | "additional_chassis" | "options"> | undefined,
  chassis: ChassisNames,
): "activated" | "released" | undefined {
  if (!binding) return undefined;
  const is = (uuid: string | undefined, wanted: string) => {
    const c = chassis.of(uuid);
    return c !== undefined && (c.name === wanted || c.hostname === wanted);
  };
  const { source, destination } = migration;
  const main = binding.chassis;
  const holds = is(main, destination) || binding.additional_chassis.some((u) => is(u, destination));
  if (!holds) return undefined;
  // ovn-controller records chassis names; requested-chassis may give a hostname.
  const activated = (binding.options.get(ACTIVATED) ?? "").split(",").map((c) => c.trim());
  if (activated.some((c) => c === destination || chassis.hostnameOf(c) === destination)) {
    return "activated";
  }
  if (!is(main, source) && !binding.additional_chassis.some((u) => is(u, source))) {
    return "released";
  }
  return undefined;
}

/** SB's chassis as the replica has them now. */
export function sbChassis(sb: SbReplica): ChassisNames {
  const table = sb.table("Chassis");
  return {
    of(uuid) {
      const row = uuid === undefined ? undefined : table.get(uuid);
      return row && { name: row.name, hostname: row.hostname };
    },
    has(nameOrHostname) {
      for (const row of table.values()) {
        if (row.name === nameOrHostname || row.hostname === nameOrHostname) return true;
      }
      return false;
    },
    hostnameOf(name) {
      return table.lookup({ name })?.hostname;
    },
    names() {
      return [...table.values()].map((row) => row.name).sort();
    },
  };
}
