/**
 * Stopping this member's services: on `disable`, on `shutdown`, and when a
 * bootstrap fails half way. Data stays on disk.
 */
import { rm } from "node:fs/promises";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { OPENSTACK_API_PROCESS } from "../openstack/service.js";
import { restoreUnderlay } from "./underlay.js";

/**
 * Stops ovn-controller and gives the underlay interface its addresses back
 * (br-phy vanishes with vswitchd, and the machine must stay reachable); a
 * chassis that goes for good (`unregister`) deletes br-phy as well.
 */
export async function stopChassis(
  rt: MemberRuntime,
  options: { unregister: boolean },
): Promise<void> {
  await rt.supervisor.stop(
    "ovn-controller",
    // `exit` makes ovn-controller delete its Chassis row; a plain SIGTERM keeps it.
    options.unregister ? { ask: (pid) => rt.chassis.exitAndUnregister(pid) } : {},
  );
  await restoreUnderlay(rt, { deleteBridge: options.unregister });
}

export async function stopSwitch(rt: MemberRuntime): Promise<void> {
  await rt.supervisor.stop("ovs-vswitchd", { ask: () => rt.vswitch.exitWithCleanup() });
  await rt.supervisor.stop("ovsdb-server-switch");
}

export async function stopCentral(rt: MemberRuntime): Promise<void> {
  await rt.supervisor.stop("ovn-northd");
  await Promise.all([rt.supervisor.stop("ovsdb-server-sb"), rt.supervisor.stop("ovsdb-server-nb")]);
}

export async function stopOpenstackApi(rt: MemberRuntime): Promise<void> {
  await rt.supervisor.stop(OPENSTACK_API_PROCESS);
}

/** Everything, in the order that leaves nothing behind: the API that faces clients first. */
export async function stopEverything(rt: MemberRuntime): Promise<void> {
  await stopOpenstackApi(rt);
  await stopChassis(rt, { unregister: false });
  await stopSwitch(rt);
  await stopCentral(rt);
  await rt.supervisor.stop("ovsdb-server-state");
  await rt.supervisor.stopAll();
}

/**
 * Undoes a bootstrap or join that failed half way: stops what it started
 * and removes what it wrote (logs stay), so the command can be run again.
 */
export async function undoNewMember(rt: MemberRuntime): Promise<void> {
  await stopEverything(rt).catch(() => undefined);
  rt.config = undefined;
  rt.layout = { members: [] };
  await rm(rt.state.dataDir, { recursive: true, force: true });
  await rm(rt.state.runDir, { recursive: true, force: true });
}
