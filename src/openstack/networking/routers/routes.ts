/**
 * The routes of Neutron's `router` and `extraroute-atomic` extensions:
 * the router collection through the shared machinery, and the member
 * actions `add_router_interface`, `remove_router_interface`,
 * `add_extraroutes` and `remove_extraroutes` (PUT, 200), each one NB
 * transaction. When NB's answer is lost they answer from the replica, 200
 * or 503, as creates, updates and deletes do: the interface actions by
 * whether the interface's router port is there (writeNbTelling), the route
 * actions by the router's new revision (writeUpdateTelling).
 */
import { Type } from "typebox";
import { formatIp, formatPrefix, parseIp, parsePrefix } from "../addresses.js";
import { registerCollection, writeHoldingRow, writeUpdateTelling } from "../collection.js";
import { callerOf, type ResourceRoutes } from "../context.js";
import { nbRows, type NbRows } from "../rows.js";
import { writeNbTelling, type NbTransaction } from "../write.js";
import { extraRoutesOf, routeKey, writeRoutes, type ExtraRoute } from "./extra-routes.js";
import { InterfaceBody, addInterface, removeInterface, type InterfaceInfo } from "./interfaces.js";
import { lrpName } from "./names.js";
import { RouteSchema, routersCollection, wantedRoutes, writableRouter } from "./routers.js";

const IdParams = Type.Object({ id: Type.String() });
const RoutesBody = Type.Object(
  {
    router: Type.Object({ routes: Type.Array(RouteSchema) }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);

/** A route as written canonically where it parses, as given otherwise (it then matches nothing). */
function canonical(r: ExtraRoute): ExtraRoute {
  const d = parsePrefix(r.destination);
  const n = parseIp(r.nexthop);
  return {
    destination: d ? formatPrefix(d) : r.destination,
    nexthop: n ? formatIp(n.version, n.value) : r.nexthop,
  };
}

/** Adds routes to the router's (checked, once each) or takes them out (absent ones are no error). */
function changeRoutes(
  rows: NbRows,
  txn: NbTransaction,
  caller: ReturnType<typeof callerOf>,
  id: string,
  routes: readonly ExtraRoute[],
  add: boolean,
): void {
  const { lr } = writableRouter(rows, caller, id);
  const current = extraRoutesOf(rows, lr);
  let wanted: ExtraRoute[];
  if (add) {
    wanted = wantedRoutes(rows, id, lr, [...current, ...routes]);
  } else {
    const out = new Set(routes.map((r) => routeKey(canonical(r))));
    wanted = current.filter((r) => !out.has(routeKey(r)));
  }
  writeRoutes(txn, rows, lr, wanted);
  // As Neutron: every change of routes is a new revision of the router.
  writeHoldingRow(
    txn,
    { table: "Logical_Router", uuid: lr._uuid, externalIds: lr.external_ids },
    {},
  );
}

export const routerRoutes: ResourceRoutes = (app, context, baseUrl) => {
  const rows = nbRows(context);
  const nb = context.backend.nb;
  const routers = routersCollection(rows, () =>
    context.backend.sbReplica.table("Chassis").values(),
  );
  registerCollection(app, context, baseUrl, routers);
  const tags = ["routers"];
  for (const action of ["add_router_interface", "remove_router_interface"] as const) {
    app.put(
      `/v2.0/routers/:id/${action}`,
      {
        schema: {
          summary:
            action === "add_router_interface"
              ? "Add an interface (by subnet or by port)"
              : "Remove an interface (by subnet or by port)",
          tags,
          params: IdParams,
          body: InterfaceBody,
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const { id } = request.params;
        const body = request.body;
        const adding = action === "add_router_interface";
        const change = adding ? addInterface : removeInterface;
        // Whether the interface's router port is there tells, after a lost
        // answer, whether the change was made (the transaction is whole or nothing).
        const lrpThere = (info: InterfaceInfo) =>
          rows.replica.table("Logical_Router_Port").lookup({ name: lrpName(info.port_id) }) !==
          undefined;
        return writeNbTelling(
          nb,
          context.backend.nbReplica,
          (txn) => change(rows, txn, caller, id, body),
          (info) => lrpThere(info) === adding,
        );
      },
    );
  }
  for (const action of ["add_extraroutes", "remove_extraroutes"] as const) {
    app.put(
      `/v2.0/routers/:id/${action}`,
      {
        schema: {
          summary:
            action === "add_extraroutes"
              ? "Add extra routes to the router's"
              : "Remove extra routes from the router's",
          tags,
          params: IdParams,
          body: RoutesBody,
        },
      },
      async (request) => {
        const caller = callerOf(request);
        const { id } = request.params;
        const { routes } = request.body.router;
        await writeUpdateTelling(context, routers, id, (txn) =>
          changeRoutes(rows, txn, caller, id, routes, action === "add_extraroutes"),
        );
        return { router: routers.get(id) };
      },
    );
  }
};
