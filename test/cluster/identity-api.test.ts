/**
 * Identity across members: the OpenStack API runs on two lab members, a
 * token issued by one is accepted by the other (the signing keys are in the
 * cluster state database), and once revoked on one it is refused by the
 * other within a second (the revocation reaches every member's replica).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { startLab, stopLab } from "../helpers/lab.js";
import {
  callLabIdentity,
  passwordAuth,
  printedAdminPassword,
  type HttpsAnswer,
} from "../helpers/openstack-api.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;
let adminPassword: string;

/** An HTTPS call from inside member `node`'s namespace to its own Identity port. */
function call(
  node: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpsAnswer> {
  return callLabIdentity(lab!, node, method, path, options);
}

before(async () => {
  lab = await startLab(2);
  const enabled = await lab.ok("m1", ["enable", "openstack-api"]);
  adminPassword = printedAdminPassword(enabled);
  // The second member creates no administrator: the cluster has one.
  assert.doesNotMatch(await lab.ok("m2", ["enable", "openstack-api"]), /password/);
});

after(() => stopLab(lab));

describe("tokens across members", () => {
  it("are accepted by every member and revoked on all of them", async () => {
    const issued = await call("m1", "POST", "/v3/auth/tokens", {
      body: passwordAuth("admin", adminPassword, "admin"),
    });
    assert.equal(issued.status, 201);
    const token = issued.headers!["x-subject-token"]!;
    const projects = (node: string) =>
      call(node, "GET", "/v3/auth/projects", { headers: { "x-auth-token": token } });
    assert.equal((await projects("m2")).status, 200);

    const revoked = await call("m1", "DELETE", "/v3/auth/tokens", {
      headers: { "x-auth-token": token, "x-subject-token": token },
    });
    assert.equal(revoked.status, 204);
    await waitFor(
      "m2 to refuse the revoked token",
      async () => (await projects("m2")).status === 401,
      {
        timeoutMs: 1000,
      },
    );
    assert.equal((await projects("m1")).status, 401);
  });
});
