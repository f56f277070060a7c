/**
 * A router's extra routes (`routes`, Neutron's `extraroute` and
 * `extraroute-atomic` extensions) → Logical_Router_Static_Route rows of
 * its Logical_Router, `ip_prefix` and `nexthop` as given, marked
 * `neutron:is_static_route` as ML2/OVN marks them so they are told from
 * the gateway's default route (`neutron:is_ext_gw`). A nexthop must be on
 * one of the router's subnets and not one of its own addresses, as in
 * Neutron. The checks are pure; `writeRoutes` is the NB change.
 */
import type { LogicalRouter } from "../../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../../errors.js";
import {
  contains,
  formatIp,
  formatPrefix,
  parseIp,
  parsePrefix,
  type IpVersion,
  type Prefix,
} from "../addresses.js";
import type { NbRows } from "../rows.js";
import type { NbTransaction } from "../write.js";
import { ROUTER_KEYS } from "./names.js";
import { staticRoutes } from "./rows.js";

export interface ExtraRoute {
  destination: string;
  nexthop: string;
}

/** Neutron's max_routes. */
export const MAX_ROUTES = 30;

/** One of the router's own addresses on an interface, with its subnet's prefix. */
export interface ConnectedAddress {
  version: IpVersion;
  address: bigint;
  prefix: Prefix;
}

/** The router's addresses from its ports' `networks` ("10.0.0.1/24", "fd00::1/64"). */
export function connectedAddresses(networks: Iterable<string>): ConnectedAddress[] {
  const out: ConnectedAddress[] = [];
  for (const text of networks) {
    const [ip, length] = text.split("/");
    const parsed = parseIp(ip ?? "");
    if (!parsed || length === undefined) continue;
    const bits = parsed.version === 4 ? 32 : 128;
    const hostBits = BigInt(bits - Number(length));
    const network = (parsed.value >> hostBits) << hostBits;
    const prefix = parsePrefix(`${formatIp(parsed.version, network)}/${length}`);
    if (prefix) out.push({ version: parsed.version, address: parsed.value, prefix });
  }
  return out;
}

/** Python's repr of the routes, as Neutron's InvalidRoutes message prints them. */
function pythonList(routes: readonly ExtraRoute[]): string {
  const items = routes.map((r) => `{'destination': '${r.destination}', 'nexthop': '${r.nexthop}'}`);
  return `[${items.join(", ")}]`;
}

function invalidRoutes(routes: readonly ExtraRoute[], reason: string): ApiError {
  return new ApiError(
    400,
    `Invalid format for routes: ${pythonList(routes)}, ${reason}`,
    "InvalidRoutes",
  );
}

/**
 * The routes checked and written canonically (duplicates once), or a 400
 * with Neutron's message: a destination that is not a CIDR, a nexthop
 * that is not an address of the destination's version, a nexthop on none
 * of the router's subnets, or one of the router's own addresses.
 */
export function checkRoutes(
  routerId: string,
  routes: readonly ExtraRoute[],
  connected: readonly ConnectedAddress[],
): ExtraRoute[] {
  const out = new Map<string, ExtraRoute>();
  for (const r of routes) {
    const destination = parsePrefix(r.destination);
    if (!destination) {
      throw invalidRoutes(
        routes,
        `the destination '${r.destination}' is not a CIDR (no host bits set, e.g. 10.9.0.0/16)`,
      );
    }
    const nexthop = parseIp(r.nexthop);
    if (!nexthop || nexthop.version !== destination.version) {
      throw invalidRoutes(
        routes,
        `the nexthop '${r.nexthop}' is not an IPv${destination.version} address`,
      );
    }
    const mine = connected.filter((c) => c.version === nexthop.version);
    if (mine.some((c) => c.address === nexthop.value)) {
      throw invalidRoutes(routes, "the nexthop is used by router");
    }
    if (!mine.some((c) => contains(c.prefix, nexthop.version, nexthop.value))) {
      throw invalidRoutes(routes, "the nexthop is not connected with router");
    }
    const route = {
      destination: formatPrefix(destination),
      nexthop: formatIp(nexthop.version, nexthop.value),
    };
    out.set(routeKey(route), route);
  }
  if (out.size > MAX_ROUTES) {
    throw new ApiError(
      400,
      `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${MAX_ROUTES}.`,
      "RoutesExhausted",
    );
  }
  return [...out.values()];
}

export function routeKey(r: ExtraRoute): string {
  return `${r.destination} ${r.nexthop}`;
}

/** The router's extra routes as NB holds them (not the gateway's default route). */
export function extraRoutesOf(rows: NbRows, lr: LogicalRouter): ExtraRoute[] {
  return staticRoutes(rows, lr)
    .filter((r) => !r.external_ids.has(ROUTER_KEYS.isExtGw))
    .map((r) => ({ destination: r.ip_prefix, nexthop: r.nexthop }));
}

/** Makes the router's extra routes exactly `wanted`: rows that go, rows that come; none kept twice. */
export function writeRoutes(
  txn: NbTransaction,
  rows: NbRows,
  lr: LogicalRouter,
  wanted: readonly ExtraRoute[],
): void {
  const want = new Set(wanted.map(routeKey));
  const have = new Set<string>();
  const gone: string[] = [];
  for (const r of staticRoutes(rows, lr)) {
    if (r.external_ids.has(ROUTER_KEYS.isExtGw)) continue;
    const key = routeKey({ destination: r.ip_prefix, nexthop: r.nexthop });
    if (want.has(key) && !have.has(key)) have.add(key);
    else gone.push(r._uuid);
  }
  const added = wanted
    .filter((r) => !have.has(routeKey(r)))
    .map((r) =>
      txn.insert("Logical_Router_Static_Route", {
        ip_prefix: r.destination,
        nexthop: r.nexthop,
        external_ids: new Map([[ROUTER_KEYS.isStaticRoute, "true"]]),
      }),
    );

  // Static routes belong to their router: those it no longer names are deleted by the server.
  if (gone.length > 0)
    txn.mutate("Logical_Router", [["_uuid", "==", lr._uuid]], [["static_routes", "delete", gone]]);
  if (added.length > 0)
    txn.mutate("Logical_Router", [["_uuid", "==", lr._uuid]], [["static_routes", "insert", added]]);
}
