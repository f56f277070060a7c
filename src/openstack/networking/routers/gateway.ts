/**
 * The seam for external gateways (router:external networks, SNAT, the
 * gateway port and its Gateway_Chassis): not served yet. A router
 * answers `external_gateway_info: null`; a request that only clears the
 * gateway (`null` or `{}`, as `router unset --external-gateway` sends) is
 * taken; one that names a network is refused, changing nothing. The part
 * that serves gateways replaces these two functions.
 */
import type { LogicalRouter } from "../../../ovsdb/models/ovn-northbound.js";
import { ApiError } from "../../errors.js";

/** What a router answers as its `external_gateway_info`. */
export function gatewayInfo(lr: LogicalRouter): Record<string, unknown> | null {
  void lr;
  return null;
}

/** Checks a requested `external_gateway_info`; throws for one this server cannot serve. */
export function checkGatewayRequest(value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value === "object" && Object.keys(value).length === 0) return;
  throw new ApiError(
    400,
    "Bad router request: external gateways are not served by this server yet; create the router without --external-gateway (interfaces and extra routes work).",
    "BadRequest",
  );
}
