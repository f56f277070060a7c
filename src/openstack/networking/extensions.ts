/**
 * `GET /v2.0/extensions[/{alias}]`: the Neutron extensions this server
 * really serves, and no other, because clients decide what to send by
 * them (`openstack port create` asks for `tag-ports-during-bulk-creation`
 * and copes with a 404).
 */
import { ApiError } from "../errors.js";
import type { ResourceRoutes } from "./context.js";

interface Extension {
  alias: string;
  name: string;
  description: string;
}

const UPDATED = "2026-11-29T00:00:00-00:00";

export const EXTENSIONS: readonly Extension[] = [
  {
    alias: "external-net",
    name: "Neutron external network",
    description: "router:external on networks, kept for routers.",
  },
  {
    alias: "provider",
    name: "Provider Network",
    description: "flat, vlan and geneve networks, with a localnet port for physical networks.",
  },
  { alias: "net-mtu", name: "Network MTU", description: "The mtu attribute of networks." },
  {
    alias: "net-mtu-writable",
    name: "Network MTU (writable)",
    description: "Networks' mtu can be changed; DHCP tells the new one.",
  },
  {
    alias: "binding",
    name: "Port Binding",
    description:
      "binding:host_id (OVN's requested-chassis), binding:vif_type, binding:vif_details, binding:vnic_type, binding:profile.",
  },
  {
    alias: "port-security",
    name: "Port Security",
    description: "port_security_enabled on networks and ports.",
  },
  {
    alias: "allowed-address-pairs",
    name: "Allowed Address Pairs",
    description: "More MAC and IP pairs a port may send from.",
  },
  {
    alias: "extra_dhcp_opt",
    name: "Neutron Extra DHCP options",
    description: "DHCP options of a port's own, served by OVN's native DHCP.",
  },
  {
    alias: "standard-attr-tag",
    name: "Tag support for resources with standard attribute",
    description: "Tags on networks, subnets, ports and security groups.",
  },
  {
    alias: "standard-attr-description",
    name: "standard-attr-description",
    description: "A description on every resource.",
  },
  {
    alias: "standard-attr-revisions",
    name: "Resource revision numbers",
    description: "revision_number, bumped on every change.",
  },
  {
    alias: "standard-attr-timestamp",
    name: "Resource timestamps",
    description: "created_at and updated_at on every resource.",
  },
  {
    alias: "project-id",
    name: "project_id field enabled",
    description: "project_id next to tenant_id.",
  },
  {
    alias: "pagination",
    name: "Pagination support",
    description: "limit, marker and page_reverse, with links to the next and previous pages.",
  },
  {
    alias: "sorting",
    name: "Sorting support",
    description: "sort_key and sort_dir on every list.",
  },
  {
    alias: "filter-validation",
    name: "Filter parameters validation",
    description: "A filter on an attribute a resource does not have is refused (400).",
  },
  {
    alias: "security-group",
    name: "security-group",
    description: "Security groups and their rules, as OVN port groups and ACLs.",
  },
  {
    alias: "stateful-security-group",
    name: "Stateful security group",
    description: "Security groups that are stateless (allow-stateless ACLs).",
  },
  {
    alias: "agent",
    name: "agent",
    description: "One ovn-controller agent per chassis (a gateway agent on gateway chassis).",
  },
  {
    alias: "availability_zone",
    name: "Availability Zone",
    description: "Availability zones the chassis name in ovn-cms-options.",
  },
  {
    alias: "network_availability_zone",
    name: "Network Availability Zone",
    description: "availability_zone_hints and availability_zones on networks.",
  },
  {
    alias: "quotas",
    name: "Quota management support",
    description:
      "Per-project limits on networks, subnets, ports, routers, floating IPs, security groups and rules.",
  },
  {
    alias: "quota_details",
    name: "Quota details management support",
    description: "Each quota's limit, use and reservation.",
  },
  {
    alias: "router",
    name: "Neutron L3 Router",
    description:
      "Routers as OVN logical routers, with interfaces by subnet or by port and an external gateway; floating IPs as OVN NAT rows.",
  },
  {
    alias: "ext-gw-mode",
    name: "Neutron L3 Configurable external gateway mode",
    description: "enable_snat in a router's external_gateway_info: SNAT as OVN NAT rows.",
  },
  {
    alias: "extraroute",
    name: "Neutron Extra Route",
    description: "A router's routes, as OVN static routes.",
  },
  {
    alias: "extraroute-atomic",
    name: "Atomically add/remove extra routes",
    description: "add_extraroutes and remove_extraroutes, each one NB transaction.",
  },
  {
    alias: "floating-ip-port-forwarding",
    name: "Floating IP Port Forwarding",
    description:
      "A floating IP's TCP and UDP ports forwarded to VMs' ports, as OVN load balancers.",
  },
];

function shape(e: Extension) {
  return { ...e, updated: UPDATED, links: [] as unknown[] };
}

export const extensionRoutes: ResourceRoutes = (app) => {
  const tags = ["extensions"];
  app.get(
    "/v2.0/extensions",
    { schema: { summary: "List the extensions served", tags } },
    async () => ({
      extensions: EXTENSIONS.map(shape),
    }),
  );
  app.get(
    "/v2.0/extensions/:alias",
    { schema: { summary: "Show an extension", tags } },
    async (request) => {
      const { alias } = request.params as { alias: string };
      const found = EXTENSIONS.find((e) => e.alias === alias);
      if (!found) {
        throw new ApiError(
          404,
          `Extension with alias ${alias} does not exist`,
          "ExtensionNotFound",
        );
      }
      return { extension: shape(found) };
    },
  );
};
