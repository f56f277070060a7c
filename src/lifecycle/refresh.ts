/**
 * Refresh on a membership change (a member joined or left, or its role or
 * services changed): this member keeps the new layout, points
 * ovn-controller at every central's SB (ovn-controller follows a changed
 * ovn-remote by itself, without a restart), gives ovn-northd the new NB and
 * SB lists (northd takes them only on its command line, so it is started
 * again; it keeps no state), and reaches the state database through the
 * current voters. ovn-controller itself starts afresh only when the SB
 * cluster it follows is another one: `ovn.central-ips` changed, or
 * `cluster recover` made a new SB cluster (recover.ts).
 */
import type { ClusterLayout } from "../cluster/layout.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { refreshOpenstackApi } from "./openstack-api.js";
import { configureChassis } from "./start.js";

/** Applies `layout`; returns what was refreshed, for the log. */
export async function refresh(rt: MemberRuntime, layout: ClusterLayout): Promise<string[]> {
  const config = rt.config;
  if (!config) return [];
  if (!layout.members.some((m) => m.name === config.name)) {
    // This member was removed; what remains for it is to leave (see remove.ts).
    return [];
  }
  await rt.saveLayout(layout);
  return ["layout", ...(await pointAtDatabases(rt, { restartNorthd: false }))];
}

/**
 * After a Raft leader moved: ovn-remote with the SB leader first (so
 * ovn-controller connects again at once), and a new ovn-northd even if its
 * lists did not change (a new process tries every server without backoff).
 */
export function followLeaders(rt: MemberRuntime): Promise<string[]> {
  return pointAtDatabases(rt, { restartNorthd: true });
}

/**
 * ovn-remote and ovn-northd's lists as the layout and the known leaders say;
 * northd is started again when its lists changed, or always if asked.
 */
async function pointAtDatabases(
  rt: MemberRuntime,
  options: { restartNorthd: boolean },
): Promise<string[]> {
  const config = rt.config;
  if (!config) return [];
  const done: string[] = [];
  if (rt.supervisor.get("ovs-vswitchd") && config.services.includes("chassis")) {
    await configureChassis(rt);
    done.push("ovn-remote");
    // ovn-controller remembers how far it had read its SB cluster's log and
    // takes another cluster for a stale server of the same one: when
    // ovn.central-ips moves it to another cluster, or `cluster recover` made
    // a new one, it starts afresh (its flows stay in ovs-vswitchd meanwhile).
    if (rt.appliedCentral !== rt.sbCluster() && rt.supervisor.get("ovn-controller")) {
      await restartChassis(rt);
      done.push("ovn-controller");
    }
  }
  if (rt.supervisor.get("ovn-northd")) {
    const northd = rt.central().northdSpec(rt.northdRemotes("nb"), rt.northdRemotes("sb"));
    if (options.restartNorthd) await rt.supervisor.stop(northd.name);
    if (await rt.supervisor.replace(northd)) done.push("ovn-northd");
  }
  if (await refreshOpenstackApi(rt)) done.push("openstack-api");
  return done;
}

/**
 * ovn-controller started afresh (its flows stay in ovs-vswitchd meanwhile):
 * for when its SB is another cluster than the one it has read so far.
 */
export async function restartChassis(rt: MemberRuntime): Promise<void> {
  await rt.supervisor.stop("ovn-controller");
  await rt.supervisor.ensure(rt.chassis.spec());
  rt.appliedCentral = rt.sbCluster();
}
