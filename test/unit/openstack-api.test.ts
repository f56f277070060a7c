/**
 * The OpenStack API's pure parts: the error bodies, the version documents,
 * and the HTTP layer's answers, driven through fastify's in-process
 * injection (no port is opened): every error in its API's form, validation
 * failures as 400, our own faults as a 500 that tells nothing of the fault.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { Type } from "typebox";
import { readFileSync } from "node:fs";
import { schemaRecordsService } from "../../src/cluster/members.js";
import { parseServiceList } from "../../src/member/config.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import { checkServiceList } from "../../src/cli/preseed.js";
import { KEYSTONE_ERRORS, keystoneError, neutronError } from "../../src/openstack/errors.js";
import { buildApiServer, type ApiDefinition } from "../../src/openstack/http.js";
import {
  IDENTITY_VERSION_ROUTES,
  identityVersion,
  identityVersionList,
} from "../../src/openstack/identity/versions.js";
import { networkingApi } from "../../src/openstack/networking/api.js";
import { ADMIN_ROLE, effectiveRoles, type Authenticator } from "../../src/openstack/auth/caller.js";
import { unauthorized } from "../../src/openstack/auth/plugins.js";
import type { Backend } from "../../src/openstack/backend.js";

/** Refuses every token, as an auth plugin does for one it does not know. */
/** The Identity API's documents, which need no backend. */
const IDENTITY_API: ApiDefinition = {
  title: "Identity",
  errors: KEYSTONE_ERRORS,
  routes: IDENTITY_VERSION_ROUTES,
};

const REFUSE_ALL: Authenticator = { authenticate: () => Promise.reject(unauthorized()) };
const NETWORKING_API = networkingApi({
  // Routes reach the backend only when a request comes through the auth hook.
  backend: {} as unknown as Backend,
  auth: REFUSE_ALL,
  address: "192.0.2.7",
});
import { networkingVersions } from "../../src/openstack/networking/versions.js";
import { checkOperatorCertificate } from "../../src/pki/pem.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";

let tls: { key: string; cert: string };

async function server(api: ApiDefinition, logged: string[] = []) {
  return buildApiServer({
    api,
    host: "192.0.2.7",
    port: 9696,
    tls,
    log: (m) => logged.push(m),
  });
}

before(async () => {
  const ca = await createCa();
  const pair = await issueCertificate({ ca, member: "node1", service: "openstack-api" });
  tls = { key: pair.keyPem, cert: pair.certPem };
});

describe("OpenStack API error bodies", () => {
  it("names Neutron's error types after the HTTP status, detail empty", () => {
    assert.deepEqual(neutronError(404, "gone"), {
      NeutronError: { type: "HTTPNotFound", message: "gone", detail: "" },
    });
    assert.equal(neutronError(405, "x").NeutronError.type, "HTTPMethodNotAllowed");
    assert.equal(neutronError(400, "x").NeutronError.type, "HTTPBadRequest");
    assert.equal(neutronError(409, "x", "NetworkInUse").NeutronError.type, "NetworkInUse");
  });

  it("gives Keystone's code, message and title", () => {
    assert.deepEqual(keystoneError(400, "bad"), {
      error: { code: 400, message: "bad", title: "Bad Request" },
    });
  });
});

describe("OpenStack API version documents", () => {
  it("links Networking v2.0 and Identity v3 to the member's URL", () => {
    assert.deepEqual(networkingVersions("https://[fd00::1]:9696"), {
      versions: [
        {
          id: "v2.0",
          status: "CURRENT",
          links: [{ href: "https://[fd00::1]:9696/v2.0/", rel: "self" }],
        },
      ],
    });
    const v3 = identityVersion("https://192.0.2.7:5000");
    assert.equal(v3.status, "stable");
    assert.deepEqual(v3.links, [{ rel: "self", href: "https://192.0.2.7:5000/v3/" }]);
    assert.deepEqual(identityVersionList("https://192.0.2.7:5000"), { versions: { values: [v3] } });
  });
});

describe("OpenStack API HTTP layer", () => {
  it("answers the documents with the status each API uses, IPv6 hosts in brackets", async () => {
    const identity = await buildApiServer({
      api: IDENTITY_API,
      host: "fd00::1",
      port: 5000,
      tls,
      log: () => undefined,
    });
    const list = await identity.inject({ method: "GET", url: "/" });
    assert.equal(list.statusCode, 300);
    assert.equal(
      list.json<{ versions: { values: { links: { href: string }[] }[] } }>().versions.values[0]!
        .links[0]!.href,
      "https://[fd00::1]:5000/v3/",
    );
    assert.equal((await identity.inject({ method: "GET", url: "/v3/" })).statusCode, 200);
    await identity.close();
  });

  it("documents only the routes it serves, in OpenAPI 3.1", async () => {
    const app = await server(NETWORKING_API);
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json<{
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    }>();
    assert.equal(doc.openapi, "3.1.0");
    const paths = Object.keys(doc.paths);
    for (const path of ["/", "/v2.0", "/v2.0/networks", "/v2.0/networks/{id}", "/v2.0/ports"]) {
      assert.ok(paths.includes(path), `${path} in ${paths.join(" ")}`);
    }
    assert.ok(!paths.includes("/openapi.json"));
    assert.deepEqual(Object.keys(doc.paths["/"]!), ["get"]);
    await app.close();
  });

  it("refuses unknown paths, other methods and bad input in the API's own form", async () => {
    const app = await server(NETWORKING_API);
    const noToken = await app.inject({ method: "GET", url: "/v2.0/networks" });
    assert.equal(noToken.statusCode, 401);
    assert.equal(noToken.headers["www-authenticate"], 'Keystone uri="https://192.0.2.7:5000"');
    assert.equal(
      noToken.json<{ NeutronError: { type: string } }>().NeutronError.type,
      "Unauthorized",
    );
    const missing = await app.inject({ method: "GET", url: "/v3/networks" });
    assert.equal(missing.statusCode, 404);
    assert.equal(
      missing.json<{ NeutronError: { type: string } }>().NeutronError.type,
      "HTTPNotFound",
    );
    const post = await app.inject({ method: "POST", url: "/", payload: { a: 1 } });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
    const badJson = await app.inject({
      method: "POST",
      url: "/v2.0",
      headers: { "content-type": "application/json" },
      payload: "{",
    });
    assert.equal(badJson.statusCode, 400);
    assert.equal(
      badJson.json<{ NeutronError: { type: string } }>().NeutronError.type,
      "HTTPBadRequest",
    );
    await app.close();
  });

  it("answers 405 naming the methods a resource path takes, once the caller is known", async () => {
    const admin: Authenticator = {
      authenticate: () =>
        Promise.resolve({
          userId: "u",
          userName: "admin",
          projectId: "p",
          projectName: "admin",
          roles: effectiveRoles([ADMIN_ROLE]),
        }),
    };
    const app = await server(
      networkingApi({
        backend: {} as unknown as Backend,
        auth: admin,
        address: "192.0.2.7",
      }),
    );
    const put = await app.inject({ method: "PUT", url: "/v2.0/networks" });
    assert.equal(put.statusCode, 405);
    assert.equal(put.headers.allow, "GET, HEAD, POST");
    assert.equal(
      put.json<{ NeutronError: { type: string } }>().NeutronError.type,
      "HTTPMethodNotAllowed",
    );
    const post = await app.inject({ method: "POST", url: "/v2.0/networks/some-id" });
    assert.equal(post.statusCode, 405);
    assert.equal(post.headers.allow, "GET, HEAD, PUT, DELETE");
    await app.close();
  });

  it("answers a validation failure 400 and its own fault 500, in the API's form", async () => {
    const logged: string[] = [];
    const api: ApiDefinition = {
      ...IDENTITY_API,
      routes: [
        {
          url: "/limited",
          schema: { querystring: Type.Object({ limit: Type.Integer() }) },
          reply: (request) => ({ status: 200, body: request.query }),
        },
        {
          url: "/broken",
          schema: {},
          reply: () => {
            throw new Error("secret detail");
          },
        },
      ],
    };
    const app = await server(api, logged);
    assert.deepEqual((await app.inject({ method: "GET", url: "/limited?limit=3" })).json(), {
      limit: 3,
    });
    const invalid = await app.inject({ method: "GET", url: "/limited?limit=many" });
    assert.equal(invalid.statusCode, 400);
    const body = invalid.json<{ error: { code: number; title: string; message: string } }>();
    assert.equal(body.error.code, 400);
    assert.equal(body.error.title, "Bad Request");
    assert.match(body.error.message, /limit/);
    const broken = await app.inject({ method: "GET", url: "/broken" });
    assert.equal(broken.statusCode, 500);
    assert.doesNotMatch(broken.body, /secret detail/);
    assert.equal(broken.json<{ error: { code: number } }>().error.code, 500);
    assert.match(logged.join("\n"), /GET \/broken: Error: secret detail/);
    await app.close();
  });
});

describe("openstack-api among the services", () => {
  it("is not one a new member is set up with: enable starts it", () => {
    assert.throws(
      () => parseServiceList(["central", "openstack-api"]),
      /openstack-api is not started at set-up; once the member runs, `microovn enable openstack-api` starts it; choose from central, switch, chassis/,
    );
    assert.throws(
      () => checkServiceList(["switch", "openstack-api"]),
      /microovn enable openstack-api/,
    );
  });

  it("is refused by a state database made before it existed, recorded by today's", () => {
    const raw = JSON.parse(
      readFileSync(new URL("../../schemas/microovn.ovsschema", import.meta.url), "utf8"),
    ) as { version: string; tables: { Member: { columns: { services: { type: unknown } } } } };
    assert.ok(schemaRecordsService(parseSchema(raw), "openstack-api"));
    raw.version = "1.0.0";
    raw.tables.Member.columns.services.type = {
      key: { type: "string", enum: ["set", ["central", "switch", "chassis"]] },
      min: 0,
      max: "unlimited",
    };
    const old = parseSchema(raw);
    assert.equal(schemaRecordsService(old, "openstack-api"), false);
    assert.ok(schemaRecordsService(old, "central"));
  });
});

describe("an operator's certificate for the OpenStack API", () => {
  it("is taken with its chain when the key is its own, current and not a CA", async () => {
    const ca = await createCa();
    const pair = await issueCertificate({ ca, member: "api.example.test", service: "x" });
    const checked = checkOperatorCertificate({
      certPem: pair.certPem + ca.certPem,
      keyPem: pair.keyPem,
    });
    assert.match(checked.subject, /CN=api\.example\.test/);
    assert.match(checked.subjectAltName ?? "", /DNS:api\.example\.test/);
  });

  it("is refused, saying why, when anything is wrong", async () => {
    const ca = await createCa();
    const pair = await issueCertificate({ ca, member: "a", service: "x" });
    const other = await issueCertificate({ ca, member: "b", service: "x" });
    const longAgo = new Date(Date.now() - 400 * 24 * 3600 * 1000);
    const expired = await issueCertificate({
      ca,
      member: "a",
      service: "x",
      now: longAgo,
      validDays: 30,
    });
    const cases: [string, { certPem: string; keyPem: string }, RegExp][] = [
      ["no certificate", { certPem: "hello", keyPem: pair.keyPem }, /holds no PEM certificate/],
      ["a bad key", { certPem: pair.certPem, keyPem: "nope" }, /the key cannot be read/],
      [
        "another key",
        { certPem: pair.certPem, keyPem: other.keyPem },
        /the key is not the certificate's/,
      ],
      ["a CA", { certPem: ca.certPem, keyPem: ca.keyPem }, /is a CA certificate/],
      ["expired", expired, /expired on/],
    ];
    for (const [what, given, message] of cases) {
      assert.throws(
        () => checkOperatorCertificate(given),
        (e: Error) => message.test(e.message) && /nothing was changed/.test(e.message),
        what,
      );
    }
  });
});
