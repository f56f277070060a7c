/**
 * The control API's restart endpoint (`microovn restart`): this member's
 * OVN and OVS programs started again one by one, e.g. onto new binaries.
 * It runs with the other steps, one at a time, so no service change or
 * refresh restarts a program underneath it.
 */
import { MicroOvnError } from "../../errors.js";
import { restartPrograms } from "../../lifecycle/restart.js";
import { log } from "../log.js";
import type { RouteContext } from "./route-context.js";
import type { Route } from "./router.js";

function programList(body: Record<string, unknown>): string[] {
  const value = body.programs ?? [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
    throw new MicroOvnError("BAD_REQUEST", `"programs" must be a list of service or program names`);
  }
  return value;
}

export function restartRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "POST",
      path: "/restart",
      handler: async ({ body }) => {
        const requested = programList(body);
        log(`restart requested: ${requested.length > 0 ? requested.join(", ") : "every program"}`);
        return { restarted: await rt.exclusive(() => restartPrograms(rt, requested, log)) };
      },
    },
  ];
}
