/**
 * `cluster bootstrap`: makes this machine the first member of a new cluster.
 * Checks first (not bootstrapped yet, no leftover data, programs installed,
 * ports free), then creates the CA and this member's certificates, creates
 * NB, SB and the cluster state database as one-member Raft clusters, starts
 * them and the switch side by side (the switch and br-int while the
 * certificates are made), then ovn-controller, and finally records the
 * member (in the state database and in member.json). If any step fails,
 * what it started is stopped and what it wrote is removed, so it can be run
 * again.
 */
import { hostname, networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import { readdir } from "node:fs/promises";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import { addressProblem, canonicalAddress } from "../util/address.js";
import {
  SETUP_SERVICES,
  checkAddress,
  checkMemberName,
  defaultChassisSettings,
  type MemberConfig,
  type ServiceName,
} from "../member/config.js";
import { DEFAULT_CENTRAL_PORTS } from "../ovn/central.js";
import { certificateServices, issueCertificates } from "./certificates.js";
import { checkNoForeignOvs, checkPortsFree, checkPrograms } from "./preflight.js";
import {
  configureChassis,
  startCentral,
  startChassis,
  startStateDb,
  startSwitch,
} from "./start.js";
import { recordMember } from "../membership/member-row.js";
import { STATE_DB_PORTS } from "../cluster/state-db.js";
import { undoNewMember } from "./stop.js";
import { MEMBER_API_PORT } from "../cluster/member-client.js";

export interface BootstrapRequest {
  /** Default: the host name. */
  name?: string;
  /** Default: see defaultAddress. */
  address?: string;
  /** Default: all of them. */
  services?: ServiceName[];
  /** Go ahead although another Open vSwitch/OVN runs here. */
  allowForeignOvs?: boolean;
}

/**
 * The address a member gets when none is given, from `interfaces` (as
 * os.networkInterfaces() gives them): the first IPv4 address that is not
 * loopback; on a machine with IPv6 addresses only, the first IPv6 one that
 * other machines can reach (not loopback, not link-local); else 127.0.0.1.
 */
export function defaultAddress(
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string {
  const all = Object.values(interfaces).flatMap((list) => list ?? []);
  const usable = all.filter((a) => !a.internal && addressProblem(a.address) === undefined);
  const found = usable.find((a) => a.family === "IPv4") ?? usable.find((a) => a.family === "IPv6");
  return found ? canonicalAddress(found.address) : "127.0.0.1";
}

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch {
    return true;
  }
}

/**
 * Everything that must hold before this machine becomes a member (by
 * bootstrap or join): not a member yet, no leftover data, the programs of
 * `services` installed, no other Open vSwitch/OVN here (unless
 * `allowForeignOvs`), and their ports free on `address`.
 */
export async function checkNewMember(
  rt: MemberRuntime,
  address: string,
  services: readonly ServiceName[],
  options: { allowForeignOvs?: boolean } = {},
): Promise<void> {
  if (rt.config) {
    throw new MicroOvnError(
      "ALREADY_BOOTSTRAPPED",
      `this member is already part of a cluster as ${rt.config.name} (${rt.config.address}); ` +
        `nothing was changed. See \`microovn status\``,
    );
  }
  if (!(await isEmptyOrAbsent(rt.state.dataDir))) {
    throw new MicroOvnError(
      "STATE_DIR_NOT_EMPTY",
      `${rt.state.dataDir} holds data from an earlier member but no member record; ` +
        `move it away (or choose another --state-dir), then try again`,
    );
  }
  if (services.includes("chassis") && !services.includes("switch")) {
    throw new MicroOvnError("BAD_SERVICES", "the chassis service needs the switch service");
  }
  await checkPrograms(services);
  if (options.allowForeignOvs !== true) await checkNoForeignOvs();
  if (services.includes("central")) {
    const p = DEFAULT_CENTRAL_PORTS;
    await checkPortsFree(address, [
      { port: p.nb, purpose: "OVN Northbound clients" },
      { port: p.sb, purpose: "OVN Southbound clients" },
      { port: p.nbRaft, purpose: "OVN Northbound Raft" },
      { port: p.sbRaft, purpose: "OVN Southbound Raft" },
    ]);
  }
  await checkPortsFree(address, [
    { port: STATE_DB_PORTS.client, purpose: "cluster state database clients" },
    { port: STATE_DB_PORTS.raft, purpose: "cluster state database Raft" },
    { port: MEMBER_API_PORT, purpose: "member API" },
  ]);
}

export async function bootstrap(
  rt: MemberRuntime,
  request: BootstrapRequest = {},
): Promise<MemberConfig> {
  const name = checkMemberName(request.name ?? hostname());
  const address = checkAddress(request.address ?? defaultAddress());
  const services = request.services ?? [...SETUP_SERVICES];
  await checkNewMember(rt, address, services, { allowForeignOvs: request.allowForeignOvs });

  const config: MemberConfig = {
    name,
    address,
    services,
    chassis: defaultChassisSettings(),
    createdAt: new Date().toISOString(),
  };
  rt.config = config;
  rt.layout = { members: [{ name, address, role: "voter", services: [...services] }] };
  try {
    // The switch needs no certificate: it starts while they are made.
    const certificates = (async () => {
      const { createCa } = await import("../pki/x509.js");
      await rt.pki.writeCa(await createCa());
      await issueCertificates(rt, certificateServices(services));
    })();
    const steps = await Promise.allSettled([
      certificates.then(() =>
        Promise.all([
          startStateDb(rt),
          services.includes("central") ? startCentral(rt) : undefined,
        ]),
      ),
      services.includes("switch")
        ? startSwitch(rt).then(async () => {
            if (!services.includes("chassis")) return;
            await configureChassis(rt);
            await rt.chassis.waitForIntegrationBridge();
          })
        : undefined,
    ]);
    for (const step of steps) if (step.status === "rejected") throw step.reason;
    if (services.includes("chassis")) await startChassis(rt);
    await recordMember(rt);
    await rt.save(config);
    return config;
  } catch (e) {
    await undoNewMember(rt);
    throw e;
  }
}
