/**
 * The `ovirt` auth plugin against a stand-in for oVirt engine's SSO. oVirt
 * engine (a Java application server with its own database) cannot run on
 * this machine, so this test writes a small HTTPS server that answers the
 * two SSO endpoints the plugin uses as the engine's design describes them:
 * the password grant (`/ovirt-engine/sso/oauth/token`) and token info
 * (`/ovirt-engine/sso/oauth/token-info`, for a registered client only). It
 * runs in the member's namespace on loopback, with a certificate of a CA of
 * its own that the plugin is told to trust. Everything else is real: the
 * member, its API service, the state database the settings live in.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { spawnDetached } from "../../src/process/run.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { TestMember } from "../helpers/member.js";
import {
  callHttps,
  passwordAuth,
  printedAdminPassword,
  type HttpsAnswer,
} from "../helpers/openstack-api.js";
import { stopPid, trackPid } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const ENGINE_PORT = 8443;
const CLIENT = { id: "ovirt-provider-ovn", secret: "client-secret-of-the-provider" };

/** The stand-in engine: users with passwords, groups and roles; tokens it issued. */
const STAND_IN = `
import { createServer } from "node:https";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
const [key, cert, port, clientId, clientSecret] = process.argv.slice(2);
const users = {
  "admin@internal": { password: "engine-admin-pw", groups: [], roles: ["SuperUser"] },
  "net@internal": { password: "net-pw", groups: ["NetAdmin"], roles: [] },
  "viewer@internal": { password: "viewer-pw", groups: ["Everyone"], roles: ["UserRole"] },
};
const tokens = new Map();
const json = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
  let text = "";
  req.on("data", (c) => (text += c));
  req.on("end", () => {
    const form = new URLSearchParams(text);
    if (req.method === "POST" && req.url === "/ovirt-engine/sso/oauth/token") {
      const user = users[form.get("username")];
      if (form.get("grant_type") !== "password" || !user || user.password !== form.get("password")) {
        return json(res, 400, { error: "access_denied", error_description: "Cannot authenticate user" });
      }
      const token = randomBytes(24).toString("base64url");
      const exp = Date.now() + 3600_000;
      tokens.set(token, { name: form.get("username"), exp });
      return json(res, 200, { access_token: token, scope: form.get("scope"), exp: String(exp), token_type: "bearer" });
    }
    if (req.method === "POST" && req.url === "/ovirt-engine/sso/oauth/token-info") {
      const expected = "Basic " + Buffer.from(clientId + ":" + clientSecret).toString("base64");
      if (req.headers.authorization !== expected) {
        return json(res, 401, { error: "invalid_client", error_description: "bad client credentials" });
      }
      const t = tokens.get(form.get("token"));
      if (!t) return json(res, 200, { active: false });
      const u = users[t.name];
      return json(res, 200, { active: true, user_id: t.name, exp: String(t.exp), scope: "ovirt-app-api",
        ovirt: { groups: u.groups, group_ids: u.groups.map((g) => "id-" + g), roles: u.roles } });
    }
    json(res, 404, { error: "not_found" });
  });
}).listen(Number(port), "127.0.0.1");
`;

describe("the ovirt auth plugin, against a stand-in engine", () => {
  let m: TestMember;
  let enginePid: number | undefined;
  let adminPassword: string;

  const callAt = (
    ca: string,
    port: number,
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpsAnswer> =>
    callHttps((program, args) => m.sh(program, args), {
      ca,
      host: "127.0.0.1",
      port,
      method,
      path,
      ...options,
    });
  const call = (method: string, path: string, options: Parameters<typeof callAt>[4] = {}) =>
    callAt(m.path("data/pki/cacert.pem"), 5000, method, path, options);

  /** A v2.0 token request, as oVirt engine makes it; the status and the token. */
  const engineToken = async (username: string, password: string) => {
    const answer = await call("POST", "/v2.0/tokens", {
      body: { auth: { passwordCredentials: { username, password } } },
    });
    const access = (answer.body as { access?: { token: { id: string } } }).access;
    return { status: answer.status, token: access?.token.id };
  };
  const asAdmin = async (token: string) =>
    (await call("GET", "/v3/projects", { headers: { "x-auth-token": token } })).status;
  const set = (key: string, value: string) =>
    m.ok(["config", "set", `openstack-api.${key}`, value]);

  before(async () => {
    m = await TestMember.create("ovirt");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    const enabled = await m.ok(["enable", "openstack-api"]);
    adminPassword = printedAdminPassword(enabled);
    const ca = await createCa({ commonName: "stand-in engine CA" });
    const engine = await issueCertificate({
      ca,
      member: "engine",
      service: "sso",
      addresses: ["127.0.0.1"],
    });
    await writeFile(m.path("engine-ca.pem"), ca.certPem);
    await writeFile(m.path("engine-cert.pem"), engine.certPem);
    await writeFile(m.path("engine-key.pem"), engine.keyPem, { mode: 0o600 });
    await writeFile(m.path("engine.mjs"), STAND_IN);
    const child = await spawnDetached(
      "ip",
      [
        ...["netns", "exec", m.namespace, process.execPath, m.path("engine.mjs")],
        ...[m.path("engine-key.pem"), m.path("engine-cert.pem"), String(ENGINE_PORT)],
        ...[CLIENT.id, CLIENT.secret],
      ],
      { logFile: m.path("engine.log") },
    );
    enginePid = child.pid;
    trackPid(child.pid);
    await waitFor("the stand-in engine to listen", async () => {
      const a = await callAt(m.path("engine-ca.pem"), ENGINE_PORT, "GET", "/");
      return a.status === 404;
    });
    await set("ovirt-url", `https://127.0.0.1:${ENGINE_PORT}`);
    await set("ovirt-ca-file", m.path("engine-ca.pem"));
    await set("ovirt-client-id", CLIENT.id);
    await set("ovirt-client-secret", CLIENT.secret);
    await set("ovirt-admin-user-name", "admin@internal");
    await set("auth", "ovirt");
  });

  after(async () => {
    if (enginePid !== undefined) await stopPid(enginePid);
    await m?.cleanup();
  });

  it("gets tokens from the engine and admits its admin user", async () => {
    const { status, token } = await engineToken("admin@internal", "engine-admin-pw");
    assert.equal(status, 200);
    assert.ok(token && !token.startsWith("mo1."), "the engine's token, not one of ours");
    assert.equal(await asAdmin(token), 200);
    // The same token on Networking: past authentication (no network routes answer 404 here).
    const networking = await callAt(m.path("data/pki/cacert.pem"), 9696, "GET", "/v2.0/networks", {
      headers: { "x-auth-token": token },
    });
    assert.notEqual(networking.status, 401);
    assert.notEqual(networking.status, 403);
  });

  it("refuses a wrong password, a token the engine does not know, and users not admitted", async () => {
    assert.equal((await engineToken("admin@internal", "wrong")).status, 401);
    assert.equal(await asAdmin("not-a-token-of-the-engine"), 401);
    const viewer = await engineToken("viewer@internal", "viewer-pw");
    assert.equal(viewer.status, 200);
    assert.equal(await asAdmin(viewer.token!), 403);
    // While the engine decides, we issue no tokens of our own, even for our own administrator.
    const local = await call("POST", "/v3/auth/tokens", {
      body: passwordAuth("admin", adminPassword),
    });
    assert.equal(local.status, 503);
    assert.match(
      (local.body as { error: { message: string } }).error.message,
      /POST \/v2\.0\/tokens/,
    );
  });

  it("admits by group and by role", async () => {
    const net = await engineToken("net@internal", "net-pw");
    const viewer = await engineToken("viewer@internal", "viewer-pw");
    assert.equal(await asAdmin(net.token!), 403);
    await set("ovirt-admin-group", "NetAdmin");
    assert.equal(await asAdmin(net.token!), 200);
    assert.equal(await asAdmin(viewer.token!), 403);
    await set("ovirt-admin-role", "UserRole");
    assert.equal(await asAdmin(viewer.token!), 200);
  });

  it("is refused by the engine without the right client secret", async () => {
    await set("ovirt-client-secret", "not-the-secret");
    const fresh = await engineToken("admin@internal", "engine-admin-pw");
    assert.equal(fresh.status, 200);
    assert.equal(await asAdmin(fresh.token!), 401);
  });
});
