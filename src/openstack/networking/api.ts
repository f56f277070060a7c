/** The Networking API (Neutron v2.0) as this server has it so far: its version documents. */
import { NEUTRON_ERRORS } from "../errors.js";
import type { ApiDefinition } from "../http.js";
import { NETWORKING_VERSION_ROUTES } from "./versions.js";

export const NETWORKING_API: ApiDefinition = {
  title: "Networking",
  errors: NEUTRON_ERRORS,
  routes: [...NETWORKING_VERSION_ROUTES],
};
