/**
 * Token signing keys and revocations on a real ovsdb-server holding the
 * cluster state database's schema: a rotation retires the signing key and
 * adds one; two API servers that saw the same keys and rotate at once add
 * one key between them (the `wait` fails the slower one); retired keys go
 * once no token they signed can be valid; a revocation purges the expired
 * ones and a repeated one is no error.
 */
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  revokeToken,
  rotateTokenKeys,
  signingKey,
  tokenKey,
  type TokenKey,
} from "../../src/identity/token-keys.js";
import { OvsdbClient } from "../../src/ovsdb/index.js";
import type { MicroOVNDatabase } from "../../src/ovsdb/models/microovn.js";
import { startStandalone, type OvsdbServerHandle } from "../helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const SCHEMA = resolve(import.meta.dirname, "../../schemas/microovn.ovsschema");
const HOUR = 3600_000;

describe("token keys and revocations in the state database", () => {
  let dir: string;
  let server: OvsdbServerHandle;
  const clients: OvsdbClient<MicroOVNDatabase>[] = [];

  const connect = async () => {
    const c = await OvsdbClient.connect<MicroOVNDatabase>({
      remotes: [server.unixRemote],
      database: "MicroOVN",
    });
    clients.push(c);
    return c;
  };
  const keys = async (db: OvsdbClient<MicroOVNDatabase>): Promise<TokenKey[]> =>
    (await db.select("Identity_Token_Key")).map(tokenKey);

  before(async () => {
    dir = await makeTempDir("tkeys");
    server = await startStandalone({ dir, schemaFile: SCHEMA });
  });

  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
    await removeDir(dir);
  });

  it("adds the first key, then rotates: one signs, the old one is retired", async () => {
    const db = await connect();
    const now = Date.now();
    assert.equal(await rotateTokenKeys(db, [], now, HOUR), true);
    const first = await keys(db);
    assert.equal(first.length, 1);
    assert.equal(first[0]!.secret.length, 32);
    assert.equal(await rotateTokenKeys(db, first, now + 1000, HOUR), true);
    const second = await keys(db);
    assert.equal(second.length, 2);
    assert.equal(second.find((k) => k.id === first[0]!.id)?.retiredAt, now + 1000);
    assert.notEqual(signingKey(second)?.id, first[0]!.id);
  });

  it("lets only one of two servers that saw the same keys rotate", async () => {
    const [a, b] = [await connect(), await connect()];
    const seen = await keys(a);
    const results = await Promise.all([
      rotateTokenKeys(a, seen, Date.now(), HOUR),
      rotateTokenKeys(b, seen, Date.now(), HOUR),
    ]);
    assert.deepEqual([...results].sort(), [false, true]);
    const after = await keys(a);
    assert.equal(after.length, seen.length + 1);
    assert.equal(after.filter((k) => k.retiredAt === undefined).length, 1);
  });

  it("drops retired keys once no token they signed can be valid", async () => {
    const db = await connect();
    const now = Date.now();
    const before = await keys(db);
    // Two hours on, with one-hour tokens: every key retired before now is past use.
    assert.equal(await rotateTokenKeys(db, before, now + 2 * HOUR, HOUR), true);
    const left = await keys(db);
    assert.equal(left.length, 2, "the key retired just now and the new one");
    assert.ok(left.every((k) => k.retiredAt === undefined || k.retiredAt === now + 2 * HOUR));
  });

  it("records revocations until the token's expiry and purges the expired", async () => {
    const db = await connect();
    const now = Date.now();
    await revokeToken(db, "old", now - 1, now - HOUR);
    await revokeToken(db, "current", now + HOUR, now);
    await revokeToken(db, "current", now + HOUR, now);
    const rows = await db.select("Identity_Revoked_Token");
    assert.deepEqual(rows.map((r) => r.audit_id).sort(), ["current"]);
  });
});
