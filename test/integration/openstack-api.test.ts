/**
 * The OpenStack API service on one member in its own network namespace:
 * `enable openstack-api` starts it as a supervised process of its own, its
 * three ports answer over HTTPS with a certificate from the cluster CA
 * (checked the way a client given OS_CACERT checks it), errors come in
 * Neutron's and Keystone's forms, and it lives like the OVN processes: a
 * crash is restarted, a daemon restart adopts it, disable and shutdown stop it.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { StatusReport } from "../../src/daemon/status.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { TestMember } from "../helpers/member.js";
import { isAlive, signalPid } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const CALL_HTTPS = resolve(import.meta.dirname, "../helpers/call-https.mjs");
const PORTS = [9696, 5000, 35357] as const;
/** Every path the Identity ports document (identity-api.test.ts tests what they answer). */
const IDENTITY_PATHS = [
  "/",
  "/v2.0",
  "/v2.0/tenants",
  "/v2.0/tokens",
  "/v3",
  "/v3/auth/catalog",
  "/v3/auth/projects",
  "/v3/auth/tokens",
  "/v3/domains",
  "/v3/domains/{id}",
  "/v3/projects",
  "/v3/projects/{id}",
  "/v3/projects/{project}/users/{user}/roles",
  "/v3/projects/{project}/users/{user}/roles/{role}",
  "/v3/role_assignments",
  "/v3/roles",
  "/v3/roles/{id}",
  "/v3/users",
  "/v3/users/{id}",
  "/v3/users/{id}/password",
  "/v3/users/{id}/projects",
];

interface HttpsAnswer {
  status?: number;
  headers?: Record<string, string>;
  body?: unknown;
  peer?: { subjectaltname?: string; fingerprint256?: string };
  error?: string;
  code?: string;
}

describe("the OpenStack API service", () => {
  let m: TestMember;

  const status = async () => JSON.parse(await m.ok(["status", "--json"])) as StatusReport;
  const apiProcess = async () => (await status()).processes.find((p) => p.name === "openstack-api");
  const call = async (
    port: number,
    method: string,
    path: string,
    body?: string,
    ca = m.path("data/pki/cacert.pem"),
  ): Promise<HttpsAnswer> =>
    JSON.parse(
      await m.sh(process.execPath, [
        CALL_HTTPS,
        ca,
        "127.0.0.1",
        String(port),
        method,
        path,
        ...(body === undefined ? [] : [body]),
      ]),
    ) as HttpsAnswer;
  const answering = async () => {
    const answers = await Promise.all(PORTS.map((port) => call(port, "GET", "/")));
    return answers.every((a) => a.status !== undefined) ? answers : undefined;
  };

  before(async () => {
    m = await TestMember.create("osapi");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("is not started by bootstrap", async () => {
    assert.equal(await apiProcess(), undefined);
    assert.equal((await call(9696, "GET", "/")).code, "ECONNREFUSED");
    assert.doesNotMatch(await m.ok(["certificates", "list"]), /openstack-api/);
  });

  it("starts on enable, with a certificate from the cluster CA naming the member", async () => {
    assert.match(await m.ok(["enable", "openstack-api"]), /Service openstack-api enabled/);
    const p = await apiProcess();
    assert.equal(p?.phase, "running");
    assert.ok(p.pid !== undefined && isAlive(p.pid));
    const report = await status();
    assert.ok(report.members.find((x) => x.name === "node1")?.services.includes("openstack-api"));
    assert.match(await m.ok(["certificates", "list"]), /openstack-api/);
    for (const port of PORTS) {
      const answer = await call(port, "GET", "/");
      // No error: the chain ends at the cluster CA and 127.0.0.1 is in subjectAltName.
      assert.equal(answer.error, undefined, `port ${port}: ${answer.error}`);
      assert.match(answer.peer?.subjectaltname ?? "", /DNS:node1/);
      assert.match(answer.peer?.subjectaltname ?? "", /IP Address:127\.0\.0\.1/);
    }
  });

  it("answers Neutron's and Keystone's version documents", async () => {
    const neutron = await call(9696, "GET", "/");
    assert.equal(neutron.status, 200);
    assert.deepEqual(neutron.body, {
      versions: [
        {
          id: "v2.0",
          status: "CURRENT",
          links: [{ href: "https://127.0.0.1:9696/v2.0/", rel: "self" }],
        },
      ],
    });
    const resources = await call(9696, "GET", "/v2.0/");
    assert.equal(resources.status, 200);
    const collections = (resources.body as { resources: { collection: string }[] }).resources;
    assert.deepEqual(
      collections.map((r) => r.collection),
      [
        "networks",
        "subnets",
        "ports",
        "security-groups",
        "security-group-rules",
        "agents",
        "availability_zones",
        "quotas",
        "routers",
        "floatingips",
      ],
    );
    for (const port of [5000, 35357]) {
      const list = await call(port, "GET", "/");
      assert.equal(list.status, 300);
      const values = (
        list.body as { versions: { values: { id: string; links: { href: string }[] }[] } }
      ).versions.values;
      assert.equal(values.length, 1);
      assert.match(values[0]!.id, /^v3\.\d+$/);
      assert.equal(values[0]!.links[0]!.href, `https://127.0.0.1:${port}/v3/`);
      const v3 = await call(port, "GET", "/v3");
      assert.equal(v3.status, 200);
      assert.deepEqual((v3.body as { version: unknown }).version, values[0]);
    }
  });

  it("serves an OpenAPI 3.1 document on every port", async () => {
    for (const [port, paths] of [
      [9696, ["/", "/v2.0"]],
      [5000, IDENTITY_PATHS],
      [35357, IDENTITY_PATHS],
    ] as const) {
      const doc = (await call(port, "GET", "/openapi.json")).body as {
        openapi: string;
        paths: Record<string, { get?: unknown } | undefined>;
        servers: { url: string }[];
      };
      assert.equal(doc.openapi, "3.1.0");
      // Networking documents its resources too: there only its version documents are checked.
      if (port !== 9696) assert.deepEqual(Object.keys(doc.paths).sort(), [...paths]);
      for (const path of paths) {
        assert.ok(Object.keys(doc.paths[path] ?? {}).length > 0, `${path} on ${port}`);
      }
      assert.ok(doc.paths["/"]?.get, `GET / on ${port}`);
      assert.deepEqual(doc.servers, [{ url: `https://127.0.0.1:${port}` }]);
    }
  });

  it("answers unknown paths, methods and bad input in each API's error form", async () => {
    const notFound = await call(9696, "GET", "/nothing-here");
    assert.equal(notFound.status, 404);
    assert.deepEqual(notFound.body, {
      NeutronError: {
        type: "HTTPNotFound",
        message: "The resource could not be found.",
        detail: "",
      },
    });
    const notAllowed = await call(9696, "DELETE", "/v2.0");
    assert.equal(notAllowed.status, 405);
    assert.equal(
      (notAllowed.body as { NeutronError: { type: string } }).NeutronError.type,
      "HTTPMethodNotAllowed",
    );
    const badJson = await call(9696, "POST", "/v2.0", "{not json");
    assert.equal(badJson.status, 400);
    const bad = (badJson.body as { NeutronError: { type: string; message: string } }).NeutronError;
    assert.equal(bad.type, "HTTPBadRequest");
    assert.match(bad.message, /JSON/);
    const keystone = await call(5000, "GET", "/v3/nothing-here");
    assert.equal(keystone.status, 404);
    assert.deepEqual(keystone.body, {
      error: { code: 404, message: "The resource could not be found.", title: "Not Found" },
    });
    const keystone405 = await call(35357, "PUT", "/v3");
    assert.equal(keystone405.status, 405);
    assert.equal((keystone405.body as { error: { code: number } }).error.code, 405);
  });

  it("serves a reissued certificate without closing its ports", async () => {
    const before = (await call(9696, "GET", "/")).peer?.fingerprint256;
    const pid = (await apiProcess())?.pid;
    assert.match(await m.ok(["certificates", "reissue", "openstack-api"]), /openstack-api/);
    for (const port of PORTS) {
      await waitFor(`the new certificate on ${port}`, async () => {
        const now = (await call(port, "GET", "/")).peer?.fingerprint256;
        return now !== undefined && now !== before;
      });
    }
    assert.equal((await apiProcess())?.pid, pid);
  });

  it("serves the operator's own certificate, checked first, until reissued", async () => {
    const operatorCa = await createCa({ commonName: "operator CA" });
    const pair = await issueCertificate({
      ca: operatorCa,
      member: "api.example.test",
      service: "openstack-api",
      addresses: ["127.0.0.1"],
    });
    const other = await issueCertificate({ ca: operatorCa, member: "x", service: "x" });
    const files = {
      ca: m.path("operator-ca.pem"),
      cert: m.path("operator-cert.pem"),
      key: m.path("operator-key.pem"),
      otherKey: m.path("other-key.pem"),
    };
    await writeFile(files.ca, operatorCa.certPem);
    await writeFile(files.cert, pair.certPem);
    await writeFile(files.key, pair.keyPem);
    await writeFile(files.otherKey, other.keyPem);
    const served = async (ca?: string) => (await call(9696, "GET", "/", undefined, ca)).peer;
    const clusterCert = (await served())?.fingerprint256;
    assert.ok(clusterCert);

    const mismatch = await m.cli([
      "openstack-api",
      "set-certificate",
      "--cert",
      files.cert,
      "--key",
      files.otherKey,
    ]);
    assert.equal(mismatch.exitCode, 1);
    assert.match(mismatch.stderr, /the key is not the certificate's .*nothing was changed/);
    assert.equal((await served())?.fingerprint256, clusterCert);

    const set = ["openstack-api", "set-certificate", "--cert", files.cert, "--key", files.key];
    assert.match(await m.ok(set), /now serves CN=api\.example\.test/);
    for (const port of PORTS) {
      await waitFor(`the operator's certificate on ${port}`, async () => {
        const answer = await call(port, "GET", "/", undefined, files.ca);
        return (
          answer.status !== undefined && answer.peer?.subjectaltname?.includes("api.example.test")
        );
      });
    }
    // The cluster leaves it alone, until asked for its own again.
    await m.ok(["certificates", "reissue", "all"]);
    assert.match((await served(files.ca))?.subjectaltname ?? "", /api\.example\.test/);
    await m.ok(["certificates", "reissue", "openstack-api"]);
    await waitFor("a cluster certificate again", async () =>
      (await served())?.subjectaltname?.includes("DNS:node1"),
    );
  });

  it("is restarted by the supervisor after SIGKILL", async () => {
    const old = await apiProcess();
    assert.ok(old?.pid !== undefined);
    signalPid(old.pid, "SIGKILL");
    const restarted = await waitFor("a new openstack-api process", async () => {
      const p = await apiProcess();
      return p?.phase === "running" && p.pid !== old.pid ? p : undefined;
    });
    assert.ok(restarted.restarts >= 1);
    await waitFor("every port answering again", answering);
  });

  it("is adopted, not restarted, when microovnd restarts", async () => {
    const before = await apiProcess();
    const daemon = (await m.pids()).microovnd;
    assert.ok(before?.pid !== undefined && daemon !== undefined);
    signalPid(daemon, "SIGTERM");
    await waitFor("microovnd to exit", () => !isAlive(daemon));
    await m.ok(["waitready", "--timeout", "30"]);
    const after = await apiProcess();
    assert.equal(after?.pid, before.pid);
    assert.equal(after?.adopted, true);
    assert.ok(await answering());
  });

  it("stops on disable and stays off; shutdown stops it too", async () => {
    const pid = (await apiProcess())?.pid;
    assert.ok(pid !== undefined);
    assert.match(await m.ok(["disable", "openstack-api"]), /Service openstack-api disabled/);
    assert.equal(isAlive(pid), false);
    assert.equal(await apiProcess(), undefined);
    for (const port of PORTS) assert.equal((await call(port, "GET", "/")).code, "ECONNREFUSED");
    assert.ok(
      !(await status()).members.find((x) => x.name === "node1")?.services.includes("openstack-api"),
    );

    await m.ok(["enable", "openstack-api"]);
    const again = (await apiProcess())?.pid;
    assert.ok(again !== undefined && isAlive(again));
    await m.ok(["shutdown"]);
    assert.equal(isAlive(again), false);
    assert.equal((await m.pids())["openstack-api"], undefined);
  });
});
