/**
 * Ports → Logical_Switch_Port named by the port id, on its network's
 * switch, written as ML2/OVN writes it: `addresses` "MAC IP…" ("unknown"
 * added without port security), `port_security` (the port's MAC and IPs,
 * and its allowed address pairs), `enabled`, options `requested-chassis`
 * (binding:host_id) and `mcast_flood_reports`, the `neutron:*`
 * external_ids, DHCP rows (port-dhcp.ts), and membership of the drop port
 * group and of `pg_<group>` for each security group.
 *
 * Addresses are ours to hand out (never ovn-northd's `dynamic`): chosen at
 * random from the subnet's pools, recorded as `microovn:ip:<address>` =
 * the subnet id on the port, and guarded by a `wait` that no port holds
 * that key, so two API servers never give one address twice (the loser
 * builds its transaction again). A MAC is guarded the same way on its
 * network.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import { isAdmin, type Caller } from "../auth/caller.js";
import type { LogicalSwitchPort } from "../../ovsdb/models/ovn-northbound.js";
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
  canonicalMac,
  contains,
  eui64,
  formatIp,
  lastAddress,
  parseIp,
  parsePrefix,
  pickFree,
  randomMac,
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
import { checkExtraDhcpOpts, type ExtraDhcpOpt } from "./dhcp.js";
import { networksCollection } from "./networks.js";
import { EXTRA_DHCP_OPTS, extraDhcpOptsOf, wirePortDhcp } from "./port-dhcp.js";
import type { View } from "./query.js";
import {
  PORT_IP_PREFIX,
  PORT_MAC,
  fixedIpsOf,
  isNeutronPort,
  nbRows,
  networkIdOf,
  switchName,
  type FixedIp,
  type NbRows,
} from "./rows.js";
import {
  DROP_PORT_GROUP,
  ensureDefaultSecurityGroup,
  ensureDropPortGroup,
  portGroupName,
} from "./security-groups/index.js";
import {
  ROUTER_GATEWAY_OWNER,
  ROUTER_INTERFACE_OWNER,
  ROUTER_PEER_ADDRESS,
  ROUTER_PORT_OPTION,
  lrpName,
} from "./routers/names.js";
import { subnetView } from "./subnets.js";
import { FLOATINGIP_OWNER } from "./floating-ips/names.js";
import { natsOfPort, removeFipNat } from "./floating-ips/rows.js";
import { dropForwardingsOfPort } from "./floating-ips/pf-write.js";
import { BooleanLike, CREATE_ONLY, Text255, toBoolean } from "./validation.js";
import { expectNone, expectSame, type NbTransaction } from "./write.js";
import {
  boundHost,
  checkMigratingTo,
  rebound,
  sbChassis,
  storedProfile,
  storedMigratingTo,
  withoutMigration,
  type ChassisNames,
} from "./migration.js";

export const PORT_KEYS = {
  portSecurity: "microovn:port_security_enabled",
  addressPairs: "microovn:allowed_address_pairs",
  vnicType: "microovn:vnic_type",
  profile: "microovn:binding_profile",
} as const;

/** Neutron's max_allowed_address_pair. */
const MAX_ADDRESS_PAIRS = 10;

const FixedIpRequest = Type.Object(
  { subnet_id: Type.Optional(Type.String()), ip_address: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
const AddressPair = Type.Object(
  { ip_address: Type.String(), mac_address: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
const ExtraDhcpOptSchema = Type.Object(
  {
    opt_name: Type.String({ minLength: 1, maxLength: 64 }),
    opt_value: Type.Union([Type.String({ maxLength: 255 }), Type.Null()]),
    ip_version: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

const portAttributes = {
  name: Type.Optional(Text255()),
  description: Type.Optional(Text255()),
  admin_state_up: Type.Optional(BooleanLike()),
  mac_address: Type.Optional(Type.String()),
  fixed_ips: Type.Optional(Type.Array(FixedIpRequest)),
  device_owner: Type.Optional(Type.String({ maxLength: 255 })),
  device_id: Type.Optional(Type.String({ maxLength: 255 })),
  security_groups: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
  port_security_enabled: Type.Optional(BooleanLike()),
  allowed_address_pairs: Type.Optional(Type.Union([Type.Array(AddressPair), Type.Null()])),
  extra_dhcp_opts: Type.Optional(Type.Union([Type.Array(ExtraDhcpOptSchema), Type.Null()])),
  "binding:host_id": Type.Optional(Type.String({ maxLength: 255 })),
  "binding:profile": Type.Optional(
    Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  ),
  "binding:vnic_type": Type.Optional(Type.String()),
};

const CreatePort = Type.Object(
  {
    network_id: Type.String(),
    ...portAttributes,
    ...CREATE_ONLY,
  },
  { additionalProperties: false },
);
const UpdatePort = Type.Object(portAttributes, { additionalProperties: false });

export const PORT_ATTRIBUTES = [
  ...COMMON_ATTRIBUTES,
  "network_id",
  "mac_address",
  "admin_state_up",
  "status",
  "device_owner",
  "device_id",
  "fixed_ips",
  "allowed_address_pairs",
  "extra_dhcp_opts",
  "security_groups",
  "port_security_enabled",
  "binding:host_id",
  "binding:vif_type",
  "binding:vif_details",
  "binding:vnic_type",
  "binding:profile",
] as const;

interface AddressPairValue {
  ip_address: string;
  mac_address: string;
}

function securityGroupsOf(ids: ReadonlyMap<string, string>): string[] {
  return (ids.get(NEUTRON.securityGroupIds) ?? "").split(" ").filter((x) => x !== "");
}

const views = new WeakMap<LogicalSwitchPort, View>();

/** A port as the API answers it; made once per row version (rows are replaced, never changed). */
export function portView(lsp: LogicalSwitchPort): View {
  const cached = views.get(lsp);
  if (cached) return cached;
  const ids = lsp.external_ids;
  const project = ids.get(NEUTRON.projectId) ?? "";
  const host = boundHost(lsp.options);
  const view: View = {
    id: lsp.name,
    name: ids.get(NEUTRON.portName) ?? "",
    network_id: networkIdOf(ids.get(NEUTRON.networkName) ?? "") ?? "",
    tenant_id: project,
    project_id: project,
    mac_address: ids.get(PORT_MAC) ?? (lsp.addresses[0] ?? "").split(" ")[0] ?? "",
    admin_state_up: lsp.enabled !== false,
    status: lsp.up === true ? "ACTIVE" : "DOWN",
    device_owner: ids.get(NEUTRON.deviceOwner) ?? "",
    device_id: ids.get(NEUTRON.deviceId) ?? "",
    fixed_ips: fixedIpsOf(ids),
    allowed_address_pairs: jsonOf<AddressPairValue[]>(ids, PORT_KEYS.addressPairs, []),
    extra_dhcp_opts: extraDhcpOptsOf(ids),
    security_groups: securityGroupsOf(ids),
    port_security_enabled: ids.get(PORT_KEYS.portSecurity) !== "false",
    "binding:host_id": host,
    "binding:vif_type": host ? "ovs" : "unbound",
    "binding:vif_details": host
      ? {
          port_filter: true,
          connectivity: "l2",
          bridge_name: "br-int",
          bound_drivers: { "0": "ovn" },
        }
      : {},
    "binding:vnic_type": ids.get(PORT_KEYS.vnicType) ?? "normal",
    "binding:profile": jsonOf<Record<string, unknown>>(ids, PORT_KEYS.profile, {}),
    ...standardAttributes(ids),
  };
  views.set(lsp, view);
  return view;
}

function invalid(attribute: string, reason: string): ApiError {
  return new ApiError(400, `Invalid input for ${attribute}. Reason: ${reason}`, "InvalidInput");
}

/** Addresses handed out within one transaction, by subnet, on top of the replica's. */
export type AddressesTaken = Map<string, Set<bigint>>;
type Taken = AddressesTaken;

interface SubnetFacts {
  id: string;
  version: 4 | 6;
  prefix: NonNullable<ReturnType<typeof parsePrefix>>;
  pools: Range[];
  gateway: bigint | undefined;
  mode: string | null;
}

function subnetFacts(view: View): SubnetFacts {
  const prefix = parsePrefix(view.cidr as string)!;
  const pools = (view.allocation_pools as { start: string; end: string }[]).map((p) => ({
    start: parseIp(p.start)!.value,
    end: parseIp(p.end)!.value,
  }));
  const gw = view.gateway_ip === null ? undefined : parseIp(view.gateway_ip as string)?.value;
  return {
    id: view.id,
    version: prefix.version,
    prefix,
    pools,
    gateway: gw,
    mode: (view.ipv6_address_mode ?? view.ipv6_ra_mode) as string | null,
  };
}

/**
 * Whether an address of a subnet is taken: by a port (the replica's index;
 * `except` is the port being changed), by the gateway, or earlier in this
 * transaction. Used addresses are recorded in `taken` for the rest of it.
 */
function takenIn(
  rows: NbRows,
  subnet: SubnetFacts,
  taken: Taken,
  except?: string,
): { has(value: bigint): boolean; add(value: bigint): void } {
  let local = taken.get(subnet.id);
  if (!local) taken.set(subnet.id, (local = new Set<bigint>()));
  const mine = local;
  return {
    has: (value) => {
      if (value === subnet.gateway || mine.has(value)) return true;
      const holder = rows.addressHolder(subnet.id, value);
      return holder !== undefined && holder !== except;
    },
    add: (value) => mine.add(value),
  };
}

const ROUTER_OWNERS = new Set([
  "network:router_interface",
  "network:router_gateway",
  "network:router_interface_distributed",
]);

/**
 * The port's fixed IPs: those asked for (by subnet, by address, or both),
 * or one per subnet when none were named; each address checked free and
 * recorded as taken for the rest of the transaction.
 */
function allocate(
  rows: NbRows,
  networkId: string,
  requested: readonly { subnet_id?: string; ip_address?: string }[] | undefined,
  mac: string,
  deviceOwner: string,
  taken: Taken,
  keep: readonly FixedIp[] = [],
  portId?: string,
): FixedIp[] {
  const subnets = rows.subnetsOf(networkId).map((r) => subnetFacts(subnetView(r)));
  const byId = new Map(subnets.map((s) => [s.id, s]));
  const pick = (s: SubnetFacts): FixedIp => {
    const set = takenIn(rows, s, taken, portId);
    let value: bigint | undefined;
    if (s.version === 6 && (s.mode === "slaac" || s.mode === "dhcpv6-stateless")) {
      value = eui64(s.prefix, mac);
      if (set.has(value)) throw addressInUse(formatIp(6, value), networkId);
    } else {
      value = pickFree(s.pools, set);
      if (value === undefined) {
        throw new ApiError(
          409,
          `No more IP addresses available on network ${networkId} (subnet ${s.id}).`,
          "IpAddressGenerationFailure",
        );
      }
    }
    set.add(value);
    return { subnet_id: s.id, ip_address: formatIp(s.version, value) };
  };
  if (requested === undefined) return subnets.map(pick);
  return requested.map((r): FixedIp => {
    if (r.ip_address === undefined) {
      if (r.subnet_id === undefined)
        throw invalid("fixed_ips", "each needs subnet_id, ip_address or both.");
      const s = byId.get(r.subnet_id);
      if (!s) {
        throw invalid(
          "fixed_ips",
          `subnet ${r.subnet_id} is not a subnet of network ${networkId}.`,
        );
      }
      return pick(s);
    }
    const ip = parseIp(r.ip_address);
    if (!ip) throw invalid("fixed_ips", `'${r.ip_address}' is not a valid IP address.`);
    const s =
      r.subnet_id !== undefined
        ? byId.get(r.subnet_id)
        : subnets.find((x) => contains(x.prefix, ip.version, ip.value));
    if (!s) {
      throw invalid(
        "fixed_ips",
        r.subnet_id !== undefined
          ? `subnet ${r.subnet_id} is not a subnet of network ${networkId}.`
          : `${r.ip_address} is in no subnet of network ${networkId}.`,
      );
    }
    if (!contains(s.prefix, ip.version, ip.value)) {
      throw invalid("fixed_ips", `${r.ip_address} is not a valid IP for the subnet ${s.id}.`);
    }
    const address = formatIp(s.version, ip.value);
    if (keep.some((k) => k.subnet_id === s.id && k.ip_address === address)) {
      return { subnet_id: s.id, ip_address: address };
    }
    if (
      ip.value === s.prefix.network ||
      (s.version === 4 && s.prefix.length < 31 && ip.value === lastAddress(s.prefix))
    ) {
      throw invalid(
        "fixed_ips",
        `${r.ip_address} is the network or broadcast address of subnet ${s.id}.`,
      );
    }
    const set = takenIn(rows, s, taken, portId);
    const isGateway = ip.value === s.gateway;
    if (set.has(ip.value) && !(isGateway && ROUTER_OWNERS.has(deviceOwner))) {
      throw addressInUse(address, networkId);
    }
    set.add(ip.value);
    return { subnet_id: s.id, ip_address: address };
  });
}

function addressInUse(address: string, networkId: string): ApiError {
  return new ApiError(
    409,
    `IP address ${address} already allocated in network ${networkId}; choose another or leave it to the service.`,
    "IpAddressInUse",
  );
}

function macInUse(mac: string, networkId: string): ApiError {
  return new ApiError(
    409,
    `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`,
    "MacAddressInUse",
  );
}

/** Whether a MAC is taken on the network: by a port other than `except`, or earlier in this transaction. */
function macTaken(
  rows: NbRows,
  networkId: string,
  mac: string,
  local: Set<string>,
  except?: string,
) {
  if (local.has(mac)) return true;
  const holder = rows.macHolder(networkId, mac);
  return holder !== undefined && holder !== except;
}

function checkAddressPairs(
  pairs: readonly { ip_address: string; mac_address?: string }[],
  mac: string,
): AddressPairValue[] {
  if (pairs.length > MAX_ADDRESS_PAIRS) {
    throw invalid(
      "allowed_address_pairs",
      `at most ${MAX_ADDRESS_PAIRS} pairs, not ${pairs.length}.`,
    );
  }
  const out = pairs.map((p) => {
    const ip = p.ip_address.includes("/") ? parsePrefix(p.ip_address) : parseIp(p.ip_address);
    if (!ip) {
      throw invalid(
        "allowed_address_pairs",
        `'${p.ip_address}' is not a valid IP address or CIDR.`,
      );
    }
    const pairMac = p.mac_address === undefined ? mac : canonicalMac(p.mac_address);
    if (!pairMac)
      throw invalid("allowed_address_pairs", `'${p.mac_address}' is not a valid MAC address.`);
    return { ip_address: p.ip_address, mac_address: pairMac };
  });
  const keys = out.map((p) => `${p.mac_address} ${p.ip_address}`);
  if (new Set(keys).size !== keys.length) {
    throw new ApiError(
      400,
      "Request contains duplicate address pair.",
      "DuplicateAddressPairInRequest",
    );
  }
  return out;
}

/** `addresses` and `port_security` as ML2/OVN computes them. */
export function portAddressing(
  mac: string,
  fixedIps: readonly FixedIp[],
  portSecurity: boolean,
  pairs: readonly AddressPairValue[],
): { addresses: string[]; port_security: string[] } {
  const own = [mac, ...fixedIps.map((ip) => ip.ip_address)].join(" ");
  if (!portSecurity) return { addresses: [own, "unknown"], port_security: [] };
  let mine = own;
  const others = new Map<string, string[]>();
  for (const p of pairs) {
    if (p.mac_address === mac) mine += ` ${p.ip_address}`;
    else others.set(p.mac_address, [...(others.get(p.mac_address) ?? []), p.ip_address]);
  }
  const extra = [...others].map(([m, ips]) => [m, ...ips].join(" "));
  return { addresses: [own, ...others.keys()], port_security: [mine, ...extra] };
}

function cidrsOf(rows: NbRows, fixedIps: readonly FixedIp[]): string {
  return fixedIps
    .map((ip) => {
      const cidr = rows.subnet(ip.subnet_id)?.cidr ?? "";
      return `${ip.ip_address}/${cidr.split("/")[1] ?? ""}`;
    })
    .join(" ");
}

/** Whether ML2/OVN leaves the port out of security groups (the network's own ports). */
function trusted(deviceOwner: string): boolean {
  return deviceOwner.startsWith("network:");
}

/** Security group ids the caller may put on a port of `project`, checked to exist. */
function checkGroups(
  rows: NbRows,
  ids: readonly string[],
  project: string,
  caller: Caller,
): string[] {
  const unique = [...new Set(ids)];
  for (const id of unique) {
    const pg = rows.replica.table("Port_Group").lookup({ name: portGroupName(id) });
    const owner = pg?.external_ids.get(MICROOVN.projectId);
    if (!pg || (!isAdmin(caller) && owner !== project && owner !== caller.projectId)) {
      throw new ApiError(404, `Security group ${id} does not exist`, "SecurityGroupNotFound");
    }
  }
  return unique;
}

interface PortState {
  id: string;
  networkId: string;
  project: string;
  mac: string;
  fixedIps: FixedIp[];
  portSecurity: boolean;
  pairs: AddressPairValue[];
  extraDhcpOpts: ExtraDhcpOpt[];
  groups: string[];
  deviceOwner: string;
  host: string;
}

/** Our keys and ML2/OVN's that follow from the port's state. */
function stateIds(rows: NbRows, s: PortState): Record<string, string | undefined> {
  return {
    [NEUTRON.cidrs]: cidrsOf(rows, s.fixedIps),
    [NEUTRON.deviceOwner]: s.deviceOwner,
    [NEUTRON.networkName]: switchName(s.networkId),
    [NEUTRON.projectId]: s.project,
    [NEUTRON.securityGroupIds]: s.groups.join(" "),
    [PORT_MAC]: s.mac,
    [PORT_KEYS.portSecurity]: String(s.portSecurity),
    [PORT_KEYS.addressPairs]: s.pairs.length > 0 ? JSON.stringify(s.pairs) : undefined,
    [EXTRA_DHCP_OPTS]: s.extraDhcpOpts.length > 0 ? JSON.stringify(s.extraDhcpOpts) : undefined,
  };
}

function ipKeys(fixedIps: readonly FixedIp[]): Record<string, string> {
  return Object.fromEntries(
    fixedIps.map((ip) => [`${PORT_IP_PREFIX}${ip.ip_address}`, ip.subnet_id]),
  );
}

/** The guards of a port's new addresses and MAC: nobody else took them meanwhile. */
function guardAddresses(
  txn: NbTransaction,
  s: PortState,
  newIps: readonly FixedIp[],
  newMac: boolean,
): void {
  for (const [key, subnet] of Object.entries(ipKeys(newIps))) {
    expectNone(txn, "Logical_Switch_Port", { [key]: subnet });
  }
  if (newMac) {
    expectNone(txn, "Logical_Switch_Port", {
      [PORT_MAC]: s.mac,
      [NEUTRON.networkName]: switchName(s.networkId),
    });
  }
}

/** Joins the drop group (port security) and the security groups' port groups. */
function joinGroups(txn: NbTransaction, rows: NbRows, lsp: string, s: PortState): void {
  if (!s.portSecurity || trusted(s.deviceOwner)) return;
  ensureDropPortGroup(txn, rows.replica);
  txn.mutate("Port_Group", [["name", "==", DROP_PORT_GROUP]], [["ports", "insert", [lsp]]]);
  for (const g of s.groups) {
    txn.mutate("Port_Group", [["name", "==", portGroupName(g)]], [["ports", "insert", [lsp]]]);
  }
}

function leaveGroups(txn: NbTransaction, lspUuid: string, groups: readonly string[]): void {
  for (const name of [DROP_PORT_GROUP, ...groups.map(portGroupName)]) {
    txn.mutate("Port_Group", [["name", "==", name]], [["ports", "delete", [lspUuid]]]);
  }
}

/** What ML2/OVN sets on every VM port, besides where it is bound. */
const MULTICAST_OPTIONS = [["mcast_flood_reports", "true"]] as const;

/**
 * The switch port's type, addresses, port security and options. A
 * router's interface is the peer of its router port, as ML2/OVN makes it:
 * type `router`, address `router`, option router-port; any other port is
 * a VIF with its own addresses (and `current`'s options kept, but the
 * binding and the peer, which follow from the state).
 */
function lspShape(
  s: PortState,
  migratingTo: string | undefined,
  current: ReadonlyMap<string, string> = new Map(),
) {
  if (s.deviceOwner === ROUTER_INTERFACE_OWNER || s.deviceOwner === ROUTER_GATEWAY_OWNER) {
    const options = new Map([[ROUTER_PORT_OPTION, lrpName(s.id)]]);
    // A gateway port answers ARP for the router's NAT addresses on the external network.
    if (s.deviceOwner === ROUTER_GATEWAY_OWNER) options.set("nat-addresses", ROUTER_PEER_ADDRESS);
    return {
      type: "router",
      addresses: [ROUTER_PEER_ADDRESS],
      port_security: [] as string[],
      options,
    };
  }
  const kept = new Map([...current].filter(([k]) => k !== ROUTER_PORT_OPTION));
  return {
    type: "",
    ...portAddressing(s.mac, s.fixedIps, s.portSecurity, s.pairs),
    options: new Map([...rebound(kept, s.host, migratingTo), ...MULTICAST_OPTIONS]),
  };
}

function adminOnlyBinding(caller: Caller, item: Item, action: "create" | "update"): void {
  if (isAdmin(caller)) return;
  for (const a of ["binding:host_id", "binding:profile"]) {
    if (item[a] !== undefined) {
      throw new ApiError(
        403,
        `(rule:${action}_port:${a}) is disallowed by policy: only an admin binds ports`,
        "PolicyNotAuthorized",
      );
    }
  }
}

/**
 * Neutron's policy on device_owner (`create_port:device_owner`,
 * `update_port:device_owner`): a `network:` owner makes the port one of the
 * network's own (a router's, DHCP's, a floating IP's), which ML2/OVN leaves
 * out of security groups, so only an admin or the network's project sets
 * it. Checked on the value asked for, as Neutron does.
 */
function checkDeviceOwner(
  caller: Caller,
  deviceOwner: unknown,
  networkProject: unknown,
  action: "create" | "update",
): void {
  if (typeof deviceOwner !== "string" || !trusted(deviceOwner)) return;
  if (isAdmin(caller) || caller.projectId === networkProject) return;
  throw new ApiError(
    403,
    `(rule:${action}_port:device_owner) is disallowed by policy: a device_owner starting with ` +
      `"network:" is for the network's own ports; only an admin or the network's project sets one`,
    "PolicyNotAuthorized",
  );
}

/**
 * A router's interface or gateway port keeps its device_owner and
 * device_id while its router port exists: the router's rows hang on them,
 * and a port that no longer said it was a router's could be deleted from
 * under its router. (Neutron's policy lets the port's project change
 * them; we refuse, changing nothing, and say what to do instead.)
 */
function checkRouterHold(rows: NbRows, view: View, changes: Item): void {
  const owner = view.device_owner as string;
  if (!ROUTER_OWNERS.has(owner)) return;
  const changed = (["device_owner", "device_id"] as const).filter(
    (a) => changes[a] !== undefined && changes[a] !== view[a],
  );
  if (changed.length === 0) return;
  if (!rows.replica.table("Logical_Router_Port").lookup({ name: lrpName(view.id) })) return;
  const how =
    owner === ROUTER_GATEWAY_OWNER
      ? "clear the router's gateway (openstack router unset --external-gateway) instead"
      : "remove it from the router (openstack router remove port) first";
  throw new ApiError(
    409,
    `Port ${view.id} is router ${view.device_id as string}'s (device_owner ${owner}): its ` +
      `${changed.join(" and ")} cannot be changed while the router holds it; ${how}.`,
    "PortInUse",
  );
}

/** binding:host_id as requested-chassis takes it: one chassis, so no comma. */
function checkHost(item: Item): string | undefined {
  const host = item["binding:host_id"] as string | undefined;
  if (host !== undefined && /[,\s]/.test(host)) {
    throw invalid(
      "binding:host_id",
      `'${host}' is not a host name: no blanks or commas (to move a port, set binding:profile migrating_to).`,
    );
  }
  return host;
}

function vnicType(item: Item): string | undefined {
  const v = item["binding:vnic_type"] as string | undefined;
  if (v !== undefined && v !== "normal") {
    throw invalid(
      "binding:vnic_type",
      `'${v}' is not served here; ports are 'normal' (a virtual NIC on br-int).`,
    );
  }
  return v;
}

function wantedGroups(
  txn: NbTransaction,
  rows: NbRows,
  item: Item,
  portSecurity: boolean,
  project: string,
  caller: Caller,
  current: readonly string[] | undefined,
): string[] {
  const named = item.security_groups as string[] | null | undefined;
  if (!portSecurity) {
    if (named && named.length > 0) {
      throw new ApiError(
        400,
        "Port security must be enabled and port must have an IP address in order to use security groups.",
        "PortSecurityAndIPRequiredForSecurityGroups",
      );
    }
    return [];
  }
  if (named === undefined) {
    return current ? [...current] : [ensureDefaultSecurityGroup(txn, rows.replica, project)];
  }
  if (named === null) return [];
  return checkGroups(rows, named, project, caller);
}

type PairRequest = { ip_address: string; mac_address?: string };

/** What a create or an update asks of a port, before its checks. */
interface PortRequest extends Omit<PortState, "pairs" | "groups"> {
  pairs: readonly PairRequest[];
  /** The groups it has (undefined: a new port, which gets the project's default). */
  currentGroups: readonly string[] | undefined;
}

/** The port's state once checked: address pairs, DHCP options, security groups. */
function portState(
  txn: NbTransaction,
  rows: NbRows,
  caller: Caller,
  item: Item,
  request: PortRequest,
): PortState {
  const { pairs, currentGroups, ...rest } = request;
  if (pairs.length > 0 && !request.portSecurity) {
    throw new ApiError(
      409,
      "Port Security must be enabled in order to have allowed address pairs on a port.",
      "AddressPairAndPortSecurityRequired",
    );
  }
  checkExtraDhcpOpts(request.extraDhcpOpts);
  return {
    ...rest,
    pairs: checkAddressPairs(pairs, request.mac),
    groups: trusted(request.deviceOwner)
      ? []
      : wantedGroups(txn, rows, item, request.portSecurity, request.project, caller, currentGroups),
  };
}

function createPort(
  rows: NbRows,
  txn: NbTransaction,
  item: Item,
  caller: Caller,
  taken: Taken,
  macs: Map<string, Set<string>>,
  chassis: () => ChassisNames,
): CreatedPort {
  const networkId = item.network_id as string;
  const networks = networksCollection(rows);
  const network = visibleResource(caller, networks, networkId);
  const project = owningProject(caller, item, "port");
  adminOnlyBinding(caller, item, "create");
  checkDeviceOwner(caller, item.device_owner, network.project_id, "create");
  const host = checkHost(item) ?? "";
  const profile = (item["binding:profile"] as Record<string, unknown> | null | undefined) ?? null;
  const migratingTo = checkMigratingTo(profile, host, chassis);
  const ls = rows.network(networkId)!;
  let usedMacs = macs.get(networkId);
  if (!usedMacs) macs.set(networkId, (usedMacs = new Set()));
  const mine = usedMacs;
  let mac: string;
  if (item.mac_address !== undefined) {
    const m = canonicalMac(item.mac_address as string);
    if (!m)
      throw invalid("mac_address", `'${item.mac_address as string}' is not a valid MAC address.`);
    if (macTaken(rows, networkId, m, mine)) throw macInUse(m, networkId);
    mac = m;
  } else {
    do mac = randomMac();
    while (macTaken(rows, networkId, mac, mine));
  }
  usedMacs.add(mac);
  const deviceOwner = (item.device_owner as string | undefined) ?? "";
  const fixedIps = allocate(
    rows,
    networkId,
    item.fixed_ips as { subnet_id?: string; ip_address?: string }[] | undefined,
    mac,
    deviceOwner,
    taken,
  );
  const portSecurity =
    item.port_security_enabled === undefined
      ? (network.port_security_enabled as boolean)
      : toBoolean(item.port_security_enabled as string, "port_security_enabled");
  const id = randomUUID();
  const state = portState(txn, rows, caller, item, {
    id,
    networkId,
    project,
    mac,
    fixedIps,
    portSecurity,
    pairs: (item.allowed_address_pairs as PairRequest[] | null | undefined) ?? [],
    extraDhcpOpts: (item.extra_dhcp_opts as ExtraDhcpOpt[] | null | undefined) ?? [],
    deviceOwner,
    host,
    currentGroups: undefined,
  });
  const ids = createdIds({
    description: item.description as string | undefined,
    tags: item.tags as string[] | undefined,
  });
  const more: Record<string, string | undefined> = {
    ...stateIds(rows, state),
    ...ipKeys(fixedIps),
    [NEUTRON.portName]: (item.name as string | undefined) ?? "",
    [NEUTRON.deviceId]: (item.device_id as string | undefined) ?? "",
    [PORT_KEYS.vnicType]: vnicType(item),
    [PORT_KEYS.profile]: storedProfile(profile),
  };
  for (const [k, v] of Object.entries(more)) if (v !== undefined) ids.set(k, v);
  guardAddresses(txn, state, fixedIps, true);
  // The network must still be there: a port of a deleted switch would vanish at commit.
  expectSame(txn, "Logical_Switch", ls._uuid, { name: ls.name });
  const dhcp = wirePortDhcp(txn, rows, {
    id,
    isNew: true,
    networkId,
    deviceOwner: state.deviceOwner,
    fixedIps,
    extraDhcpOpts: state.extraDhcpOpts,
  });
  const lsp = txn.insert("Logical_Switch_Port", {
    name: id,
    ...lspShape(state, migratingTo),
    enabled:
      item.admin_state_up === undefined
        ? true
        : toBoolean(item.admin_state_up as string, "admin_state_up"),
    external_ids: ids,
    ...dhcp,
  });
  txn.mutate("Logical_Switch", [["_uuid", "==", ls._uuid]], [["ports", "insert", [lsp]]]);
  joinGroups(txn, rows, lsp, state);
  return { id, mac, fixedIps };
}

/** A port just made in a transaction: what its router port needs before the replica has it. */
export interface CreatedPort {
  id: string;
  mac: string;
  fixedIps: FixedIp[];
}

/**
 * A port the service makes for a router (its gateway) or a floating IP,
 * with the addresses it got; `taken` carries the addresses handed out
 * earlier in the same transaction. Such ports name no migration, so no
 * chassis is asked for.
 */
export function createServicePort(
  rows: NbRows,
  txn: NbTransaction,
  item: Item,
  caller: Caller,
  taken: AddressesTaken = new Map(),
): CreatedPort {
  return createPort(rows, txn, item, caller, taken, new Map(), () => {
    throw new Error("a router's port names no chassis");
  });
}

function updatePort(
  rows: NbRows,
  txn: NbTransaction,
  view: View,
  changes: Item,
  caller: Caller,
  chassis: () => ChassisNames,
): void {
  const lsp = rows.port(view.id);
  if (!lsp) throw notFound("Port", view.id);
  adminOnlyBinding(caller, changes, "update");
  checkRouterHold(rows, view, changes);
  checkDeviceOwner(
    caller,
    changes.device_owner,
    networksCollection(rows).get(view.network_id as string)?.project_id,
    "update",
  );
  vnicType(changes);
  const host = checkHost(changes) ?? (view["binding:host_id"] as string);
  // A new profile replaces the old one (Neutron's way): without migrating_to
  // a migration is abandoned, and the port goes back to its host alone.
  const newProfile = changes["binding:profile"] as Record<string, unknown> | null | undefined;
  const oldProfile = view["binding:profile"] as Record<string, unknown>;
  let migratingTo =
    newProfile === undefined
      ? storedMigratingTo(oldProfile)
      : checkMigratingTo(newProfile, host, chassis);
  // Nova ends a migration by binding the port to its destination: that
  // ends it here too (the service may have done so already, from SB).
  const arrived = newProfile === undefined && migratingTo !== undefined && migratingTo === host;
  if (arrived) migratingTo = undefined;
  const networkId = view.network_id as string;
  const current = fixedIpsOf(lsp.external_ids);
  let mac = view.mac_address as string;
  let newMac = false;
  if (changes.mac_address !== undefined) {
    const m = canonicalMac(changes.mac_address as string);
    if (!m)
      throw invalid(
        "mac_address",
        `'${changes.mac_address as string}' is not a valid MAC address.`,
      );
    if (m !== mac) {
      if (macTaken(rows, networkId, m, new Set(), view.id)) throw macInUse(m, networkId);
      mac = m;
      newMac = true;
    }
  }
  const deviceOwner = (changes.device_owner as string | undefined) ?? (view.device_owner as string);
  const fixedIps =
    changes.fixed_ips === undefined
      ? current
      : allocate(
          rows,
          networkId,
          changes.fixed_ips as { subnet_id?: string; ip_address?: string }[],
          mac,
          deviceOwner,
          new Map(),
          current,
          view.id,
        );
  const portSecurity =
    changes.port_security_enabled === undefined
      ? (view.port_security_enabled as boolean)
      : toBoolean(changes.port_security_enabled as string, "port_security_enabled");
  const oldGroups = view.security_groups as string[];
  const state = portState(txn, rows, caller, changes, {
    id: view.id,
    networkId,
    project: view.project_id as string,
    mac,
    fixedIps,
    portSecurity,
    pairs:
      changes.allowed_address_pairs === undefined
        ? (view.allowed_address_pairs as AddressPairValue[])
        : ((changes.allowed_address_pairs as PairRequest[] | null) ?? []),
    extraDhcpOpts:
      changes.extra_dhcp_opts === undefined
        ? (view.extra_dhcp_opts as ExtraDhcpOpt[])
        : mergeExtraDhcpOpts(
            view.extra_dhcp_opts as ExtraDhcpOpt[],
            (changes.extra_dhcp_opts as ExtraDhcpOpt[] | null) ?? [],
          ),
    deviceOwner,
    host,
    currentGroups: portSecurity ? oldGroups : undefined,
  });
  const removedIps = current.filter((c) => !fixedIps.some((f) => f.ip_address === c.ip_address));
  const addedIps = fixedIps.filter((f) => !current.some((c) => c.ip_address === f.ip_address));
  const change: Record<string, string | undefined> = {
    ...stateIds(rows, state),
    ...Object.fromEntries(removedIps.map((ip) => [`${PORT_IP_PREFIX}${ip.ip_address}`, undefined])),
    ...ipKeys(addedIps),
  };
  if (changes.name !== undefined) change[NEUTRON.portName] = changes.name as string;
  if (changes.description !== undefined)
    change[MICROOVN.description] = changes.description as string;
  if (changes.device_id !== undefined) change[NEUTRON.deviceId] = changes.device_id as string;
  if (changes["binding:vnic_type"] !== undefined)
    change[PORT_KEYS.vnicType] = changes["binding:vnic_type"] as string;
  const profile = arrived ? withoutMigration(oldProfile) : newProfile;
  if (profile !== undefined) {
    change[PORT_KEYS.profile] = storedProfile(profile);
  }
  guardAddresses(txn, state, addedIps, newMac);
  // As ML2/OVN checks the revision: nobody changed the port since it was read.
  expectSame(txn, "Logical_Switch_Port", lsp._uuid, { external_ids: lsp.external_ids });
  const dhcp = wirePortDhcp(txn, rows, {
    id: view.id,
    networkId,
    deviceOwner: state.deviceOwner,
    fixedIps,
    extraDhcpOpts: state.extraDhcpOpts,
  });
  txn.update("Logical_Switch_Port", [["_uuid", "==", lsp._uuid]], {
    ...lspShape(state, migratingTo, lsp.options),
    enabled:
      changes.admin_state_up === undefined
        ? (view.admin_state_up as boolean)
        : toBoolean(changes.admin_state_up as string, "admin_state_up"),
    external_ids: changedIds(lsp.external_ids, change),
    ...dhcp,
  });
  leaveGroups(txn, lsp._uuid, oldGroups);
  joinGroups(txn, rows, lsp._uuid, state);
}

/** Neutron merges extra_dhcp_opts by name; a null value removes one. */
function mergeExtraDhcpOpts(
  current: readonly ExtraDhcpOpt[],
  changes: readonly ExtraDhcpOpt[],
): ExtraDhcpOpt[] {
  const key = (o: ExtraDhcpOpt) => `${o.ip_version ?? 4}/${o.opt_name}`;
  const out = new Map(current.map((o) => [key(o), o]));
  for (const c of changes) {
    if (c.opt_value === null) out.delete(key(c));
    else out.set(key(c), c);
  }
  return [...out.values()];
}

/**
 * Deletes a port's rows: its switch port and its own DHCP options. The
 * router interface calls use it; the API's DELETE refuses those ports.
 */
export function deletePort(rows: NbRows, txn: NbTransaction, view: View): void {
  const lsp = rows.port(view.id);
  if (!lsp) throw notFound("Port", view.id);
  const ls = rows.network(view.network_id as string);
  if (ls)
    txn.mutate("Logical_Switch", [["_uuid", "==", ls._uuid]], [["ports", "delete", [lsp._uuid]]]);
  txn.delete("Logical_Switch_Port", [["_uuid", "==", lsp._uuid]]);
  txn.delete("DHCP_Options", [["external_ids", "includes", new Map([[NEUTRON.portId, view.id]])]]);
}

/**
 * The ports collection; `chassis` is asked (only when a request names a
 * migration's destination) which chassis SB knows.
 */
export function portsCollection(rows: NbRows, chassis: () => ChassisNames): Collection {
  return {
    singular: "port",
    plural: "ports",
    label: "Port",
    attributes: new Set(PORT_ATTRIBUTES),
    createSchema: CreatePort,
    updateSchema: UpdatePort,
    *all() {
      for (const lsp of rows.replica.table("Logical_Switch_Port").values()) {
        if (isNeutronPort(lsp)) yield portView(lsp);
      }
    },
    get(id) {
      const lsp = rows.port(id);
      return lsp && portView(lsp);
    },
    generation: () => rows.generation,
    holdingRow(id) {
      const lsp = rows.port(id);
      return (
        lsp && { table: "Logical_Switch_Port", uuid: lsp._uuid, externalIds: lsp.external_ids }
      );
    },
    create(txn, items, caller) {
      const taken: Taken = new Map();
      const macs = new Map<string, Set<string>>();
      return items.map((item) => createPort(rows, txn, item, caller, taken, macs, chassis).id);
    },
    update(txn, view, changes, caller) {
      updatePort(rows, txn, view, changes, caller, chassis);
    },
    remove(txn, view) {
      const routerPort = rows.replica
        .table("Logical_Router_Port")
        .lookup({ name: lrpName(view.id) });
      const owner = view.device_owner as string;
      if (owner === FLOATINGIP_OWNER) {
        throw new ApiError(
          409,
          `Port ${view.id} cannot be deleted directly via the port API: has device owner ${owner}. Delete its floating IP instead (openstack floating ip delete ${view.device_id as string}).`,
          "ServicePortInUse",
        );
      }
      if ((owner === ROUTER_INTERFACE_OWNER || owner === ROUTER_GATEWAY_OWNER) && routerPort) {
        // As Neutron: a router's port goes with remove_router_interface (or with its gateway),
        // which also takes its router port; one whose router has no such port any more may go here.
        const how =
          owner === ROUTER_GATEWAY_OWNER
            ? "Clear the router's gateway (openstack router unset --external-gateway)"
            : "Remove it from router with remove_router_interface (openstack router remove port)";
        throw new ApiError(
          409,
          `Port ${view.id} cannot be deleted directly via the port API: has device owner ${owner}. ${how}; router ${view.device_id as string}.`,
          "ServicePortInUse",
        );
      }
      // As Neutron: the port's floating IPs stay, disassociated.
      const lsp = rows.port(view.id);
      if (lsp) {
        // A floating IP associated on another server meanwhile makes this look again.
        expectSame(txn, "Logical_Switch_Port", lsp._uuid, { external_ids: lsp.external_ids });
        for (const nat of natsOfPort(rows, view.id)) removeFipNat(rows, txn, nat, true);
        // Its port forwardings go with it, as Neutron deletes them.
        dropForwardingsOfPort(rows, txn, view.id);
      }
      deletePort(rows, txn, view);
    },
  };
}

export const portRoutes: ResourceRoutes = (app, context, baseUrl) => {
  registerCollection(
    app,
    context,
    baseUrl,
    portsCollection(nbRows(context), () => sbChassis(context.backend.sbReplica)),
  );
};
