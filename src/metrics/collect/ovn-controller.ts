/**
 * ovn-controller: its SB connection, the integration bridge it programs
 * (flows, patch and Geneve ports, from what the switch collector read) and
 * its chassis settings in conf.db.
 */
import type { MetricSet } from "../metric-set.js";
import { parseVersion } from "../read/parse.js";
import { appctl } from "../../ovn/unixctl.js";
import { setStopwatches } from "./stopwatches.js";
import type { SwitchView } from "./vswitchd.js";

const INTEGRATION_BRIDGE = "br-int";

export async function collectController(
  set: MetricSet,
  controlSocket: string,
  view: SwitchView,
): Promise<void> {
  const [connection, version, stopwatches] = await Promise.all([
    appctl(controlSocket, "connection-status"),
    appctl(controlSocket, "version"),
    appctl(controlSocket, "stopwatch/show"),
  ]);
  if (connection === undefined) return;
  set.gauge(
    "ovn_controller_southbound_database_connected",
    "ovn-controller's connection to SB: 1 connected, 0 not",
    connection.trim() === "connected" ? 1 : 0,
  );
  const brInt = view.bridges.find((b) => b.name === INTEGRATION_BRIDGE);
  const flows = view.flows.get(INTEGRATION_BRIDGE);
  if (flows !== undefined) {
    set.gauge(
      "ovn_controller_integration_bridge_openflow_total",
      "OpenFlow flows on br-int",
      flows,
    );
  }
  if (brInt) {
    const ofType = (type: string) => brInt.ports.filter((p) => p.type === type).length;
    set.gauge(
      "ovn_controller_integration_bridge_patch_ports",
      "Patch ports on br-int",
      ofType("patch"),
    );
    set.gauge(
      "ovn_controller_integration_bridge_geneve_ports",
      "Geneve tunnel ports on br-int",
      ofType("geneve"),
    );
  }
  const encapIp = view.externalIds.get("ovn-encap-ip");
  if (encapIp) {
    for (const ip of encapIp.split(",")) {
      set.info("ovn_controller_encap_ip", "1, labelled with the chassis' tunnel endpoint", {
        ipaddress: ip.trim(),
      });
    }
  }
  for (const mapping of (view.externalIds.get("ovn-bridge-mappings") ?? "").split(",")) {
    const [network, bridge] = mapping.split(":");
    if (network && bridge) {
      set.info(
        "ovn_controller_bridge_mappings",
        "1, labelled with a physical network and its bridge",
        {
          mapping: `${network}:${bridge}`,
        },
      );
    }
  }
  setStopwatches(set, "ovn_controller", stopwatches);
  const built = version === undefined ? undefined : parseVersion(version);
  if (built) {
    set.info("ovn_controller_build_info", "1, labelled with ovn-controller's version", {
      version: built.version,
      ovs_lib_version: built.ovsLibrary ?? "",
    });
  }
}
