/**
 * What the router calls share: Neutron's "Bad router request" error, and
 * the rights Neutron gives itself when it makes a router's ports.
 */
import { ADMIN_ROLE, type Caller } from "../../auth/caller.js";
import { ApiError } from "../../errors.js";

export function badRouterRequest(message: string): ApiError {
  return new ApiError(400, `Bad router request: ${message}.`, "BadRequest");
}

/**
 * A router's port on a subnet or an external network is made with the
 * rights Neutron gives itself there, whoever asks.
 */
export function asService(caller: Caller): Caller {
  return { ...caller, roles: [...caller.roles, ADMIN_ROLE] };
}
