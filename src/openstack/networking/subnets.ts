/**
 * Subnets → DHCP_Options, one row per subnet as ML2/OVN writes it (`cidr`,
 * external_ids `subnet_id` and `neutron:revision_number`, the options of
 * dhcp.ts). Unlike ML2/OVN, a subnet without DHCP keeps its row, with no
 * options: NB is our only store, and the row is where the subnet's other
 * attributes live (under `microovn:` keys). Ports point at the row only
 * while it has options.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import { isAdmin, type Caller } from "../auth/caller.js";
import type { DhcpOptions } from "../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../errors.js";
import {
  MICROOVN,
  NEUTRON,
  changedIds,
  createdIds,
  jsonOf,
  standardAttributes,
  COMMON_ATTRIBUTES,
} from "./attributes.js";
import {
  canonicalIp,
  contains,
  defaultPools,
  firstHost,
  formatIp,
  formatPrefix,
  lastAddress,
  overlaps,
  parseIp,
  parsePrefix,
  type IpVersion,
  type Prefix,
  type Range,
} from "./addresses.js";
import {
  notFound,
  owningProject,
  registerCollection,
  visibleResource,
  type Collection,
  type Item,
} from "./collection.js";
import type { ResourceRoutes } from "./context.js";
import { serverMacOf, subnetDhcpOptions, type HostRoute } from "./dhcp.js";
import { networksCollection } from "./networks.js";
import { rewireSubnetPorts, type SubnetDhcpRow } from "./port-dhcp.js";
import type { View } from "./query.js";
import { SUBNET_NETWORK, fixedIpsOf, nbRows, type NbRows } from "./rows.js";
import {
  BooleanLike,
  CREATE_ONLY,
  IntegerLike,
  Text255,
  toBoolean,
  toInteger,
} from "./validation.js";
import { expectSame, type NbTransaction } from "./write.js";

export const SUBNET_KEYS = {
  ipVersion: "microovn:ip_version",
  gatewayIp: "microovn:gateway_ip",
  pools: "microovn:allocation_pools",
  dns: "microovn:dns_nameservers",
  routes: "microovn:host_routes",
  enableDhcp: "microovn:enable_dhcp",
  raMode: "microovn:ipv6_ra_mode",
  addressMode: "microovn:ipv6_address_mode",
} as const;

export const IPV6_MODES = ["slaac", "dhcpv6-stateful", "dhcpv6-stateless"] as const;
/** Neutron's limits (max_dns_nameservers, max_subnet_host_routes). */
const MAX_DNS = 5;
const MAX_ROUTES = 20;

const Pool = Type.Object(
  { start: Type.String(), end: Type.String() },
  { additionalProperties: false },
);
const Route = Type.Object(
  { destination: Type.String(), nexthop: Type.String() },
  { additionalProperties: false },
);
const Mode = Type.Union([Type.String(), Type.Null()]);

/** What an update may change. */
const subnetAttributes = {
  name: Type.Optional(Text255()),
  description: Type.Optional(Text255()),
  gateway_ip: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  allocation_pools: Type.Optional(Type.Array(Pool)),
  dns_nameservers: Type.Optional(Type.Array(Type.String())),
  host_routes: Type.Optional(Type.Array(Route)),
  enable_dhcp: Type.Optional(BooleanLike()),
};

const CreateSubnet = Type.Object(
  {
    network_id: Type.String(),
    cidr: Type.String(),
    ip_version: Type.Optional(IntegerLike()),
    ...subnetAttributes,
    ipv6_ra_mode: Type.Optional(Mode),
    ipv6_address_mode: Type.Optional(Mode),
    subnetpool_id: Type.Optional(Type.Null()),
    service_types: Type.Optional(Type.Array(Type.String(), { maxItems: 0 })),
    ...CREATE_ONLY,
  },
  { additionalProperties: false },
);

const UpdateSubnet = Type.Object(subnetAttributes, { additionalProperties: false });

export const SUBNET_ATTRIBUTES = [
  ...COMMON_ATTRIBUTES,
  "network_id",
  "ip_version",
  "cidr",
  "gateway_ip",
  "allocation_pools",
  "host_routes",
  "dns_nameservers",
  "enable_dhcp",
  "ipv6_ra_mode",
  "ipv6_address_mode",
  "subnetpool_id",
  "service_types",
] as const;

const views = new WeakMap<DhcpOptions, View>();

export function subnetView(row: DhcpOptions): View {
  const cached = views.get(row);
  if (cached) return cached;
  const ids = row.external_ids;
  const project = ids.get(MICROOVN.projectId) ?? "";
  const gateway = ids.get(SUBNET_KEYS.gatewayIp);
  const view: View = {
    id: ids.get(NEUTRON.subnetId) ?? "",
    name: ids.get(MICROOVN.name) ?? "",
    tenant_id: project,
    project_id: project,
    network_id: ids.get(SUBNET_NETWORK) ?? "",
    ip_version: Number(ids.get(SUBNET_KEYS.ipVersion) ?? (row.cidr.includes(":") ? 6 : 4)),
    cidr: row.cidr,
    gateway_ip: gateway ? gateway : null,
    allocation_pools: jsonOf(ids, SUBNET_KEYS.pools, []),
    host_routes: jsonOf(ids, SUBNET_KEYS.routes, []),
    dns_nameservers: jsonOf(ids, SUBNET_KEYS.dns, []),
    enable_dhcp: ids.get(SUBNET_KEYS.enableDhcp) !== "false",
    ipv6_ra_mode: ids.get(SUBNET_KEYS.raMode) || null,
    ipv6_address_mode: ids.get(SUBNET_KEYS.addressMode) || null,
    subnetpool_id: null,
    service_types: [],
    ...standardAttributes(ids),
  };
  views.set(row, view);
  return view;
}

function invalid(attribute: string, reason: string): ApiError {
  return new ApiError(400, `Invalid input for ${attribute}. Reason: ${reason}`, "InvalidInput");
}

/** An address of the subnet's version inside it, or a 400 naming the attribute. */
function addressIn(prefix: Prefix, text: string, attribute: string): bigint {
  const ip = parseIp(text);
  if (!ip) throw invalid(attribute, `'${text}' is not a valid IP address.`);
  if (!contains(prefix, ip.version, ip.value)) {
    throw invalid(attribute, `${text} is not in the subnet ${formatPrefix(prefix)}.`);
  }
  return ip.value;
}

export interface SubnetShape {
  prefix: Prefix;
  gateway: bigint | undefined;
  pools: Range[];
}

/** The subnet's gateway and pools, checked against its prefix and each other. */
export function subnetShape(
  prefix: Prefix,
  gatewayText: string | null | undefined,
  poolsIn: readonly { start: string; end: string }[] | undefined,
): SubnetShape {
  const gateway =
    gatewayText === null
      ? undefined
      : gatewayText === undefined
        ? firstHost(prefix)
        : addressIn(prefix, gatewayText, "gateway_ip");
  if (gateway !== undefined) {
    const last = lastAddress(prefix);
    if (
      gateway === prefix.network ||
      (prefix.version === 4 && prefix.length < 31 && gateway === last)
    ) {
      throw invalid(
        "gateway_ip",
        `${formatIp(prefix.version, gateway)} is the network or broadcast address of ${formatPrefix(prefix)}.`,
      );
    }
  }
  const pools = poolsIn
    ? poolsIn.map((p): Range => {
        const start = addressIn(prefix, p.start, "allocation_pools");
        const end = addressIn(prefix, p.end, "allocation_pools");
        if (start > end) {
          throw invalid("allocation_pools", `the pool ${p.start}-${p.end} ends before it starts.`);
        }
        return { start, end };
      })
    : defaultPools(prefix, gateway);
  const sorted = [...pools].sort((a, b) => (a.start < b.start ? -1 : 1));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.start <= sorted[i - 1]!.end) {
      throw invalid("allocation_pools", "the pools overlap.");
    }
  }
  if (gateway !== undefined && pools.some((p) => gateway >= p.start && gateway <= p.end)) {
    throw new ApiError(
      409,
      `Gateway ip ${formatIp(prefix.version, gateway)} conflicts with allocation pool.`,
      "GatewayConflictWithAllocationPools",
    );
  }
  return { prefix, gateway, pools };
}

function checkDns(list: readonly string[], version: IpVersion): string[] {
  if (list.length > MAX_DNS) {
    throw invalid("dns_nameservers", `at most ${MAX_DNS} name servers, not ${list.length}.`);
  }
  const out = list.map((s) => {
    const c = canonicalIp(s);
    if (!c) throw invalid("dns_nameservers", `'${s}' is not a valid nameserver.`);
    if (parseIp(c)!.version !== version) {
      throw invalid("dns_nameservers", `${s} is not an IPv${version} address.`);
    }
    return c;
  });
  if (new Set(out).size !== out.length) throw invalid("dns_nameservers", "duplicate name servers.");
  return out;
}

function checkRoutes(list: readonly HostRoute[], version: IpVersion): HostRoute[] {
  if (list.length > MAX_ROUTES) {
    throw invalid("host_routes", `at most ${MAX_ROUTES} routes, not ${list.length}.`);
  }
  return list.map((r) => {
    const destination = parsePrefix(r.destination);
    const nexthop = parseIp(r.nexthop);
    if (!destination || destination.version !== version) {
      throw invalid("host_routes", `'${r.destination}' is not an IPv${version} CIDR.`);
    }
    if (!nexthop || nexthop.version !== version) {
      throw invalid("host_routes", `'${r.nexthop}' is not an IPv${version} address.`);
    }
    return { destination: formatPrefix(destination), nexthop: formatIp(version, nexthop.value) };
  });
}

function checkModes(item: Item, prefix: Prefix): { ra: string | null; address: string | null } {
  const ra = (item.ipv6_ra_mode as string | null | undefined) ?? null;
  const address = (item.ipv6_address_mode as string | null | undefined) ?? null;
  for (const [name, mode] of [
    ["ipv6_ra_mode", ra],
    ["ipv6_address_mode", address],
  ] as const) {
    if (mode === null) continue;
    if (!(IPV6_MODES as readonly string[]).includes(mode)) {
      throw invalid(name, `'${mode}' is not one of ${IPV6_MODES.join(", ")}.`);
    }
    if (prefix.version !== 6) throw invalid(name, "it is for IPv6 subnets only.");
  }
  if (ra !== null && address !== null && ra !== address) {
    throw invalid("ipv6_ra_mode", `ipv6_ra_mode ${ra} and ipv6_address_mode ${address} differ.`);
  }
  const mode = address ?? ra;
  if ((mode === "slaac" || mode === "dhcpv6-stateless") && prefix.length !== 64) {
    throw invalid("cidr", `${mode} needs a /64 prefix, not /${prefix.length}.`);
  }
  return { ra, address };
}

function poolsText(version: IpVersion, pools: readonly Range[]) {
  return pools.map((p) => ({ start: formatIp(version, p.start), end: formatIp(version, p.end) }));
}

export function subnetsCollection(rows: NbRows): Collection {
  const networks = networksCollection(rows);
  return {
    singular: "subnet",
    plural: "subnets",
    label: "Subnet",
    attributes: new Set(SUBNET_ATTRIBUTES),
    createSchema: CreateSubnet,
    updateSchema: UpdateSubnet,
    *all() {
      for (const row of rows.allSubnets()) yield subnetView(row);
    },
    get(id) {
      const row = rows.subnet(id);
      return row && subnetView(row);
    },
    // A subnet of a shared network is seen by every project, as its network is.
    sharedWithAll: (view) => networks.get(view.network_id as string)?.shared === true,
    generation: () => rows.generation,
    holdingRow(id) {
      const row = rows.subnet(id);
      return row && { table: "DHCP_Options", uuid: row._uuid, externalIds: row.external_ids };
    },
    create(txn, items, caller) {
      const added = new Map<string, Prefix[]>();
      return items.map((item) => createSubnet(rows, txn, item, caller, added));
    },
    update(txn, view, changes) {
      updateSubnet(rows, txn, view, changes);
    },
    remove(txn, view) {
      removeSubnet(rows, txn, view);
    },
  };
}

function createSubnet(
  rows: NbRows,
  txn: NbTransaction,
  item: Item,
  caller: Caller,
  added: Map<string, Prefix[]>,
): string {
  const networkId = item.network_id as string;
  const networks = networksCollection(rows);
  const network = visibleResource(caller, networks, networkId);
  const project = owningProject(caller, item, "subnet");
  if (!isAdmin(caller) && network.project_id !== caller.projectId) {
    throw new ApiError(
      403,
      "(rule:create_subnet) is disallowed by policy: only the network's project adds subnets to it",
      "PolicyNotAuthorized",
    );
  }
  const cidrText = item.cidr as string;
  const prefix = parsePrefix(cidrText);
  if (!prefix) {
    const loose = parseIp(cidrText.split("/")[0] ?? "");
    throw invalid(
      "cidr",
      loose
        ? `'${cidrText}' is not a recognized CIDR: its host bits are set or its length is wrong.`
        : `'${cidrText}' is not a valid IP subnet.`,
    );
  }
  if (item.ip_version !== undefined) {
    const v = toInteger(item.ip_version as number | string, "ip_version", { min: 4, max: 6 });
    if (v !== prefix.version) {
      throw invalid("ip_version", `cidr ${cidrText} is IPv${prefix.version}, not IPv${v}.`);
    }
  }
  const ls = rows.network(networkId)!;
  const others = [
    ...rows.subnetsOf(networkId).map((r) => parsePrefix(r.cidr)),
    ...(added.get(networkId) ?? []),
  ];
  for (const other of others) {
    if (other && overlaps(other, prefix)) {
      throw new ApiError(
        400,
        `Invalid input for operation: Requested subnet with cidr: ${formatPrefix(prefix)} for network: ${networkId} overlaps with another subnet.`,
        "InvalidInput",
      );
    }
  }
  added.set(networkId, [...(added.get(networkId) ?? []), prefix]);
  const shape = subnetShape(
    prefix,
    item.gateway_ip as string | null | undefined,
    item.allocation_pools as { start: string; end: string }[] | undefined,
  );
  const version = prefix.version;
  const dns = checkDns((item.dns_nameservers as string[] | undefined) ?? [], version);
  const routes = checkRoutes((item.host_routes as HostRoute[] | undefined) ?? [], version);
  const modes = checkModes(item, prefix);
  const enableDhcp =
    item.enable_dhcp === undefined ? true : toBoolean(item.enable_dhcp as string, "enable_dhcp");
  const id = randomUUID();
  const gatewayIp = shape.gateway === undefined ? null : formatIp(version, shape.gateway);
  const ids = createdIds({
    description: item.description as string | undefined,
    tags: item.tags as string[] | undefined,
  });
  const entries: [string, string][] = [
    [NEUTRON.subnetId, id],
    [SUBNET_NETWORK, networkId],
    [MICROOVN.projectId, project],
    [MICROOVN.name, (item.name as string | undefined) ?? ""],
    [SUBNET_KEYS.ipVersion, String(version)],
    [SUBNET_KEYS.gatewayIp, gatewayIp ?? ""],
    [SUBNET_KEYS.pools, JSON.stringify(poolsText(version, shape.pools))],
    [SUBNET_KEYS.dns, JSON.stringify(dns)],
    [SUBNET_KEYS.routes, JSON.stringify(routes)],
    [SUBNET_KEYS.enableDhcp, String(enableDhcp)],
    [SUBNET_KEYS.raMode, modes.ra ?? ""],
    [SUBNET_KEYS.addressMode, modes.address ?? ""],
  ];
  for (const [k, v] of entries) ids.set(k, v);
  // The network must still be there when this commits.
  expectSame(txn, "Logical_Switch", ls._uuid, { name: ls.name });
  txn.insert("DHCP_Options", {
    cidr: formatPrefix(prefix),
    options: subnetDhcpOptions({
      version,
      enableDhcp,
      gatewayIp,
      dnsNameservers: dns,
      hostRoutes: routes,
      mtu: Number(network.mtu),
      ipv6AddressMode: modes.address ?? modes.ra,
      serverMac: undefined,
    }),
    external_ids: ids,
  });
  return id;
}

/** The network's ports (not those the network itself owns) holding an address of the subnet. */
function portsOnSubnet(rows: NbRows, networkId: string, subnetId: string) {
  return rows
    .portsOf(networkId)
    .filter((p) => fixedIpsOf(p.external_ids).some((ip) => ip.subnet_id === subnetId));
}

function updateSubnet(rows: NbRows, txn: NbTransaction, view: View, changes: Item): void {
  const row = rows.subnet(view.id);
  if (!row) throw notFound("Subnet", view.id);
  const prefix = parsePrefix(row.cidr)!;
  const version = prefix.version;
  const gatewayText =
    changes.gateway_ip === undefined
      ? (view.gateway_ip as string | null)
      : (changes.gateway_ip as string | null);
  const pools =
    (changes.allocation_pools as { start: string; end: string }[] | undefined) ??
    (changes.gateway_ip !== undefined
      ? undefined
      : (view.allocation_pools as { start: string; end: string }[]));
  const shape = subnetShape(prefix, gatewayText, pools);
  const gatewayIp = shape.gateway === undefined ? null : formatIp(version, shape.gateway);
  const currentGateway = view.gateway_ip as string | null;
  if (currentGateway !== null && gatewayIp !== currentGateway) {
    // A router's interface holds it: the router would keep routing through an address DHCP no longer names.
    const holder = rows.addressHolder(view.id, parseIp(currentGateway)!.value);
    if (holder !== undefined) {
      throw new ApiError(
        409,
        `Current gateway ip ${currentGateway} already in use by port ${holder}. Unable to update.`,
        "GatewayIpInUse",
      );
    }
  }
  if (gatewayIp !== null && gatewayIp !== view.gateway_ip) {
    const holder = portsOnSubnet(rows, view.network_id as string, view.id).find((p) =>
      fixedIpsOf(p.external_ids).some((ip) => ip.ip_address === gatewayIp),
    );
    if (holder) {
      throw new ApiError(
        409,
        `Gateway ip ${gatewayIp} conflicts with the address of port ${holder.name}.`,
        "GatewayIpInUse",
      );
    }
  }
  const dns =
    changes.dns_nameservers === undefined
      ? (view.dns_nameservers as string[])
      : checkDns(changes.dns_nameservers as string[], version);
  const routes =
    changes.host_routes === undefined
      ? (view.host_routes as HostRoute[])
      : checkRoutes(changes.host_routes as HostRoute[], version);
  const enableDhcp =
    changes.enable_dhcp === undefined
      ? (view.enable_dhcp as boolean)
      : toBoolean(changes.enable_dhcp as string, "enable_dhcp");
  const network = rows.network(view.network_id as string);
  const options = subnetDhcpOptions({
    version,
    enableDhcp,
    gatewayIp,
    dnsNameservers: dns,
    hostRoutes: routes,
    mtu: Number(network?.external_ids.get(NEUTRON.mtu) ?? 1442),
    ipv6AddressMode: (view.ipv6_address_mode ?? view.ipv6_ra_mode) as string | null,
    serverMac: serverMacOf(row.options, version),
  });
  const change: Record<string, string | undefined> = {
    [SUBNET_KEYS.gatewayIp]: gatewayIp ?? "",
    [SUBNET_KEYS.pools]: JSON.stringify(poolsText(version, shape.pools)),
    [SUBNET_KEYS.dns]: JSON.stringify(dns),
    [SUBNET_KEYS.routes]: JSON.stringify(routes),
    [SUBNET_KEYS.enableDhcp]: String(enableDhcp),
  };
  if (changes.name !== undefined) change[MICROOVN.name] = changes.name as string;
  if (changes.description !== undefined)
    change[MICROOVN.description] = changes.description as string;
  const externalIds = changedIds(row.external_ids, change);
  expectSame(txn, "DHCP_Options", row._uuid, { external_ids: row.external_ids });
  txn.update("DHCP_Options", [["_uuid", "==", row._uuid]], { options, external_ids: externalIds });
  const pending = new Map<string, SubnetDhcpRow>([
    [
      view.id,
      { uuid: row._uuid, cidr: row.cidr, options: new Map(Object.entries(options)), externalIds },
    ],
  ]);
  rewireSubnetPorts(txn, rows, view.network_id as string, view.id, pending);
}

function removeSubnet(rows: NbRows, txn: NbTransaction, view: View): void {
  const networkId = view.network_id as string;
  const holders = portsOnSubnet(rows, networkId, view.id).filter(
    (p) => p.external_ids.get(NEUTRON.deviceOwner) !== "network:dhcp",
  );
  if (holders.length > 0) {
    throw new ApiError(
      409,
      `Unable to complete operation on subnet ${view.id}: one or more ports have an IP allocation from this subnet (${holders
        .slice(0, 3)
        .map((p) => p.name)
        .join(", ")}${holders.length > 3 ? ", …" : ""}).`,
      "SubnetInUse",
    );
  }
  const ls = rows.network(networkId);
  if (ls) {
    // A port given an address here by another server meanwhile makes this look again.
    expectSame(txn, "Logical_Switch", ls._uuid, { ports: ls.ports });
  }
  // The subnet's row and the rows of ports' own options made from it.
  txn.delete("DHCP_Options", [
    ["external_ids", "includes", new Map([[NEUTRON.subnetId, view.id]])],
  ]);
}

export const subnetRoutes: ResourceRoutes = (app, context, baseUrl) => {
  registerCollection(app, context, baseUrl, subnetsCollection(nbRows(context)));
};
