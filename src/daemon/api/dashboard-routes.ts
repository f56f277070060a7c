/** The control API's dashboard endpoint (`microovn dashboard`): where this member serves it. */
import type { Dashboard } from "../../dashboard/dashboard.js";
import type { Route } from "./router.js";

export function dashboardRoutes(dashboard: Dashboard): Route[] {
  return [{ method: "GET", path: "/dashboard", handler: () => Promise.resolve(dashboard.state()) }];
}
