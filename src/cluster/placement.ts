/**
 * Where a new member fits (DESIGN §4): the first three members are voters
 * (they hold the cluster state database) and run `central` (NB, SB,
 * northd) unless the cluster uses an external OVN central; every member runs
 * `switch` and `chassis` unless told otherwise. Optional services
 * (openstack-api) are never placed: `enable` starts them.
 */
import { SETUP_SERVICES, type ServiceName } from "../member/config.js";

export const MAX_VOTERS = 3;
export const MAX_CENTRALS = 3;

export type MemberRole = "voter" | "spare";

export interface PlacedMember {
  name: string;
  role: MemberRole;
  services: readonly ServiceName[];
}

export interface Placement {
  role: MemberRole;
  services: ServiceName[];
}

export function placeNewMember(
  existing: readonly PlacedMember[],
  options: { externalCentral?: boolean; services?: readonly ServiceName[] } = {},
): Placement {
  const voters = existing.filter((m) => m.role === "voter").length;
  const centrals = existing.filter((m) => m.services.includes("central")).length;
  const role: MemberRole = voters < MAX_VOTERS ? "voter" : "spare";
  if (options.services) {
    return { role, services: SETUP_SERVICES.filter((s) => options.services!.includes(s)) };
  }
  const central = !options.externalCentral && centrals < MAX_CENTRALS;
  return {
    role,
    services: SETUP_SERVICES.filter((s) => s !== "central" || central),
  };
}

/** Warnings an operator should see about the number of centrals. */
export function centralWarnings(members: readonly PlacedMember[]): string[] {
  const centrals = members.filter((m) => m.services.includes("central")).length;
  const warnings: string[] = [];
  if (centrals > 0 && centrals < 3) {
    warnings.push(
      `only ${centrals} member${centrals === 1 ? "" : "s"} run${centrals === 1 ? "s" : ""} central: ` +
        "the OVN databases survive the loss of a member only with 3 or more",
    );
  }
  if (centrals > 0 && centrals % 2 === 0) {
    warnings.push(
      `${centrals} members run central, an even number: they survive no more failures ` +
        `than ${centrals - 1} would`,
    );
  }
  return warnings;
}
