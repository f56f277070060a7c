/** The Identity API (Keystone v3) as this server has it so far: its version documents. */
import { KEYSTONE_ERRORS } from "../errors.js";
import type { ApiDefinition } from "../http.js";
import { IDENTITY_VERSION_ROUTES } from "./versions.js";

export const IDENTITY_API: ApiDefinition = {
  title: "Identity",
  errors: KEYSTONE_ERRORS,
  routes: [...IDENTITY_VERSION_ROUTES],
};
