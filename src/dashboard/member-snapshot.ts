/**
 * What one member tells the dashboard about itself: its processes (state,
 * restarts), the Raft role of each database server it runs, and its
 * certificates' expiry. Every member answers for itself over the member API,
 * so that the dashboard of any member shows all of them.
 */
import { certificateServices } from "../lifecycle/certificates.js";
import { readClusterStatus } from "../ovn/raft.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import type { MemberSnapshot, RaftSnapshot } from "./view-types.js";

/** The member API path that answers it. */
export const MEMBER_SNAPSHOT_PATH = "/dashboard/member";

async function raftOf(socket: string, database: string): Promise<RaftSnapshot | undefined> {
  const s = await readClusterStatus(socket, database);
  return (
    s && { role: s.role, status: s.status, term: s.term, leader: s.leader, serverId: s.serverId }
  );
}

export async function memberSnapshot(rt: MemberRuntime): Promise<MemberSnapshot> {
  const config = rt.requireConfig();
  const raft: MemberSnapshot["raft"] = {};
  const asks: Promise<void>[] = [];
  if (config.services.includes("central")) {
    const central = rt.central();
    for (const db of ["nb", "sb"] as const) {
      const name = (db === "nb" ? INSTALLED_SCHEMAS.northbound : INSTALLED_SCHEMAS.southbound)
        .database;
      asks.push(raftOf(central.controlSocket(db), name).then((r) => void (r && (raft[db] = r))));
    }
  }
  if (rt.isVoter()) {
    asks.push(
      raftOf(rt.stateDb().controlSocket, STATE_DATABASE).then((r) => void (r && (raft.state = r))),
    );
  }
  const [certificates] = await Promise.all([
    rt.pki.status(certificateServices(config.services)),
    ...asks,
  ]);
  return {
    name: config.name,
    processes: rt.supervisor
      .status()
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((p) => ({
        name: p.name,
        phase: p.phase,
        ...(p.pid !== undefined ? { pid: p.pid } : {}),
        restarts: p.restarts,
        ...(p.lastExit
          ? {
              lastExit: `${p.lastExit.signal ?? `status ${p.lastExit.code}`} at ${p.lastExit.at.toISOString()}`,
            }
          : {}),
      })),
    raft,
    certificates: certificates.map((c) => ({
      name: c.name,
      ...(c.cert.notAfter ? { notAfter: c.cert.notAfter.toISOString() } : {}),
      ...(c.cert.problem
        ? { problem: c.cert.problem }
        : !c.cert.present
          ? { problem: "missing" }
          : {}),
    })),
  };
}
