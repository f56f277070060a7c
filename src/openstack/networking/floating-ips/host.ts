/**
 * Where a VM's port is, as the service can tell from its replicas: the
 * chassis SB shows it bound to, or else the one its binding asks for
 * (requested-chassis, by name or hostname), so a floating IP associated
 * before the VM starts is already placed right.
 */
import type { LogicalSwitchPort } from "../../../ovsdb/models/ovn-northbound.js";
import type { SbReplica } from "../../backend.js";
import type { ChassisOptionsRow } from "../agents/chassis-options.js";
import { boundHost } from "../migration.js";

/** The chassis hosting a port, with the options it reports. */
export type HostLookup = (lsp: LogicalSwitchPort) => ChassisOptionsRow | undefined;

export function sbHostLookup(sb: SbReplica): HostLookup {
  return (lsp) => {
    const chassis = sb.table("Chassis");
    const bound = sb.table("Port_Binding").lookup({ logical_port: lsp.name })?.chassis;
    const row = bound === undefined ? undefined : chassis.get(bound);
    if (row) return row;
    const requested = boundHost(lsp.options);
    if (!requested) return undefined;
    for (const c of chassis.values()) {
      if (c.name === requested || c.hostname === requested) return c;
    }
    return undefined;
  };
}
