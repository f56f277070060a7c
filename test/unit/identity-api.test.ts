/**
 * The Identity API's pure parts: the token format (signature, expiry,
 * tampering, keys), key rotation and retirement, who a token stands for
 * given the identity store's rows (a revoked token, a new password, a lost
 * role, a deleted project), the settings' checks (noauth only on loopback
 * or in the lab), oVirt admission, Keystone answers, and the openrc lines.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { formatOpenrc, shellQuote } from "../../src/cli/commands/openstack-api.js";
import { configKey, noauthAllowedAt } from "../../src/cluster/config-keys.js";
import type { MicroOvnError } from "../../src/errors.js";
import {
  checkTokenSchema,
  expiredKeys,
  rotationDue,
  signingKey,
  type TokenKey,
} from "../../src/identity/token-keys.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import type { MicroOVNDatabase } from "../../src/ovsdb/models/microovn.js";
import { ReplicaTable } from "../../src/ovsdb/replica/replica.js";
import { IdentityView } from "../../src/openstack/auth/identity-view.js";
import { callerOfKeystoneToken, tokensUrl } from "../../src/openstack/auth/keystone.js";
import { resolveToken, TokenInvalid } from "../../src/openstack/auth/local.js";
import { NoauthAuthenticator } from "../../src/openstack/auth/noauth.js";
import { admitted } from "../../src/openstack/auth/ovirt.js";
import {
  keystoneTime,
  keystoneV2Time,
  signToken,
  TokenRejected,
  verifyToken,
  type TokenPayload,
} from "../../src/openstack/auth/tokens.js";
import type { Backend } from "../../src/openstack/backend.js";
import type { ApiError } from "../../src/openstack/errors.js";

const HOUR = 3600_000;
const NOW = Date.parse("2026-11-29T20:00:00Z");

function key(id: string, createdAt: number, retiredAt?: number): TokenKey {
  return { id, secret: Buffer.alloc(32, id), createdAt, retiredAt };
}

function payload(over: Partial<TokenPayload> = {}): TokenPayload {
  return {
    kid: "k1",
    uid: "u1",
    pid: "p1",
    m: ["password"],
    iat: NOW,
    exp: NOW + HOUR,
    aud: ["audit-1"],
    ...over,
  };
}

describe("token format", () => {
  const k1 = key("k1", NOW - HOUR);
  const keys = (id: string) => (id === "k1" ? k1 : undefined);

  it("verifies what it signed, until it expires", () => {
    const token = signToken(payload(), k1);
    assert.match(token, /^mo1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(verifyToken(token, keys, NOW), payload());
    assert.deepEqual(verifyToken(token, keys, NOW + HOUR - 1), payload());
    assert.throws(() => verifyToken(token, keys, NOW + HOUR), { fault: "expired" });
  });

  it("refuses a changed payload, a changed signature, another key and garbage", () => {
    const token = signToken(payload(), k1);
    const [prefix, body, sig] = token.split(".") as [string, string, string];
    const forged = Buffer.from(JSON.stringify(payload({ uid: "admin" }))).toString("base64url");
    assert.throws(() => verifyToken(`${prefix}.${forged}.${sig}`, keys, NOW), {
      fault: "bad signature",
    });
    const flipped = `${sig.slice(0, -2)}${sig.endsWith("AA") ? "AB" : "AA"}`;
    assert.throws(() => verifyToken(`${prefix}.${body}.${flipped}`, keys, NOW), {
      fault: "bad signature",
    });
    const other = signToken(payload({ kid: "k2" }), key("k2", NOW));
    assert.throws(() => verifyToken(other, keys, NOW), { fault: "unknown key" });
    // Same key id, other secret: a key of another cluster.
    const impostor = signToken(payload(), { ...k1, secret: Buffer.alloc(32, 7) });
    assert.throws(() => verifyToken(impostor, keys, NOW), { fault: "bad signature" });
    for (const junk of [
      "",
      "abc",
      "mo1.x.y",
      "mo2.e30.AA",
      `mo1.${Buffer.from("{}").toString("base64url")}.AA`,
    ]) {
      assert.throws(() => verifyToken(junk, keys, NOW), TokenRejected, junk);
    }
  });

  it("refuses to sign with a key the payload does not name", () => {
    assert.throws(() => signToken(payload({ kid: "k9" }), k1));
  });

  it("writes times as Keystone does", () => {
    assert.equal(keystoneTime(NOW + 5), "2026-11-29T20:00:00.005000Z");
    assert.equal(keystoneV2Time(NOW + 5), "2026-11-29T20:00:00Z");
  });
});

describe("signing keys", () => {
  it("signs with the newest key not retired, and rotates when it is due", () => {
    const keys = [key("old", NOW - 3 * HOUR, NOW - 2 * HOUR), key("cur", NOW - 2 * HOUR)];
    assert.equal(signingKey(keys)?.id, "cur");
    assert.equal(signingKey([key("a", NOW, NOW)]), undefined);
    assert.equal(rotationDue([], NOW, 24 * HOUR), true);
    assert.equal(rotationDue(keys, NOW, 24 * HOUR), false);
    assert.equal(rotationDue(keys, NOW, 2 * HOUR), true);
  });

  it("needs schema 1.2.0: a 1.1.0 state database is refused, saying nothing changed", () => {
    const raw = JSON.parse(
      readFileSync(new URL("../../schemas/microovn.ovsschema", import.meta.url), "utf8"),
    ) as { version: string; tables: Record<string, unknown> };
    assert.equal(raw.version, "1.2.0");
    checkTokenSchema(parseSchema(raw));
    raw.version = "1.1.0";
    delete raw.tables.Identity_Token_Key;
    delete raw.tables.Identity_Revoked_Token;
    assert.throws(
      () => checkTokenSchema(parseSchema(raw)),
      (e: MicroOvnError) =>
        e.code === "STATE_DB_SCHEMA_TOO_OLD" &&
        /runs schema 1\.1\.0/.test(e.message) &&
        /nothing was\s+changed/.test(e.message),
    );
  });

  it("drops a retired key only once no token it signed can be valid", () => {
    const keys = [key("gone", 0, NOW - 2 * HOUR), key("kept", 0, NOW - HOUR / 2), key("cur", NOW)];
    assert.deepEqual(
      expiredKeys(keys, NOW, HOUR).map((k) => k.id),
      ["gone"],
    );
    assert.deepEqual(expiredKeys(keys, NOW, 3 * HOUR), []);
  });
});

/** Identity tables as a replica holds them, filled by the test. */
class Tables {
  readonly tables = new Map<string, ReplicaTable<never>>();
  private n = 0;

  constructor() {
    const indexes: Record<string, string[][]> = {
      Identity_User: [["name"], ["user_id"]],
      Identity_Project: [["name"], ["project_id"]],
      Identity_Role: [["name"], ["role_id"]],
      Identity_Assignment: [["user", "project", "role"]],
      Identity_Token_Key: [["key_id"]],
      Identity_Revoked_Token: [["audit_id"]],
    };
    for (const [name, idx] of Object.entries(indexes)) {
      this.tables.set(name, new ReplicaTable(name, idx));
    }
  }

  table<K extends keyof MicroOVNDatabase>(name: K): ReplicaTable<MicroOVNDatabase[K]> {
    return this.tables.get(name) as unknown as ReplicaTable<MicroOVNDatabase[K]>;
  }

  put<K extends keyof MicroOVNDatabase>(
    name: K,
    row: Omit<MicroOVNDatabase[K], "_uuid" | "_version">,
  ): string {
    const uuid = `uuid-${++this.n}`;
    this.table(name).put(
      uuid,
      { _uuid: uuid, _version: "1", ...row } as MicroOVNDatabase[K],
      undefined,
    );
    return uuid;
  }

  remove(name: keyof MicroOVNDatabase, uuid: string): void {
    this.table(name).remove(uuid);
  }
}

describe("who a token stands for", () => {
  function store() {
    const t = new Tables();
    const project = t.put("Identity_Project", {
      project_id: "p1",
      name: "demo",
      description: "",
      enabled: true,
      domain: "default",
    });
    const user = t.put("Identity_User", {
      user_id: "u1",
      name: "alice",
      password_hash: "x",
      enabled: true,
      default_project: project,
      created_at: NOW - HOUR,
      password_changed_at: NOW - HOUR,
    });
    const roles = Object.fromEntries(
      ["admin", "member", "reader"].map((name) => [
        name,
        t.put("Identity_Role", { role_id: `r-${name}`, name }),
      ]),
    );
    const grant = t.put("Identity_Assignment", { user, project, role: roles.member! });
    return { t, view: new IdentityView(t), user, project, roles, grant };
  }

  it("is the user with its roles on the project, implied ones included", () => {
    const { view } = store();
    const { caller } = resolveToken(payload(), view);
    assert.deepEqual(caller, {
      userId: "u1",
      userName: "alice",
      projectId: "p1",
      projectName: "demo",
      roles: ["member", "reader"],
    });
    const unscoped = resolveToken(payload({ pid: undefined }), view).caller;
    assert.equal(unscoped.projectId, undefined);
    assert.deepEqual(unscoped.roles, []);
  });

  it("is nobody once revoked, the role gone, the password changed, the user or project gone", () => {
    const cases: [string, (s: ReturnType<typeof store>) => void][] = [
      [
        "revoked",
        (s) =>
          void s.t.put("Identity_Revoked_Token", { audit_id: "audit-1", expires_at: NOW + HOUR }),
      ],
      [
        "revoked through the token it came from",
        (s) =>
          void s.t.put("Identity_Revoked_Token", { audit_id: "parent", expires_at: NOW + HOUR }),
      ],
      ["role revoked", (s) => s.t.remove("Identity_Assignment", s.grant)],
      ["project deleted", (s) => s.t.remove("Identity_Project", s.project)],
      ["user deleted", (s) => s.t.remove("Identity_User", s.user)],
      [
        "password changed",
        (s) => {
          const row = s.t.table("Identity_User").get(s.user)!;
          s.t.table("Identity_User").put(s.user, { ...row, password_changed_at: NOW + 1 }, row);
        },
      ],
      [
        "user disabled",
        (s) => {
          const row = s.t.table("Identity_User").get(s.user)!;
          s.t.table("Identity_User").put(s.user, { ...row, enabled: false }, row);
        },
      ],
    ];
    for (const [why, change] of cases) {
      const s = store();
      const token = payload({ aud: ["audit-1", "parent"] });
      assert.ok(resolveToken(token, s.view), why);
      change(s);
      assert.throws(() => resolveToken(token, s.view), TokenInvalid, why);
    }
  });
});

describe("auth settings", () => {
  it("allows noauth only where nobody else reaches the API", () => {
    for (const a of ["127.0.0.1", "127.3.2.1", "::1", "198.18.0.3", "198.19.255.1"]) {
      assert.equal(noauthAllowedAt(a), true, a);
    }
    for (const a of ["10.0.0.1", "192.0.2.7", "198.20.0.1", "0.0.0.0", "fd00::1", "::"]) {
      assert.equal(noauthAllowedAt(a), false, a);
    }
    const auth = configKey("openstack-api.auth");
    assert.doesNotThrow(() => auth.checkMembers!("noauth", ["127.0.0.1", "198.18.0.2"]));
    assert.doesNotThrow(() => auth.checkMembers!("local", ["192.0.2.7"]));
    assert.throws(
      () => auth.checkMembers!("noauth", ["127.0.0.1", "192.0.2.7"]),
      (e: Error) => {
        assert.match(e.message, /192\.0\.2\.7 is neither; use local/);
        return true;
      },
    );
  });

  it("refuses a noauth request on an exposed member, and says so in the log", async () => {
    const logged: string[] = [];
    const backend = { stateReplica: new Tables(), config: () => undefined } as unknown as Backend;
    const exposed = new NoauthAuthenticator(backend, "192.0.2.7", (l) => logged.push(l));
    await assert.rejects(exposed.authenticate(), (e: ApiError) => e.status === 503);
    await assert.rejects(exposed.authenticate(), (e: ApiError) => e.status === 503);
    assert.equal(logged.length, 1);
    assert.match(logged[0]!, /192\.0\.2\.7 is neither loopback nor in the lab/);
    const local = new NoauthAuthenticator(backend, "127.0.0.1", (l) => logged.push(l));
    assert.deepEqual((await local.authenticate()).roles, ["admin", "member", "reader"]);
  });

  it("checks token lifetimes and the outside services' URLs", () => {
    const expiration = configKey("openstack-api.token-expiration");
    assert.equal(expiration.check("3600"), "3600");
    for (const bad of ["0", "4", "-5", "1.5", "an hour", "", "604801"]) {
      assert.throws(() => expiration.check(bad), /whole seconds/, bad);
    }
    const keystone = configKey("openstack-api.keystone-url");
    assert.equal(keystone.check("https://keystone.example:5000/"), "https://keystone.example:5000");
    assert.equal(keystone.check("http://127.0.0.1:35000"), "http://127.0.0.1:35000");
    assert.throws(() => keystone.check("http://keystone.example:5000"), /in the clear/);
    assert.throws(() => keystone.check("keystone:5000"), /URL/);
    const ovirt = configKey("openstack-api.ovirt-url");
    assert.throws(() => ovirt.check("http://127.0.0.1:8080"), /https/);
    assert.throws(() => configKey("openstack-api.ovirt-ca-file").check("ca.pem"), /absolute/);
  });
});

describe("outside token checkers", () => {
  it("admits an oVirt user by name, group or role, and nobody else", () => {
    const info = {
      active: true,
      user_id: "net@internal",
      ovirt: { groups: ["NetAdmin"], group_ids: ["g-1"], roles: ["NetworkAdmin"] },
    };
    assert.equal(admitted(info, { userName: "net@internal" }), true);
    assert.equal(admitted(info, { group: "NetAdmin" }), true);
    assert.equal(admitted(info, { group: "g-1" }), true);
    assert.equal(admitted(info, { role: "NetworkAdmin" }), true);
    assert.equal(
      admitted(info, { userName: "admin@internal", group: "Other", role: "UserRole" }),
      false,
    );
    assert.equal(admitted(info, {}), false);
    assert.equal(admitted({ ...info, active: false }, { userName: "net@internal" }), false);
  });

  it("reads a caller from Keystone's token body", () => {
    assert.deepEqual(
      callerOfKeystoneToken({
        user: { id: "u", name: "bob" },
        project: { id: "p", name: "demo" },
        roles: [{ name: "admin" }],
      }),
      {
        userId: "u",
        userName: "bob",
        projectId: "p",
        projectName: "demo",
        roles: ["admin", "member", "reader"],
      },
    );
    assert.equal(callerOfKeystoneToken({}), undefined);
    assert.equal(tokensUrl("https://k:5000/v3/"), "https://k:5000/v3/auth/tokens?nocatalog");
    assert.equal(tokensUrl("https://k:5000"), "https://k:5000/v3/auth/tokens?nocatalog");
  });
});

describe("openrc", () => {
  it("quotes every value for the shell, and has the password only where known", () => {
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    const rc = formatOpenrc({
      authUrl: "https://192.0.2.7:5000/v3",
      caCert: "/var/lib/microovn/data/pki/cacert.pem",
      userName: "o'brien",
      projectName: "demo",
      passwordNote: "set OS_PASSWORD to o'brien's password",
    });
    assert.match(rc, /^export OS_USERNAME='o'\\''brien'$/m);
    assert.match(rc, /^export OS_IDENTITY_API_VERSION='3'$/m);
    assert.doesNotMatch(rc, /OS_PASSWORD=/);
    assert.match(rc, /^# No OS_PASSWORD: /m);
    const admin = formatOpenrc({
      authUrl: "https://192.0.2.7:5000/v3",
      caCert: "/c.pem",
      userName: "admin",
      projectName: "admin",
      password: "p$w`d",
      passwordNote: "",
    });
    assert.match(admin, /^export OS_PASSWORD='p\$w`d'$/m);
    assert.doesNotMatch(admin, /^#.*No OS_PASSWORD/m);
  });
});
