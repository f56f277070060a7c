/**
 * Networks → Logical_Switch `neutron-<id>`, as Neutron's ML2/OVN driver
 * writes it: external_ids `neutron:network_name`, `neutron:mtu`,
 * `neutron:revision_number`, `neutron:availability_zone_hints`, and
 * other_config `mcast_snoop`/`mcast_flood_unregistered`/`vlan-passthru`
 * off. A provider network (flat or vlan) gets a localnet port
 * `provnet-<segment id>` naming the physical network (and the VLAN tag),
 * which ovn-controller ties to a bridge through the chassis' bridge
 * mappings. What Neutron keeps in its own database (project, shared,
 * admin_state_up, port_security_enabled, router:external, the segment)
 * is under our `microovn:` keys.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import { isAdmin, type Caller } from "../auth/caller.js";
import type { LogicalSwitch } from "../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../errors.js";
import {
  MICROOVN,
  NEUTRON,
  createdIds,
  standardAttributes,
  type ExternalIds,
  COMMON_ATTRIBUTES,
} from "./attributes.js";
import {
  notFound,
  owningProject,
  registerCollection,
  writeHoldingRow,
  type Collection,
  type Item,
} from "./collection.js";
import { networkZoneNames } from "./agents/availability-zones.js";
import type { ResourceRoutes } from "./context.js";
import { dhcpOptionsWithMtu } from "./dhcp.js";
import type { View } from "./query.js";
import { SUBNET_NETWORK, nbRows, switchName, type NbRows } from "./rows.js";
import {
  BooleanLike,
  CREATE_ONLY,
  IntegerLike,
  Text255,
  toBoolean,
  toInteger,
} from "./validation.js";
import { expectNone, expectSame, type NbTransaction } from "./write.js";

/** Our keys on the switch. */
export const NETWORK_KEYS = {
  adminStateUp: "microovn:admin_state_up",
  shared: "microovn:shared",
  portSecurity: "microovn:port_security_enabled",
  routerExternal: "microovn:router_external",
  networkType: "microovn:network_type",
  physicalNetwork: "microovn:physical_network",
  segmentationId: "microovn:segmentation_id",
  segmentId: "microovn:segment_id",
  /** "vlan/physnet1/100", "flat/physnet1", "geneve/5": one network each, checked with wait. */
  segment: "microovn:segment",
} as const;

export const NETWORK_TYPES = ["geneve", "vlan", "flat"] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

/** Neutron's default: a 1500-byte physical MTU, less Geneve's 58 bytes for tenant networks. */
export const PHYSICAL_MTU = 1500;
export const GENEVE_OVERHEAD = 58;
const MIN_MTU = 68;
const MAX_VLAN = 4094;
/** Geneve's VNI is 24 bits. */
const MAX_VNI = 2 ** 24 - 1;

export function maxMtu(type: NetworkType): number {
  return type === "geneve" ? PHYSICAL_MTU - GENEVE_OVERHEAD : PHYSICAL_MTU;
}

export function localnetPortName(segmentId: string): string {
  return `provnet-${segmentId}`;
}

/** What an update may change (and the provider attributes, refused with a reason). */
const networkAttributes = {
  name: Type.Optional(Text255()),
  description: Type.Optional(Text255()),
  admin_state_up: Type.Optional(BooleanLike()),
  shared: Type.Optional(BooleanLike()),
  mtu: Type.Optional(IntegerLike()),
  port_security_enabled: Type.Optional(BooleanLike()),
  "router:external": Type.Optional(BooleanLike()),
  "provider:network_type": Type.Optional(Type.String()),
  "provider:physical_network": Type.Optional(Type.Union([Type.String(), Type.Null()])),
  "provider:segmentation_id": Type.Optional(Type.Union([IntegerLike(), Type.Null()])),
};

const CreateNetwork = Type.Object(
  {
    ...networkAttributes,
    availability_zone_hints: Type.Optional(Type.Array(Type.String({ maxLength: 255 }))),
    ...CREATE_ONLY,
  },
  { additionalProperties: false },
);

const UpdateNetwork = Type.Object(networkAttributes, { additionalProperties: false });

export const NETWORK_ATTRIBUTES = [
  ...COMMON_ATTRIBUTES,
  "admin_state_up",
  "mtu",
  "status",
  "subnets",
  "shared",
  "availability_zone_hints",
  "availability_zones",
  "ipv4_address_scope",
  "ipv6_address_scope",
  "router:external",
  "port_security_enabled",
  "provider:network_type",
  "provider:physical_network",
  "provider:segmentation_id",
  "l2_adjacency",
] as const;

function flag(ids: ExternalIds, key: string, byDefault: boolean): boolean {
  const v = ids.get(key);
  return v === undefined ? byDefault : v === "true";
}

function list(text: string | undefined): string[] {
  return text ? text.split(",").filter((x) => x !== "") : [];
}

export function networkView(id: string, ls: LogicalSwitch, subnetIds: string[]): View {
  const ids = ls.external_ids;
  const project = ids.get(MICROOVN.projectId) ?? "";
  const type = ids.get(NETWORK_KEYS.networkType) ?? "geneve";
  const segmentation = ids.get(NETWORK_KEYS.segmentationId);
  return {
    id,
    name: ids.get(NEUTRON.networkName) ?? "",
    tenant_id: project,
    project_id: project,
    admin_state_up: flag(ids, NETWORK_KEYS.adminStateUp, true),
    mtu: Number(ids.get(NEUTRON.mtu) ?? maxMtu("geneve")),
    status: "ACTIVE",
    subnets: subnetIds,
    shared: flag(ids, NETWORK_KEYS.shared, false),
    availability_zone_hints: list(ids.get(NEUTRON.azHints)),
    // ML2/OVN answers the hints: the switch spans every chassis, hinted or not.
    availability_zones: list(ids.get(NEUTRON.azHints)),
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    "router:external": flag(ids, NETWORK_KEYS.routerExternal, false),
    port_security_enabled: flag(ids, NETWORK_KEYS.portSecurity, true),
    "provider:network_type": type,
    "provider:physical_network": ids.get(NETWORK_KEYS.physicalNetwork) ?? null,
    "provider:segmentation_id": segmentation === undefined ? null : Number(segmentation),
    l2_adjacency: true,
    ...standardAttributes(ids),
  };
}

interface Segment {
  type: NetworkType;
  physicalNetwork: string | undefined;
  segmentationId: number | undefined;
}

function segmentKey(s: Segment): string {
  return [s.type, s.physicalNetwork, s.segmentationId].filter((x) => x !== undefined).join("/");
}

function badRequest(message: string): ApiError {
  return new ApiError(400, message, "InvalidInput");
}

/** The segment a create request asks for, checked; a Geneve id is found later if none is given. */
export function requestedSegment(item: Item): Segment {
  const typeText = (item["provider:network_type"] as string | undefined) ?? "geneve";
  if (!(NETWORK_TYPES as readonly string[]).includes(typeText)) {
    throw badRequest(
      `Invalid input for operation: network_type value '${typeText}' not supported; use one of ${NETWORK_TYPES.join(", ")}.`,
    );
  }
  const type = typeText as NetworkType;
  const physnet = (item["provider:physical_network"] as string | null | undefined) ?? undefined;
  const rawId = item["provider:segmentation_id"] as number | string | null | undefined;
  const segmentationId =
    rawId === null || rawId === undefined
      ? undefined
      : toInteger(rawId, "provider:segmentation_id", {
          min: 1,
          max: type === "vlan" ? MAX_VLAN : MAX_VNI,
        });
  if (type === "geneve" && physnet !== undefined) {
    throw badRequest(
      "Invalid input for operation: provider:physical_network is for flat and vlan networks, not geneve.",
    );
  }
  if (type !== "geneve" && (physnet === undefined || physnet === "")) {
    throw badRequest(
      `Invalid input for operation: a ${type} network needs provider:physical_network.`,
    );
  }
  if (physnet !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(physnet)) {
    throw badRequest(
      `Invalid input for operation: physical network name '${physnet}' must be 1 to 64 letters, digits or _.:-, as in the chassis' bridge mappings.`,
    );
  }
  if (type === "flat" && segmentationId !== undefined) {
    throw badRequest("Invalid input for operation: a flat network has no segmentation_id.");
  }
  if (type === "vlan" && segmentationId === undefined) {
    throw badRequest(
      `Invalid input for operation: a vlan network needs provider:segmentation_id, 1 to ${MAX_VLAN}.`,
    );
  }
  return { type, physicalNetwork: physnet, segmentationId };
}

function segmentInUse(segment: Segment): ApiError {
  const where = segment.physicalNetwork ? ` on physical network ${segment.physicalNetwork}` : "";
  if (segment.type === "vlan") {
    return new ApiError(
      409,
      `Unable to create the network. The VLAN ${segment.segmentationId}${where} is in use.`,
      "VlanIdInUse",
    );
  }
  if (segment.type === "flat") {
    return new ApiError(
      409,
      `Unable to create the flat network. Physical network ${segment.physicalNetwork} is in use.`,
      "FlatNetworkInUse",
    );
  }
  return new ApiError(
    409,
    `Unable to create the network. The tunnel ID ${segment.segmentationId} is in use.`,
    "TunnelIdInUse",
  );
}

/** Segment keys in use, from the replica. */
function usedSegments(rows: NbRows): Set<string> {
  const used = new Set<string>();
  for (const [, ls] of rows.networks()) {
    const key = ls.external_ids.get(NETWORK_KEYS.segment);
    if (key) used.add(key);
  }
  return used;
}

function checkMtu(mtu: number, type: NetworkType): number {
  const max = maxMtu(type);
  if (mtu < MIN_MTU || mtu > max) {
    throw badRequest(
      `Invalid input for operation: Requested MTU is ${mtu}; a ${type} network takes ${MIN_MTU} to ${max}.`,
    );
  }
  return mtu;
}

function adminOnly(caller: Caller, item: Item, attributes: readonly string[], action: string) {
  if (isAdmin(caller)) return;
  const named = attributes.filter((a) => item[a] !== undefined && item[a] !== false);
  if (named.length > 0) {
    throw new ApiError(
      403,
      `(rule:${action}_network:${named[0]}) is disallowed by policy: only an admin sets ${named.join(", ")}`,
      "PolicyNotAuthorized",
    );
  }
}

const ADMIN_ONLY = [
  "provider:network_type",
  "provider:physical_network",
  "provider:segmentation_id",
  "router:external",
] as const;

/** Every hint must be a zone some chassis names, as Neutron checks. */
function checkZoneHints(hints: readonly string[], zones: ReadonlySet<string>): void {
  const unknown = hints.filter((h) => !zones.has(h));
  if (unknown.length > 0) {
    throw new ApiError(
      404,
      `AvailabilityZone ${unknown.join(", ")} could not be found.`,
      "AvailabilityZoneNotFound",
    );
  }
}

/**
 * The network collection over the replica of `context`; `zones` (the
 * network zones the chassis name) checks `availability_zone_hints` on create.
 */
export function networksCollection(
  rows: NbRows,
  zones: () => ReadonlySet<string> = () => new Set(),
): Collection {
  const collection: Collection = {
    singular: "network",
    plural: "networks",
    label: "Network",
    attributes: new Set(NETWORK_ATTRIBUTES),
    createSchema: CreateNetwork,
    updateSchema: UpdateNetwork,
    *all() {
      for (const [id, ls] of rows.networks()) {
        yield networkView(id, ls, subnetIdsOf(rows, id));
      }
    },
    get(id) {
      const ls = rows.network(id);
      return ls ? networkView(id, ls, subnetIdsOf(rows, id)) : undefined;
    },
    sharedWithAll: (view) => view.shared === true,
    generation: () => rows.generation,
    holdingRow(id) {
      const ls = rows.network(id);
      return ls && { table: "Logical_Switch", uuid: ls._uuid, externalIds: ls.external_ids };
    },
    create(txn, items, caller) {
      const used = usedSegments(rows);
      for (const item of items) {
        const hints = item.availability_zone_hints as string[] | undefined;
        if (hints?.length) checkZoneHints(hints, zones());
      }
      return items.map((item) => createNetwork(txn, item, caller, used));
    },
    update(txn, view, changes, caller) {
      updateNetwork(rows, txn, view, changes, caller);
    },
    remove(txn, view) {
      removeNetwork(rows, txn, view.id);
    },
  };
  return collection;
}

function subnetIdsOf(rows: NbRows, networkId: string): string[] {
  return rows.subnetsOf(networkId).map((r) => r.external_ids.get(NEUTRON.subnetId) ?? "");
}

function createNetwork(txn: NbTransaction, item: Item, caller: Caller, used: Set<string>): string {
  const project = owningProject(caller, item, "network");
  adminOnly(caller, item, [...ADMIN_ONLY, "shared"], "create");
  const segment = requestedSegment(item);
  if (segment.type === "geneve" && segment.segmentationId === undefined) {
    let vni = 1;
    while (used.has(segmentKey({ ...segment, segmentationId: vni }))) vni++;
    segment.segmentationId = vni;
  }
  const key = segmentKey(segment);
  if (used.has(key)) throw segmentInUse(segment);
  used.add(key);
  const mtu = checkMtu(
    item.mtu === undefined ? maxMtu(segment.type) : toInteger(item.mtu as number | string, "mtu"),
    segment.type,
  );
  const id = randomUUID();
  const segmentId = randomUUID();
  const bool = (name: string, byDefault: boolean) =>
    String(item[name] === undefined ? byDefault : toBoolean(item[name] as boolean | string, name));
  const ids = createdIds({
    description: item.description as string | undefined,
    tags: item.tags as string[] | undefined,
  });
  const set = (k: string, v: string | undefined) => v !== undefined && ids.set(k, v);
  set(NEUTRON.networkName, (item.name as string | undefined) ?? "");
  set(NEUTRON.mtu, String(mtu));
  set(NEUTRON.azHints, ((item.availability_zone_hints as string[] | undefined) ?? []).join(","));
  set(MICROOVN.projectId, project);
  set(NETWORK_KEYS.adminStateUp, bool("admin_state_up", true));
  set(NETWORK_KEYS.shared, bool("shared", false));
  set(NETWORK_KEYS.portSecurity, bool("port_security_enabled", true));
  set(NETWORK_KEYS.routerExternal, bool("router:external", false));
  set(NETWORK_KEYS.networkType, segment.type);
  set(NETWORK_KEYS.physicalNetwork, segment.physicalNetwork);
  set(
    NETWORK_KEYS.segmentationId,
    segment.segmentationId === undefined ? undefined : String(segment.segmentationId),
  );
  set(NETWORK_KEYS.segmentId, segmentId);
  set(NETWORK_KEYS.segment, key);
  // Another API server may have taken the segment since the replica showed it free.
  expectNone(txn, "Logical_Switch", { [NETWORK_KEYS.segment]: key });
  const ports: string[] = [];
  if (segment.physicalNetwork !== undefined) {
    ports.push(
      txn.insert("Logical_Switch_Port", {
        name: localnetPortName(segmentId),
        type: "localnet",
        addresses: ["unknown"],
        options: {
          network_name: segment.physicalNetwork,
          mcast_flood_reports: "true",
          mcast_flood: "false",
        },
        ...(segment.type === "vlan" ? { tag_request: segment.segmentationId } : {}),
      }),
    );
  }
  txn.insert("Logical_Switch", {
    name: switchName(id),
    ports,
    external_ids: ids,
    other_config: {
      mcast_snoop: "false",
      mcast_flood_unregistered: "false",
      "vlan-passthru": "false",
    },
  });
  return id;
}

function updateNetwork(
  rows: NbRows,
  txn: NbTransaction,
  view: View,
  changes: Item,
  caller: Caller,
): void {
  const ls = rows.network(view.id);
  if (!ls) throw notFound("Network", view.id);
  for (const attribute of [
    "provider:network_type",
    "provider:physical_network",
    "provider:segmentation_id",
  ]) {
    if (changes[attribute] !== undefined) {
      throw badRequest(
        `Invalid input for operation: ${attribute} cannot be changed; make a new network.`,
      );
    }
  }
  adminOnly(caller, changes, ["router:external", "shared"], "update");
  const out: Record<string, string | undefined> = {};
  const bool = (name: string, key: string) => {
    if (changes[name] !== undefined) {
      out[key] = String(toBoolean(changes[name] as boolean | string, name));
    }
  };
  if (changes.name !== undefined) out[NEUTRON.networkName] = changes.name as string;
  if (changes.description !== undefined) out[MICROOVN.description] = changes.description as string;
  bool("admin_state_up", NETWORK_KEYS.adminStateUp);
  bool("shared", NETWORK_KEYS.shared);
  bool("port_security_enabled", NETWORK_KEYS.portSecurity);
  bool("router:external", NETWORK_KEYS.routerExternal);
  if (out[NETWORK_KEYS.shared] === "false" && view.shared === true) {
    const owner = view.project_id;
    const others = rows
      .portsOf(view.id)
      .some((p) => (p.external_ids.get(NEUTRON.projectId) ?? owner) !== owner);
    if (others) {
      throw new ApiError(
        409,
        `Unable to reconfigure sharing settings for network ${view.id}. Multiple tenants are using it.`,
        "InvalidSharedSetting",
      );
    }
  }
  if (changes.mtu !== undefined) {
    const type = view["provider:network_type"] as NetworkType;
    const mtu = checkMtu(toInteger(changes.mtu as number | string, "mtu"), type);
    out[NEUTRON.mtu] = String(mtu);
    if (mtu !== view.mtu) {
      // DHCP tells the new MTU, as ML2/OVN rewrites the subnets' options.
      for (const dhcp of rows.replica.table("DHCP_Options").values()) {
        if (dhcp.external_ids.get(SUBNET_NETWORK) !== view.id) continue;
        const options = dhcpOptionsWithMtu(dhcp.options, mtu);
        if (options) txn.update("DHCP_Options", [["_uuid", "==", dhcp._uuid]], { options });
      }
    }
  }
  writeHoldingRow(
    txn,
    { table: "Logical_Switch", uuid: ls._uuid, externalIds: ls.external_ids },
    out,
  );
}

/** Ports the network's own machinery made, deleted with it rather than blocking it. */
const NETWORK_OWNED = new Set(["network:dhcp", "network:distributed"]);

function removeNetwork(rows: NbRows, txn: NbTransaction, id: string): void {
  const ls = rows.network(id);
  if (!ls) throw notFound("Network", id);
  const inUse = rows
    .portsOf(id)
    .filter(
      (p) =>
        p.type !== "localnet" && !NETWORK_OWNED.has(p.external_ids.get(NEUTRON.deviceOwner) ?? ""),
    );
  if (inUse.length > 0) {
    throw new ApiError(
      409,
      `Unable to complete operation on network ${id}. There are one or more ports still in use on the network (${inUse
        .slice(0, 3)
        .map((p) => p.name)
        .join(", ")}${inUse.length > 3 ? ", …" : ""}).`,
      "NetworkInUse",
    );
  }
  // A port made on another server since the replica was read makes this fail and look again.
  expectSame(txn, "Logical_Switch", ls._uuid, { ports: ls.ports });
  // Subnets (and ports' own DHCP rows) are root rows: they go explicitly.
  txn.delete("DHCP_Options", [["external_ids", "includes", new Map([[SUBNET_NETWORK, id]])]]);
  txn.delete("Logical_Switch", [["_uuid", "==", ls._uuid]]);
}

export const networkRoutes: ResourceRoutes = (app, context, baseUrl) => {
  const zones = () => networkZoneNames(context.backend.sbReplica);
  registerCollection(app, context, baseUrl, networksCollection(nbRows(context), zones));
};
