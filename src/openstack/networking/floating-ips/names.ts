/**
 * How ML2/OVN names and tags what a floating IP becomes in NB, the keys
 * of ours beside them, and Neutron's "Bad floatingip request" error.
 * Pure: no I/O.
 */
import { ApiError } from "../../errors.js";

/** Keys ML2/OVN writes on a floating IP's `dnat_and_snat` NAT row (and on the VM's port). */
export const FIP_KEYS = {
  fipId: "neutron:fip_id",
  fipPortId: "neutron:fip_port_id",
  fipExternalMac: "neutron:fip_external_mac",
  fipNetworkId: "neutron:fip_network_id",
  /** `neutron-<router id>`, the Logical_Router the row is on. */
  routerName: "neutron:router_name",
  /** On the VM's switch port: the floating address it is reached by. */
  portFip: "neutron:port_fip",
} as const;

/** The device_owner of the port that holds a floating IP's address on the external network. */
export const FLOATINGIP_OWNER = "network:floatingip";

/**
 * The project that owns a floating IP, on its port (our key): the port
 * itself belongs to no project, as Neutron makes it, so that only admins
 * see it among the ports.
 */
export const FIP_PROJECT = "microovn:project_id";

export function badFloatingipRequest(message: string): ApiError {
  return new ApiError(400, `Bad floatingip request: ${message}.`, "BadRequest");
}
