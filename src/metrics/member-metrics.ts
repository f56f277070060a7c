/**
 * Everything a member's /metrics shows, read afresh: its database servers,
 * ovn-northd, ovs-vswitchd, ovn-controller and the daemon itself, all at
 * the same time, then the OpenStack API service's own text. The Exporter
 * (exporter.ts) decides when.
 */
import { request } from "node:http";
import type { ClusterWatcher } from "../membership/watcher.js";
import { OPENSTACK_API_METRICS_SOCKET } from "../openstack/metrics.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { collectMember, slowReads, type SlowReads } from "./collect/member.js";
import { collectNorthd } from "./collect/northd.js";
import { collectController } from "./collect/ovn-controller.js";
import { collectClusteredServer } from "./collect/ovsdb-cluster.js";
import { collectVswitchd } from "./collect/vswitchd.js";
import { MetricSet } from "./metric-set.js";

/** The reader of this member's metrics: call it for the page's text. */
export function memberMetrics(rt: MemberRuntime, watcher: ClusterWatcher): () => Promise<string> {
  const slow = slowReads(rt, watcher);
  return () => collect(rt, watcher, slow);
}

async function collect(
  rt: MemberRuntime,
  watcher: ClusterWatcher,
  slow: SlowReads,
): Promise<string> {
  const set = new MetricSet();
  const config = rt.config;
  if (config) {
    const central = rt.central();
    const stateDb = rt.stateDb();
    const controller = rt.supervisor.get("ovn-controller")?.pid;
    const [nbVersion] = await Promise.all([
      collectClusteredServer(set, {
        prefix: "ovn_db",
        dbName: "OVN_Northbound",
        controlSocket: central.controlSocket("nb"),
        dbFile: central.dbFile("nb"),
      }),
      collectClusteredServer(set, {
        prefix: "ovn_db",
        dbName: "OVN_Southbound",
        controlSocket: central.controlSocket("sb"),
        dbFile: central.dbFile("sb"),
      }),
      collectClusteredServer(set, {
        prefix: "microovn_db",
        dbName: "MicroOVN",
        controlSocket: stateDb.controlSocket,
        dbFile: stateDb.dbFile,
      }),
      collectNorthd(set, central.northdControlSocket),
      collectVswitchd(set, rt.vswitch).then((view) =>
        controller === undefined
          ? undefined
          : collectController(set, rt.chassis.controlSocket(controller), view),
      ),
      collectMember(set, rt, watcher, slow),
    ]);
    if (nbVersion !== undefined) {
      const versions = await slow.schemas.read();
      set.info("ovn_db_build_info", "1, labelled with ovsdb-server's and NB/SB's schema versions", {
        version: nbVersion,
        nb_schema_version: versions.OVN_Northbound?.active ?? "",
        sb_schema_version: versions.OVN_Southbound?.active ?? "",
      });
    }
  }
  return (await set.registry.metrics()) + (await openstackApi(rt));
}

/** The OpenStack API service's own metrics, when it runs here (src/openstack/metrics.ts). */
function openstackApi(rt: MemberRuntime): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      {
        socketPath: rt.state.socket(OPENSTACK_API_METRICS_SOCKET),
        path: "/metrics",
        timeout: 2_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve(res.statusCode === 200 ? Buffer.concat(chunks).toString("utf8") : ""),
        );
        res.on("error", () => resolve(""));
      },
    );
    req.on("error", () => resolve(""));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
