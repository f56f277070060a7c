/**
 * `GET /v2.0/availability_zones`: the zones the chassis name in their
 * ovn-cms-options (`availability-zones=az1:az2`). Every chassis' zones are
 * zones for networks; a gateway chassis' are zones for routers too (router
 * ports are scheduled on gateways). State is always "available": a zone
 * is there while some chassis names it. Everyone may list them.
 */
import type { SbReplica } from "../../backend.js";
import { listAnswer, type ReadableCollection } from "../collection.js";
import { callerOf, type ResourceRoutes } from "../context.js";
import { normalizeQuery, type RawQuery, type View } from "../query.js";
import {
  availabilityZonesOf,
  isGatewayChassis,
  type ChassisOptionsRow,
} from "./chassis-options.js";

export interface AvailabilityZone {
  name: string;
  resource: "network" | "router";
  state: "available";
}

/** The zones of these chassis, each (name, resource) once, by name then resource. */
export function availabilityZones(chassis: Iterable<ChassisOptionsRow>): AvailabilityZone[] {
  const found = new Map<string, AvailabilityZone>();
  const add = (name: string, resource: AvailabilityZone["resource"]) =>
    found.set(`${name}\0${resource}`, { name, resource, state: "available" });
  for (const ch of chassis) {
    const gateway = isGatewayChassis(ch);
    for (const name of availabilityZonesOf(ch)) {
      add(name, "network");
      if (gateway) add(name, "router");
    }
  }
  return [...found.values()].sort((a, b) =>
    a.name === b.name ? a.resource.localeCompare(b.resource) : a.name < b.name ? -1 : 1,
  );
}

/** Names of the zones networks may be placed in (what `availability_zone_hints` may say). */
export function networkZoneNames(sb: SbReplica): Set<string> {
  return new Set(
    availabilityZones(sb.table("Chassis").values())
      .filter((z) => z.resource === "network")
      .map((z) => z.name),
  );
}

function zonesCollection(sb: SbReplica): ReadableCollection {
  // A zone has no id; the list machinery keys views by one, which the answer leaves out.
  const views = (): View[] =>
    availabilityZones(sb.table("Chassis").values()).map((z) => ({
      id: `${z.resource}:${z.name}`,
      ...z,
    }));
  return {
    singular: "availability_zone",
    plural: "availability_zones",
    label: "AvailabilityZone",
    attributes: new Set(["name", "resource", "state"]),
    all: views,
    get: (id) => views().find((v) => v.id === id),
    sharedWithAll: () => true,
  };
}

export const availabilityZoneRoutes: ResourceRoutes = (app, context, baseUrl) => {
  const zones = zonesCollection(context.backend.sbReplica);
  const path = "/v2.0/availability_zones";
  app.get(
    path,
    { schema: { summary: "List availability zones", tags: ["availability_zones"] } },
    async (request) => {
      const answer = listAnswer(
        zones,
        callerOf(request),
        normalizeQuery(request.query as RawQuery),
        `${baseUrl}${path}`,
      );
      const items = answer.availability_zones as Record<string, unknown>[];
      answer.availability_zones = items.map(({ id: _id, ...zone }) => zone);
      return answer;
    },
  );
};
