/**
 * The routes of Neutron's floating IPs (part of its `router` extension)
 * and their port forwardings: the collection through the shared machinery, with the chassis of the
 * VMs' ports from the SB replica and the cluster's
 * `openstack-api.distributed-floating-ips` setting.
 */
import { OPENSTACK_API_DISTRIBUTED_FIPS } from "../../../cluster/config-keys.js";
import type { Backend } from "../../backend.js";
import { registerCollection } from "../collection.js";
import type { ResourceRoutes } from "../context.js";
import { nbRows } from "../rows.js";
import { floatingIpsCollection } from "./floating-ips.js";
import { sbHostLookup } from "./host.js";
import { portForwardingRoutes } from "./port-forwardings.js";

/** The setting: distributed floating IPs unless an operator said false. */
export function distributedFloatingIps(backend: Backend): boolean {
  return backend.config(OPENSTACK_API_DISTRIBUTED_FIPS) !== "false";
}

export const floatingIpRoutes: ResourceRoutes = (app, context, baseUrl) => {
  const { backend } = context;
  const fips = floatingIpsCollection(
    nbRows(context),
    (lsp) => sbHostLookup(backend.sbReplica)(lsp),
    () => distributedFloatingIps(backend),
  );
  registerCollection(app, context, baseUrl, fips);
  portForwardingRoutes(fips)(app, context, baseUrl);
};
