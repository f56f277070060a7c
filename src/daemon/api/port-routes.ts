/**
 * The control API's VIF endpoints (`microovn port …`): plug, unplug and list
 * the interfaces bound to logical switch ports on this chassis, and read a
 * port from NB for `port libvirt-xml`. Plugs and unplugs run one at a time
 * with the other steps, so two plugs of one interface cannot both win.
 */
import { MicroOvnError } from "../../errors.js";
import { listPorts, lookupLogicalPort, plugPort, unplugPort } from "../../lifecycle/port.js";
import { checkPortId } from "../../ovn/vif.js";
import { log } from "../log.js";
import type { RouteContext } from "./route-context.js";
import type { Route } from "./router.js";
import { optionalString } from "./routes.js";

export function portRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "GET",
      path: "/ports",
      handler: async () => ({ ports: await listPorts(rt) }),
    },
    {
      method: "PUT",
      path: "/ports/:port",
      handler: async ({ params, body }) => {
        const iface = optionalString(body, "iface");
        if (iface === undefined) throw new MicroOvnError("BAD_REQUEST", `"iface" is required`);
        const mac = optionalString(body, "mac");
        const plugged = await rt.exclusive(() =>
          plugPort(rt, {
            portId: params.port ?? "",
            iface,
            ...(mac !== undefined ? { mac } : {}),
            check: body.check !== false,
          }),
        );
        if (plugged.change !== "unchanged") {
          log(
            `port ${plugged.portId} ${plugged.change} on ${plugged.iface} (${plugged.mac})` +
              (plugged.checked ? "" : " without looking it up in NB"),
          );
        }
        return { port: plugged };
      },
    },
    {
      method: "DELETE",
      path: "/ports/:target",
      handler: async ({ params }) => {
        const vif = await rt.exclusive(() => unplugPort(rt, params.target ?? ""));
        log(`port ${vif.portId} unplugged from ${vif.iface}`);
        return { port: vif };
      },
    },
    {
      method: "GET",
      path: "/ports/:port/logical",
      handler: async ({ params }) => {
        rt.requireConfig();
        const portId = checkPortId(params.port ?? "");
        return {
          port: await lookupLogicalPort(
            rt,
            portId,
            "try again once `microovn status` shows it healthy",
          ),
        };
      },
    },
  ];
}
