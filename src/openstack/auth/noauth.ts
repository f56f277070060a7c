/**
 * The `noauth` plugin: every request is an administrator of the admin
 * project, token or not. Only where nobody else can reach the API: on a
 * member whose address is on loopback or in the lab (noauthAllowedAt);
 * anywhere else each request is refused (503) and the log says why, once a
 * minute. `config set openstack-api.auth noauth` is refused up front too.
 */
import { noauthAllowedAt } from "../../cluster/config-keys.js";
import type { Backend } from "../backend.js";
import { ApiError } from "../errors.js";
import { ADMIN_ROLE, effectiveRoles, type Authenticator, type Caller } from "./caller.js";

const LOG_EVERY_MS = 60_000;

export class NoauthAuthenticator implements Authenticator {
  private lastLogged = 0;

  constructor(
    private readonly backend: Backend,
    private readonly address: string,
    private readonly log: (message: string) => void,
  ) {}

  authenticate(): Promise<Caller> {
    if (!noauthAllowedAt(this.address)) {
      const now = Date.now();
      if (now - this.lastLogged >= LOG_EVERY_MS) {
        this.lastLogged = now;
        this.log(
          `noauth refused: this member's address ${this.address} is neither loopback nor in the ` +
            "lab, so anyone reaching it would be an administrator; set openstack-api.auth to local",
        );
      }
      return Promise.reject(
        new ApiError(
          503,
          `The noauth plugin is refused on this member (${this.address} is neither loopback nor ` +
            "in the lab): `microovn config set openstack-api.auth local`.",
        ),
      );
    }
    const project = this.backend.stateReplica.table("Identity_Project").lookup({ name: "admin" });
    return Promise.resolve({
      userId: "noauth",
      userName: "noauth",
      projectId: project?.project_id,
      projectName: project?.name,
      roles: effectiveRoles([ADMIN_ROLE]),
    });
  }
}
