/**
 * The cluster as the dashboard shows it: every member from the state
 * database (role, ONLINE/OFFLINE or an upgrade status, services, versions),
 * with what each member reports about itself (processes, Raft roles,
 * certificates; see member-snapshot.ts), and the upgrade state. A member
 * that does not answer keeps its row, marked unreachable.
 */
import { callMember } from "../cluster/member-client.js";
import { describeMembers } from "../cluster/members.js";
import type { ClusterWatcher } from "../membership/watcher.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MEMBER_SNAPSHOT_PATH, memberSnapshot } from "./member-snapshot.js";
import type { ClusterView, MemberEntry, MemberSnapshot } from "./view-types.js";

/** A slow member must not hold up the view of the others. */
const SNAPSHOT_TIMEOUT_MS = 2_500;

export async function gatherClusterView(
  rt: MemberRuntime,
  watcher: ClusterWatcher,
): Promise<ClusterView> {
  const self = rt.requireConfig().name;
  const rows = watcher.knownMembers();
  if (!rows) {
    return {
      self,
      members: [],
      upgrade: { pending: [] },
      problem: "the cluster state database has not answered this member yet",
    };
  }
  const schema = watcher.activeSchemaVersion;
  const views = describeMembers(rows, Date.now(), schema);
  const members = await Promise.all(
    views.map(async (m): Promise<MemberEntry> => {
      const row = rows.find((r) => r.name === m.name);
      const entry: MemberEntry = {
        name: m.name,
        address: m.address,
        role: m.role,
        status: m.status,
        services: m.services,
        versions: Object.fromEntries(row?.versions ?? []),
      };
      try {
        entry.snapshot =
          m.name === self
            ? await memberSnapshot(rt)
            : await callMember<MemberSnapshot>(
                m.address,
                "GET",
                MEMBER_SNAPSHOT_PATH,
                undefined,
                { pki: rt.pki },
                SNAPSHOT_TIMEOUT_MS,
              );
      } catch (e) {
        entry.unreachable = (e as Error).message;
      }
      return entry;
    }),
  );
  return {
    self,
    members,
    upgrade: {
      ...(schema !== undefined ? { stateSchema: schema } : {}),
      pending: views
        .filter((m) => m.status !== "ONLINE" && m.status !== "OFFLINE")
        .map((m) => ({ name: m.name, status: m.status })),
    },
  };
}
