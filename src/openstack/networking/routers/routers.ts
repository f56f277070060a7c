/**
 * Routers → Logical_Router `neutron-<id>`, as ML2/OVN writes it: `enabled`
 * from admin_state_up, options always_learn_from_arp_request=false and
 * dynamic_neigh_routers=true, external_ids `neutron:router_name`,
 * `neutron:gw_port_id` (empty until gateways are served), the revision
 * and the availability zone hints; what only Neutron's database holds
 * (project, description, tags, timestamps) under our `microovn:` keys.
 * `routes` are the router's extra routes (extra-routes.ts); interfaces
 * are added and removed through their own calls (interfaces.ts), and a
 * router that still has some cannot be deleted.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import type { Caller } from "../../auth/caller.js";
import type { LogicalRouter } from "../../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../../errors.js";
import {
  MICROOVN,
  NEUTRON,
  COMMON_ATTRIBUTES,
  changedIds,
  createdIds,
  standardAttributes,
} from "../attributes.js";
import { deletePort, portView } from "../ports.js";
import {
  notFound,
  owningProject,
  writableResource,
  writeHoldingRow,
  type Collection,
  type Item,
} from "../collection.js";
import type { View } from "../query.js";
import type { NbRows } from "../rows.js";
import { BooleanLike, CREATE_ONLY, Text255, toBoolean } from "../validation.js";
import { expectSame, type NbTransaction } from "../write.js";
import {
  checkRoutes,
  connectedAddresses,
  extraRoutesOf,
  writeRoutes,
  type ExtraRoute,
} from "./extra-routes.js";
import {
  gatewayInfo,
  gatewayPortId,
  gatewayRequest,
  writeGateway,
  type GatewayContext,
} from "./gateway.js";
import type { NamedChassis } from "./gateway-rows.js";
import { ROUTER_KEYS, ROUTER_OPTIONS, routerName } from "./names.js";
import { routerPorts, routerRow, routersById } from "./rows.js";

export const RouteSchema = Type.Object(
  { destination: Type.String(), nexthop: Type.String() },
  { additionalProperties: false },
);

const routerAttributes = {
  name: Type.Optional(Text255()),
  description: Type.Optional(Text255()),
  admin_state_up: Type.Optional(BooleanLike()),
  external_gateway_info: Type.Optional(
    Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  ),
};

const CreateRouter = Type.Object(
  {
    ...routerAttributes,
    availability_zone_hints: Type.Optional(Type.Array(Type.String({ maxLength: 255 }))),
    ...CREATE_ONLY,
  },
  { additionalProperties: false },
);

const UpdateRouter = Type.Object(
  {
    ...routerAttributes,
    routes: Type.Optional(Type.Union([Type.Array(RouteSchema), Type.Null()])),
  },
  { additionalProperties: false },
);

export const ROUTER_ATTRIBUTES = [
  ...COMMON_ATTRIBUTES,
  "admin_state_up",
  "status",
  "external_gateway_info",
  "routes",
  "availability_zone_hints",
  "availability_zones",
] as const;

function list(text: string | undefined): string[] {
  return text ? text.split(",").filter((x) => x !== "") : [];
}

export function routerView(
  id: string,
  lr: LogicalRouter,
  routes: ExtraRoute[],
  gateway: Record<string, unknown> | null,
): View {
  const ids = lr.external_ids;
  const project = ids.get(MICROOVN.projectId) ?? "";
  return {
    id,
    name: ids.get(ROUTER_KEYS.routerName) ?? "",
    tenant_id: project,
    project_id: project,
    admin_state_up: lr.enabled !== false,
    status: "ACTIVE",
    external_gateway_info: gateway,
    routes,
    availability_zone_hints: list(ids.get(NEUTRON.azHints)),
    availability_zones: [],
    ...standardAttributes(ids),
  };
}

/** The router's own addresses on its interfaces: where extra routes may point. */
export function routerAddresses(rows: NbRows, lr: LogicalRouter) {
  return connectedAddresses(routerPorts(rows, lr).flatMap((p) => p.networks));
}

/** The routes a request asks for, checked against the router's interfaces. */
export function wantedRoutes(
  rows: NbRows,
  id: string,
  lr: LogicalRouter,
  routes: readonly ExtraRoute[],
): ExtraRoute[] {
  return checkRoutes(id, routes, routerAddresses(rows, lr));
}

/** A router the caller may change, with its row: 404 or 403 otherwise. */
export function writableRouter(
  rows: NbRows,
  caller: Caller,
  id: string,
): { router: View; lr: LogicalRouter } {
  const router = writableResource(caller, routersCollection(rows), id, "update");
  return { router, lr: routerRow(rows, id)! };
}

/** A router's calls that only read and check it never ask which chassis SB knows. */
function noChassis(): never {
  throw new Error("this router call makes no gateway port");
}

/**
 * The router collection over the replica; `chassis` is asked (only when a
 * gateway port is made) which chassis SB knows, for its Gateway_Chassis.
 */
export function routersCollection(
  rows: NbRows,
  chassis: () => Iterable<NamedChassis> = noChassis,
): Collection {
  const view = (id: string, lr: LogicalRouter) =>
    routerView(id, lr, extraRoutesOf(rows, lr), gatewayInfo(rows, lr));
  const context = (txn: NbTransaction, caller: Caller): GatewayContext => ({
    rows,
    txn,
    caller,
    chassis,
  });
  return {
    singular: "router",
    plural: "routers",
    label: "Router",
    attributes: new Set(ROUTER_ATTRIBUTES),
    createSchema: CreateRouter,
    updateSchema: UpdateRouter,
    *all() {
      for (const [id, lr] of routersById(rows)) yield view(id, lr);
    },
    get(id) {
      const lr = routerRow(rows, id);
      return lr && view(id, lr);
    },
    generation: () => rows.generation,
    holdingRow(id) {
      const lr = routerRow(rows, id);
      return lr && { table: "Logical_Router", uuid: lr._uuid, externalIds: lr.external_ids };
    },
    create(txn, items, caller) {
      return items.map((item) => createRouter(context(txn, caller), item));
    },
    update(txn, v, changes, caller) {
      updateRouter(context(txn, caller), v, changes);
    },
    remove(txn, v, caller) {
      removeRouter(context(txn, caller), v.id);
    },
  };
}

function createRouter(g: GatewayContext, item: Item): string {
  const { txn, caller } = g;
  const project = owningProject(caller, item, "router");
  const gateway = gatewayRequest(item.external_gateway_info);
  const id = randomUUID();
  const ids = createdIds({
    description: item.description as string | undefined,
    tags: item.tags as string[] | undefined,
  });
  ids.set(ROUTER_KEYS.routerName, (item.name as string | undefined) ?? "");
  ids.set(ROUTER_KEYS.gwPortId, "");
  ids.set(
    NEUTRON.azHints,
    ((item.availability_zone_hints as string[] | undefined) ?? []).join(","),
  );
  ids.set(MICROOVN.projectId, project);
  const ref = txn.insert("Logical_Router", {
    name: routerName(id),
    enabled:
      item.admin_state_up === undefined
        ? true
        : toBoolean(item.admin_state_up as string, "admin_state_up"),
    options: new Map(Object.entries(ROUTER_OPTIONS)),
    external_ids: ids,
  });
  if (gateway) {
    // The gateway's rows refer to the router, so it is written after the router is inserted.
    const out = writeGateway(g, { id, ref, lr: undefined }, gateway);
    txn.update("Logical_Router", [["_uuid", "==", ref]], {
      external_ids: changedIds(ids, out),
    });
  }
  return id;
}

function updateRouter(g: GatewayContext, view: View, changes: Item): void {
  const { rows, txn } = g;
  const lr = routerRow(rows, view.id);
  if (!lr) throw notFound("Router", view.id);
  const gateway = gatewayRequest(changes.external_gateway_info);
  const out: Record<string, string | undefined> =
    gateway === undefined ? {} : writeGateway(g, { id: view.id, ref: lr._uuid, lr }, gateway);
  if (changes.name !== undefined) out[ROUTER_KEYS.routerName] = changes.name as string;
  if (changes.description !== undefined) out[MICROOVN.description] = changes.description as string;
  if (changes.routes !== undefined) {
    const routes = (changes.routes as ExtraRoute[] | null) ?? [];
    writeRoutes(txn, rows, lr, wantedRoutes(rows, view.id, lr, routes));
  }
  if (changes.admin_state_up !== undefined) {
    const enabled = toBoolean(changes.admin_state_up as string, "admin_state_up");
    txn.update("Logical_Router", [["_uuid", "==", lr._uuid]], { enabled });
  }
  writeHoldingRow(
    txn,
    { table: "Logical_Router", uuid: lr._uuid, externalIds: lr.external_ids },
    out,
  );
}

function removeRouter(g: GatewayContext, id: string): void {
  const { rows, txn } = g;
  const lr = routerRow(rows, id);
  if (!lr) throw notFound("Router", id);
  // As Neutron: the gateway goes with its router, interfaces must be removed first.
  const gatewayPort = gatewayPortId(lr);
  if (lr.ports.length > (gatewayPort === undefined ? 0 : 1)) {
    throw new ApiError(409, `Router ${id} still has ports`, "RouterInUse");
  }
  // An interface added on another server since the replica was read makes this look again.
  expectSame(txn, "Logical_Router", lr._uuid, { ports: lr.ports });
  const gatewayLsp = gatewayPort === undefined ? undefined : rows.port(gatewayPort);
  if (gatewayLsp) deletePort(rows, txn, portView(gatewayLsp));
  // Its static routes, NAT rows and router ports belong to it and go with it.
  txn.delete("Logical_Router", [["_uuid", "==", lr._uuid]]);
}
