/**
 * The Identity API on one member, driven by Debian's real `openstack` CLI
 * (python3-openstackclient) exactly as a user would: `eval "$(microovn
 * openstack-api openrc)"`, then `openstack …`. Also what the CLI does not
 * show: the status codes and headers of refusals (wrong password, no token,
 * an expired, revoked or outdated token, a reader at an admin call), the
 * v2.0 calls oVirt engine makes, and the static-token and noauth plugins.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { runIn } from "../../src/lab/netns.js";
import { CLI, TestMember } from "../helpers/member.js";
import {
  callHttps,
  passwordAuth,
  printedAdminPassword,
  type HttpsAnswer,
} from "../helpers/openstack-api.js";
import { waitFor } from "../helpers/wait.js";

describe("the Identity API with the openstack CLI", () => {
  let m: TestMember;
  let adminPassword: string;

  /** `openstack ARGS` after `eval "$(microovn openstack-api openrc)"`, with `env` on top. */
  const openstack = async (args: string[], env: Record<string, string> = {}) => {
    const script =
      `eval "$('${process.execPath}' '${CLI}' --state-dir '${m.dir}' openstack-api openrc)" && ` +
      Object.entries(env)
        .map(([k, v]) => `export ${k}='${v}' && `)
        .join("") +
      'exec openstack "$@"';
    return runIn(m.namespace, "bash", ["-c", script, "openstack", ...args], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
  };
  const ok = async (args: string[], env: Record<string, string> = {}) => {
    const r = await openstack(args, env);
    assert.equal(r.exitCode, 0, `openstack ${args.join(" ")}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const json = async <T>(args: string[], env: Record<string, string> = {}) =>
    JSON.parse(await ok([...args, "-f", "json"], env)) as T;

  const call = (
    port: number,
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpsAnswer> =>
    callHttps((program, args) => m.sh(program, args), {
      ca: m.path("data/pki/cacert.pem"),
      host: "127.0.0.1",
      port,
      method,
      path,
      ...options,
    });

  /** A token by password, as the CLI gets one (v3, scoped to `project`). */
  const tokenFor = async (user: string, password: string, project: string) => {
    const answer = await call(5000, "POST", "/v3/auth/tokens", {
      body: passwordAuth(user, password, project),
    });
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    return answer.headers!["x-subject-token"]!;
  };
  const authorized = (token: string) => ({ headers: { "x-auth-token": token } });

  before(async () => {
    m = await TestMember.create("ident");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    const enabled = await m.ok(["enable", "openstack-api"]);
    adminPassword = printedAdminPassword(enabled);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("prints an openrc with which the CLI needs nothing else", async () => {
    const rc = await m.ok(["openstack-api", "openrc"]);
    assert.match(rc, /^export OS_AUTH_URL='https:\/\/127\.0\.0\.1:5000\/v3'$/m);
    assert.match(rc, new RegExp(`^export OS_CACERT='${m.path("data/pki/cacert.pem")}'$`, "m"));
    assert.match(rc, /^export OS_USERNAME='admin'$/m);
    assert.match(rc, /^export OS_PROJECT_NAME='admin'$/m);
    assert.match(rc, new RegExp(`^export OS_PASSWORD='${adminPassword}'$`, "m"));
    const file = await stat(m.path("data/openstack-api-admin-password"));
    assert.equal(file.mode & 0o777, 0o600);
    const token = await json<{
      id: string;
      project_id: string;
      user_id: string;
      expires: string;
    }>(["token", "issue"]);
    const projects = await json<{ ID: string; Name: string }[]>(["project", "list"]);
    assert.equal(projects.find((p) => p.Name === "admin")?.ID, token.project_id);
    const expires = Date.parse(token.expires);
    assert.ok(Math.abs(expires - (Date.now() + 3600_000)) < 120_000, token.expires);
  });

  it("creates, lists and deletes projects and users, and grants roles", async () => {
    const demo = await json<{ id: string; name: string }>(["project", "create", "demo"]);
    assert.equal(demo.name, "demo");
    const alice = await json<{ id: string; name: string }>([
      "user",
      "create",
      "--password",
      "alice-secret",
      "alice",
    ]);
    // A default project and a disabled user, in the one transaction that creates it.
    const bob = await json<{ default_project_id: string; enabled: boolean }>([
      ...["user", "create", "--project", "demo", "--disable", "--password", "bob-pw", "bob"],
    ]);
    assert.deepEqual([bob.default_project_id, bob.enabled], [demo.id, false]);
    await ok(["user", "delete", "bob"]);
    const users = await json<{ Name: string }[]>(["user", "list"]);
    assert.deepEqual(users.map((u) => u.Name).sort(), ["admin", "alice"]);
    await ok(["role", "add", "--project", "demo", "--user", "alice", "member"]);
    const assignments = await json<{ Role: string; User: string; Project: string }[]>([
      "role",
      "assignment",
      "list",
      "--names",
    ]);
    assert.ok(
      assignments.some(
        (a) => a.Role === "member" && a.User === "alice@Default" && a.Project === "demo@Default",
      ),
      JSON.stringify(assignments),
    );
    // The same grant through the other door: the CLI sees what `microovn user show` sees.
    assert.match(await m.ok(["user", "show", "alice"]), /demo/);
    // alice works in her project with her own password...
    const hers = await json<{ user_id: string; project_id: string }>(["token", "issue"], {
      OS_USERNAME: "alice",
      OS_PASSWORD: "alice-secret",
      OS_PROJECT_NAME: "demo",
    });
    assert.deepEqual(hers, { ...hers, user_id: alice.id, project_id: demo.id });
    // ...and administration is not hers.
    const refused = await openstack(["user", "list"], {
      OS_USERNAME: "alice",
      OS_PASSWORD: "alice-secret",
      OS_PROJECT_NAME: "demo",
    });
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /HTTP 403/);
    // Her openrc names her project and leaves the password to her.
    const rc = await m.ok(["openstack-api", "openrc", "--user", "alice"]);
    assert.match(rc, /^export OS_PROJECT_NAME='demo'$/m);
    assert.doesNotMatch(rc, /OS_PASSWORD=/);
    const nobody = await m.cli(["openstack-api", "openrc", "--user", "nobody"]);
    assert.notEqual(nobody.exitCode, 0);
    assert.match(nobody.stderr, /there is no user "nobody"/);
    // She changes her own password; the old one no longer works.
    const asAlice = { OS_USERNAME: "alice", OS_PASSWORD: "alice-secret", OS_PROJECT_NAME: "demo" };
    await ok(
      ["user", "password", "set", "--password", "alice-new", "--original-password", "alice-secret"],
      asAlice,
    );
    assert.notEqual((await openstack(["token", "issue"], asAlice)).exitCode, 0);
    await ok(["token", "issue"], { ...asAlice, OS_PASSWORD: "alice-new" });
    // The last administrator cannot be disabled.
    const lockout = await openstack(["user", "set", "--disable", "admin"]);
    assert.notEqual(lockout.exitCode, 0);
    assert.match(lockout.stderr, /last enabled user with the admin role.*HTTP 409/s);
    await ok(["token", "issue"]);
    // A project with a role on it stays, and says why.
    const inUse = await openstack(["project", "delete", "demo"]);
    assert.notEqual(inUse.exitCode, 0);
    assert.match(inUse.stderr, /alice: member/);
    await ok(["role", "remove", "--project", "demo", "--user", "alice", "member"]);
    await ok(["project", "delete", "demo"]);
    await ok(["user", "delete", "alice"]);
    assert.deepEqual(
      (await json<{ Name: string }[]>(["project", "list"])).map((p) => p.Name),
      ["admin"],
    );
    assert.doesNotMatch(await m.ok(["user", "list"]), /alice/);
  });

  it("revokes a token on request", async () => {
    const token = (await json<{ id: string }>(["token", "issue"])).id;
    assert.equal((await call(5000, "GET", "/v3/auth/projects", authorized(token))).status, 200);
    await ok(["token", "revoke", token]);
    const refused = await call(5000, "GET", "/v3/auth/projects", authorized(token));
    assert.equal(refused.status, 401);
    // Validating it now finds nothing, as Keystone answers.
    const admin = await tokenFor("admin", adminPassword, "admin");
    const check = await call(5000, "GET", "/v3/auth/tokens", {
      headers: { "x-auth-token": admin, "x-subject-token": token },
    });
    assert.equal(check.status, 404);
  });

  it("answers a validation with the token body Keystone sends", async () => {
    const token = await tokenFor("admin", adminPassword, "admin");
    const answer = await call(5000, "GET", "/v3/auth/tokens", {
      headers: { "x-auth-token": token, "x-subject-token": token },
    });
    assert.equal(answer.status, 200);
    assert.equal(answer.headers!["x-subject-token"], token);
    const body = (answer.body as { token: Record<string, unknown> }).token;
    assert.deepEqual(Object.keys(body).sort(), [
      "audit_ids",
      "catalog",
      "expires_at",
      "is_domain",
      "issued_at",
      "methods",
      "project",
      "roles",
      "user",
    ]);
    assert.match(body.expires_at as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.deepEqual((body.roles as { name: string }[]).map((r) => r.name).sort(), [
      "admin",
      "member",
      "reader",
    ]);
    const catalog = body.catalog as {
      type: string;
      endpoints: { interface: string; url: string; region_id: string }[];
    }[];
    const network = catalog.find((s) => s.type === "network")!;
    assert.deepEqual(
      network.endpoints.map((e) => [e.interface, e.url, e.region_id]),
      ["public", "internal", "admin"].map((i) => [i, "https://127.0.0.1:9696", "RegionOne"]),
    );
    assert.equal(
      catalog.find((s) => s.type === "identity")!.endpoints[0]!.url,
      "https://127.0.0.1:5000/v3",
    );
  });

  it("makes tokens from tokens, which end with the one they came from", async () => {
    const unscoped = await call(5000, "POST", "/v3/auth/tokens", {
      body: passwordAuth("admin", adminPassword),
    });
    // Without a scope: the user's default project, where it holds a role.
    const first = unscoped.headers!["x-subject-token"]!;
    const scoped = await call(5000, "POST", "/v3/auth/tokens", {
      body: {
        auth: {
          identity: { methods: ["token"], token: { id: first } },
          scope: { project: { name: "admin", domain: { name: "Default" } } },
        },
      },
    });
    assert.equal(scoped.status, 201);
    const body = (scoped.body as { token: { methods: string[]; audit_ids: string[] } }).token;
    assert.deepEqual(body.methods, ["token", "password"]);
    assert.equal(body.audit_ids.length, 2);
    const child = scoped.headers!["x-subject-token"]!;
    const v2 = await call(5000, "POST", "/v2.0/tokens", {
      body: { auth: { token: { id: child }, tenantName: "admin" } },
    });
    assert.equal(v2.status, 200);
    const grandchild = (v2.body as { access: { token: { id: string } } }).access.token.id;
    await call(5000, "DELETE", "/v3/auth/tokens", {
      headers: { "x-auth-token": first, "x-subject-token": first },
    });
    for (const token of [first, child, grandchild]) {
      assert.equal((await call(5000, "GET", "/v3/auth/catalog", authorized(token))).status, 401);
    }
  });

  it("speaks v2.0 to the CLI and to oVirt engine", async () => {
    const token = await json<{ id: string; project_id: string }>(["token", "issue"], {
      OS_IDENTITY_API_VERSION: "2",
      OS_AUTH_URL: "https://127.0.0.1:5000/v2.0",
      OS_TENANT_NAME: "admin",
    });
    assert.ok(token.id);
    // A v2.0 login serves the Networking API, through the CLI too.
    const networks = await json<unknown[]>(["network", "list"], {
      OS_IDENTITY_API_VERSION: "2",
      OS_AUTH_URL: "https://127.0.0.1:5000/v2.0",
      OS_TENANT_NAME: "admin",
    });
    assert.ok(Array.isArray(networks));
    for (const port of [5000, 35357]) {
      const answer = await call(port, "POST", "/v2.0/tokens", {
        body: {
          auth: {
            passwordCredentials: { username: "admin", password: adminPassword },
            tenantName: "admin",
          },
        },
      });
      assert.equal(answer.status, 200);
      const access = (
        answer.body as {
          access: {
            token: { id: string; tenant: { name: string } };
            serviceCatalog: { type: string; endpoints: Record<string, string>[] }[];
          };
        }
      ).access;
      assert.equal(access.token.tenant.name, "admin");
      const network = access.serviceCatalog.find((s) => s.type === "network")!.endpoints[0]!;
      assert.deepEqual(
        [network.publicURL, network.adminURL, network.internalURL, network.region],
        ["https://127.0.0.1:9696", "https://127.0.0.1:9696", "https://127.0.0.1:9696", "RegionOne"],
      );
      const onNetworking = await call(9696, "GET", "/v2.0/networks", authorized(access.token.id));
      assert.equal(onNetworking.status, 200, JSON.stringify(onNetworking.body));
      // The same token serves v3 and the tenant list.
      const tenants = await call(port, "GET", "/v2.0/tenants", authorized(access.token.id));
      assert.equal(tenants.status, 200);
      assert.deepEqual(
        (tenants.body as { tenants: { name: string }[] }).tenants.map((t) => t.name),
        ["admin"],
      );
    }
  });

  it("refuses a wrong password, a missing token and a reader at administration", async () => {
    const wrong = await call(5000, "POST", "/v3/auth/tokens", {
      body: {
        auth: {
          identity: {
            methods: ["password"],
            password: { user: { name: "admin", domain: { id: "default" }, password: "not it" } },
          },
        },
      },
    });
    assert.equal(wrong.status, 401);
    assert.equal((wrong.body as { error: { code: number } }).error.code, 401);
    const v2wrong = await call(5000, "POST", "/v2.0/tokens", {
      body: { auth: { passwordCredentials: { username: "admin", password: "not it" } } },
    });
    assert.equal(v2wrong.status, 401);

    const notAllowed = await call(5000, "PUT", "/v3/auth/tokens");
    assert.equal(notAllowed.status, 405);
    assert.equal(notAllowed.headers!.allow, "GET, HEAD, POST, DELETE");

    const noToken = await call(9696, "GET", "/v2.0/networks");
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers!["www-authenticate"], 'Keystone uri="https://127.0.0.1:5000"');

    await m.ok(["project", "add", "readers"]);
    await m.cli(
      ["user", "add", "rita", "--password-stdin", "--project", "readers", "--role", "reader"],
      {
        input: "rita-secret\n",
      },
    );
    const rita = await tokenFor("rita", "rita-secret", "readers");
    for (const [method, path] of [
      ["GET", "/v3/users"],
      ["GET", "/v3/projects"],
      ["GET", "/v3/role_assignments"],
      ["DELETE", `/v3/users/${"0".repeat(32)}`],
    ] as const) {
      const answer = await call(5000, method, path, authorized(rita));
      assert.equal(answer.status, 403, `${method} ${path}`);
    }
    const unchanged = await call(5000, "POST", "/v3/projects", {
      ...authorized(rita),
      body: { project: { name: "by-a-reader" } },
    });
    assert.equal(unchanged.status, 403);
    assert.doesNotMatch(await m.ok(["project", "list"]), /by-a-reader/);
    // Her own things she may see.
    assert.equal((await call(5000, "GET", "/v3/auth/projects", authorized(rita))).status, 200);
  });

  it("answers bad input to tokens and administration with 4xx in Keystone's form, changing nothing", async () => {
    const admin = await tokenFor("admin", adminPassword, "admin");
    await m.ok(["project", "add", "kept"]);
    await m.cli(
      ["user", "add", "kim", "--password-stdin", "--project", "kept", "--role", "member"],
      {
        input: "kim-secret\n",
      },
    );
    /** Everything the store holds, as an administrator reads it. */
    const snapshot = async () => {
      const read = async (path: string) => {
        const answer = await call(5000, "GET", path, authorized(admin));
        assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
        return answer.body as Record<string, unknown[]>;
      };
      return JSON.stringify([
        (await read("/v3/projects")).projects,
        (await read("/v3/users")).users,
        (await read("/v3/role_assignments")).role_assignments,
      ]);
    };
    const before = await snapshot();
    const projectId = (
      (await call(5000, "GET", "/v3/projects?name=kept", authorized(admin))).body as {
        projects: { id: string }[];
      }
    ).projects[0]!.id;
    const kimId = (
      (await call(5000, "GET", "/v3/users?name=kim", authorized(admin))).body as {
        users: { id: string }[];
      }
    ).users[0]!.id;
    const memberId = (
      (await call(5000, "GET", "/v3/roles?name=member", authorized(admin))).body as {
        roles: { id: string }[];
      }
    ).roles[0]!.id;
    const missing = "f".repeat(32);

    const cases: [string, string, unknown, number, RegExp][] = [
      // Tokens: a body that is no auth request, an unknown scope, an unknown user.
      ["POST", "/v3/auth/tokens", { auth: {} }, 400, /identity/],
      [
        "POST",
        "/v3/auth/tokens",
        { auth: { identity: { methods: ["password"] } } },
        400,
        /password/,
      ],
      ["POST", "/v3/auth/tokens", { ...passwordAuth("kim", "kim-secret", "nowhere") }, 401, /./],
      ["POST", "/v3/auth/tokens", passwordAuth("nobody", "x", "kept"), 401, /./],
      // Users: no name, an unknown attribute, a taken name, an unknown default project.
      ["POST", "/v3/users", { user: { password: "p" } }, 400, /name/],
      ["POST", "/v3/users", { user: { name: "x", password: "p", colour: "red" } }, 400, /colour/],
      ["POST", "/v3/users", { user: { name: "kim", password: "p" } }, 409, /kim/],
      [
        "POST",
        "/v3/users",
        { user: { name: "y", password: "p", default_project_id: missing } },
        400,
        /project/,
      ],
      ["PATCH", `/v3/users/${missing}`, { user: { enabled: false } }, 404, /./],
      ["PATCH", `/v3/users/${kimId}`, { user: { enabled: "no" } }, 400, /enabled/],
      ["DELETE", `/v3/users/${missing}`, undefined, 404, /./],
      // Projects: no name, a taken name, an unknown one.
      ["POST", "/v3/projects", { project: {} }, 400, /name/],
      ["POST", "/v3/projects", { project: { name: "kept" } }, 409, /kept/],
      ["PATCH", `/v3/projects/${missing}`, { project: { description: "d" } }, 404, /./],
      ["DELETE", `/v3/projects/${missing}`, undefined, 404, /./],
      // Role assignments naming something that does not exist.
      ["PUT", `/v3/projects/${projectId}/users/${kimId}/roles/${missing}`, undefined, 404, /./],
      ["PUT", `/v3/projects/${projectId}/users/${missing}/roles/${memberId}`, undefined, 404, /./],
      ["PUT", `/v3/projects/${missing}/users/${kimId}/roles/${memberId}`, undefined, 404, /./],
      ["DELETE", `/v3/projects/${projectId}/users/${kimId}/roles/${missing}`, undefined, 404, /./],
    ];
    for (const [method, path, body, status, message] of cases) {
      const answer = await call(5000, method, path, {
        ...(path === "/v3/auth/tokens" ? {} : authorized(admin)),
        ...(body === undefined ? {} : { body }),
      });
      const label = `${method} ${path} ${JSON.stringify(body)}`;
      assert.equal(answer.status, status, `${label}: ${JSON.stringify(answer.body)}`);
      const error = (answer.body as { error?: { code: number; message: string } }).error;
      assert.equal(error?.code, status, `${label}: Keystone's error form`);
      assert.match(error.message, message, label);
    }
    assert.equal(await snapshot(), before);
    await m.ok(["user", "delete", "kim"]);
    await m.ok(["project", "delete", "kept"]);
  });

  it("ends tokens when the role, the password or the user goes", async () => {
    const rita = await tokenFor("rita", "rita-secret", "readers");
    const probe = () => call(5000, "GET", "/v3/auth/projects", authorized(rita));
    assert.equal((await probe()).status, 200);
    await m.cli(["user", "set-password", "rita", "--password-stdin"], { input: "new-secret\n" });
    // Through the replica of the state database: refused within a second.
    await waitFor("the old token to be refused", async () => (await probe()).status === 401, {
      timeoutMs: 1000,
    });

    const again = await tokenFor("rita", "new-secret", "readers");
    assert.equal((await call(5000, "GET", "/v3/auth/projects", authorized(again))).status, 200);
    await m.ok(["user", "revoke", "rita", "--project", "readers", "--role", "reader"]);
    await waitFor(
      "the token without a role to be refused",
      async () => (await call(5000, "GET", "/v3/auth/projects", authorized(again))).status === 401,
      { timeoutMs: 1000 },
    );
  });

  it("lets tokens expire after openstack-api.token-expiration", async () => {
    await m.ok(["config", "set", "openstack-api.token-expiration", "5"]);
    try {
      const token = await tokenFor("admin", adminPassword, "admin");
      const probe = () => call(5000, "GET", "/v3/auth/projects", authorized(token));
      assert.equal((await probe()).status, 200);
      const started = Date.now();
      await waitFor("the token to expire", async () => (await probe()).status === 401, {
        timeoutMs: 20_000,
        intervalMs: 250,
      });
      assert.ok(Date.now() - started < 10_000);
    } finally {
      await m.ok(["config", "delete", "openstack-api.token-expiration"]);
    }
  });

  it("takes a static token, and noauth on loopback", async () => {
    const secret = "a-static-token-of-24-chars";
    await m.ok(["config", "set", "openstack-api.static-token", secret]);
    await m.ok(["config", "set", "openstack-api.auth", "static-token"]);
    try {
      assert.equal((await call(5000, "GET", "/v3/projects", authorized(secret))).status, 200);
      assert.equal((await call(5000, "GET", "/v3/projects", authorized("wrong"))).status, 401);
      await m.ok(["config", "set", "openstack-api.auth", "noauth"]);
      const open = await call(5000, "GET", "/v3/projects");
      assert.equal(open.status, 200);
    } finally {
      await m.ok(["config", "delete", "openstack-api.auth"]);
    }
    assert.equal((await call(5000, "GET", "/v3/projects")).status, 401);
  });
});
