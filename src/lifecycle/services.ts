/**
 * `enable SERVICE` / `disable SERVICE` on this member (`--node NAME` sends
 * the request to that member, see the routes). The member record changes
 * only once the service has started or stopped; every other member then
 * refreshes (ovn-remote, ovn-northd's lists, Raft peers).
 *
 * Central is the one with data: enabling it makes this member's NB and SB
 * servers join the other centrals' Raft clusters (the data arrives by Raft);
 * disabling it leaves them gracefully and keeps the left files in a backup.
 * That is how central moves from one member to another without losing a row.
 * The last central is only stopped, never left, and only when asked
 * explicitly: its files are the only copy of NB and SB.
 */
import { mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { centrals, type ClusterLayout } from "../cluster/layout.js";
import { checkStateDbRecords, recordMember } from "../membership/member-row.js";
import { centralWarnings } from "../cluster/placement.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import { SERVICES, isServiceName, isSetupService, type ServiceName } from "../member/config.js";
import { leaveCluster, waitForClusterMember } from "../ovn/raft.js";
import type { IdentityBootstrap } from "../identity/store.js";
import { pathExists } from "../util/fs.js";
import { certificateServices, clusterIssued, issueCertificates } from "./certificates.js";
import { bootstrapAdministrator, checkOpenstackApiSchema } from "./identity.js";
import { checkPrograms } from "./preflight.js";
import { startCentral, startChassis, startOpenstackApi, startSwitch } from "./start.js";
import { stopCentral, stopChassis, stopOpenstackApi, stopSwitch } from "./stop.js";

const RAFT_TIMEOUT_MS = 30_000;

export interface ServiceChange {
  changed: boolean;
  /** Whoever made the change (the member that ran it). */
  node: string;
  /** About the cluster after the change, e.g. an even number of centrals. */
  warnings: string[];
  /** What the cluster's first `enable openstack-api` created, its password shown only here. */
  administrator?: IdentityBootstrap;
}

export interface DisableOptions {
  /** Stop central on the last member that runs it (the OVN databases go down). */
  allowDisableLastCentral?: boolean;
}

function checkName(service: string): ServiceName {
  if (!isServiceName(service)) {
    throw new MicroOvnError(
      "UNKNOWN_SERVICE",
      `"${service}" is not a service; choose one of ${SERVICES.join(", ")}`,
    );
  }
  return service;
}

function outcome(rt: MemberRuntime, changed: boolean, service: ServiceName): ServiceChange {
  const warnings = service === "central" && changed ? centralWarnings(rt.layout.members) : [];
  return { changed, node: rt.requireConfig().name, warnings };
}

export async function enableService(rt: MemberRuntime, name: string): Promise<ServiceChange> {
  const result = await startService(rt, name);
  if (name !== "openstack-api") return result;
  // Also when the service ran already: a bootstrap cut short by a fault is finished here.
  let administrator: Awaited<ReturnType<typeof bootstrapAdministrator>>;
  try {
    administrator = await bootstrapAdministrator(rt);
  } catch (e) {
    const error = e instanceof MicroOvnError ? e : undefined;
    throw new MicroOvnError(
      error?.code ?? "ADMIN_NOT_CREATED",
      `openstack-api is enabled and running, but the first administrator was not created: ` +
        `${(e as Error).message}. Fix that, then run \`microovn enable openstack-api\` again ` +
        "(it creates the administrator and changes nothing else)",
    );
  }
  return administrator ? { ...result, administrator } : result;
}

async function startService(rt: MemberRuntime, name: string): Promise<ServiceChange> {
  const service = checkName(name);
  const config = rt.requireConfig();
  if (config.services.includes(service)) return outcome(rt, false, service);
  if (service === "chassis" && !config.services.includes("switch")) {
    throw new MicroOvnError(
      "SERVICE_NEEDS_SWITCH",
      "the chassis service needs the switch service; run `microovn enable switch` first",
    );
  }
  await checkPrograms([service]);
  if (!isSetupService(service)) await checkStateDbRecords(rt, service);
  if (service === "openstack-api") await checkOpenstackApiSchema(rt);
  const services = SERVICES.filter((s) => s === service || config.services.includes(s));
  // An operator's own certificate (openstack-api set-certificate) outlives a disable.
  const missing = (await clusterIssued(rt, certificateServices(services))).filter(
    (c) => !certificateServices(config.services).includes(c),
  );
  if (missing.length > 0) await issueCertificates(rt, missing);
  if (service === "central") {
    await startCentral(rt);
    await waitForCentralRaft(rt);
  }
  if (service === "switch") await startSwitch(rt);
  if (service === "chassis") await startChassis(rt);
  if (service === "openstack-api") await startOpenstackApi(rt);
  await rt.save({ ...config, services });
  await recordMember(rt);
  return outcome(rt, true, service);
}

export async function disableService(
  rt: MemberRuntime,
  name: string,
  options: DisableOptions = {},
): Promise<ServiceChange> {
  const service = checkName(name);
  const config = rt.requireConfig();
  if (!config.services.includes(service)) return outcome(rt, false, service);
  if (service === "switch" && config.services.includes("chassis")) {
    throw new MicroOvnError(
      "SERVICE_IN_USE",
      "the chassis service runs on the switch service; run `microovn disable chassis` first",
    );
  }
  if (service === "central") await disableCentral(rt, options);
  if (service === "switch") await stopSwitch(rt);
  if (service === "chassis") await stopChassis(rt, { unregister: true });
  if (service === "openstack-api") await stopOpenstackApi(rt);
  await rt.save({ ...config, services: config.services.filter((s) => s !== service) });
  await recordMember(rt);
  return outcome(rt, true, service);
}

/** Whether `name` is the only member of `layout` running central. */
function isLastCentral(layout: ClusterLayout, name: string): boolean {
  const running = centrals(layout);
  return running.length === 1 && running[0]!.name === name;
}

async function disableCentral(rt: MemberRuntime, options: DisableOptions): Promise<void> {
  const name = rt.requireConfig().name;
  if (isLastCentral(rt.layout, name)) {
    if (!options.allowDisableLastCentral) {
      throw new MicroOvnError(
        "LAST_CENTRAL",
        `${name} is the last member running central: without it no chassis reaches the OVN ` +
          "databases. Enable central on another member first (`microovn enable central " +
          "--node NAME`), or pass --allow-disable-last-central to stop it anyway (its data is kept)",
      );
    }
    // The only copy of NB and SB: stopped, never left, so enabling it again brings it all back.
    await stopCentral(rt);
    return;
  }
  const central = rt.central();
  await rt.supervisor.stop("ovn-northd");
  await Promise.all(
    (["nb", "sb"] as const).map((db) =>
      leaveCluster(central.controlSocket(db), central.databaseName(db), RAFT_TIMEOUT_MS),
    ),
  );
  await stopCentral(rt);
  // A file that has left its cluster cannot serve again: keep it aside, so
  // that enabling central later joins afresh.
  const backup = join(rt.state.backupDir(), "central");
  await mkdir(backup, { recursive: true, mode: 0o700 });
  for (const db of ["nb", "sb"] as const) {
    const file = central.dbFile(db);
    if (await pathExists(file)) await rename(file, join(backup, file.split("/").pop()!));
  }
}

/**
 * `enable` or `disable` as the control API (here) or the member API (for
 * `--node`) asks for it, logging what changed and the warnings.
 */
export async function changeService(
  rt: MemberRuntime,
  action: "enable" | "disable",
  service: string,
  options: DisableOptions,
  log: (message: string) => void,
): Promise<ServiceChange> {
  const result =
    action === "enable"
      ? await enableService(rt, service)
      : await disableService(rt, service, options);
  if (result.changed) log(`${action}d ${service}`);
  if (result.administrator) log("identity: created the admin project, user and role assignment");
  for (const warning of result.warnings) log(`warning: ${warning}`);
  return result;
}

/** Waits until this member's NB and SB servers are full members of their Raft clusters. */
export async function waitForCentralRaft(rt: MemberRuntime): Promise<void> {
  const central = rt.central();
  await Promise.all(
    (["nb", "sb"] as const).map((db) =>
      waitForClusterMember(central.controlSocket(db), central.databaseName(db), RAFT_TIMEOUT_MS),
    ),
  );
}
