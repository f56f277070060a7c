import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { MicroOvnError } from "../../src/errors.js";
import { readFileSync } from "node:fs";
import { checkName, checkRole, newId } from "../../src/identity/names.js";
import { checkIdentitySchema } from "../../src/identity/store.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import {
  SCRYPT_PARAMETERS,
  checkPassword,
  generatePassword,
  hashPassword,
  parseStoredHash,
  verifyPassword,
} from "../../src/identity/password.js";

/** Cheap parameters where the test is not about cost. */
const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe("identity passwords", () => {
  it("verifies the password a hash was made from, and no other", async () => {
    const stored = await hashPassword("correct horse", FAST);
    assert.equal(await verifyPassword("correct horse", stored), true);
    assert.equal(await verifyPassword("correct hors", stored), false);
    assert.equal(await verifyPassword("Correct horse", stored), false);
    assert.equal(await verifyPassword("", stored), false);
  });

  it("stores scrypt$N$r$p$salt$hash, never the password, with a salt per hash", async () => {
    const a = await hashPassword("s3cret-pass", FAST);
    const b = await hashPassword("s3cret-pass", FAST);
    assert.match(a, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(!a.includes("s3cret-pass"));
    assert.notEqual(a, b);
    assert.notEqual(
      parseStoredHash(a)!.salt.toString("hex"),
      parseStoredHash(b)!.salt.toString("hex"),
    );
  });

  it("reads the parameters back from the stored string and verifies with them", async () => {
    const stored = await hashPassword("pw", { N: 2 ** 11, r: 4, p: 2 });
    assert.deepEqual(parseStoredHash(stored)!.params, { N: 2048, r: 4, p: 2 });
    assert.equal(await verifyPassword("pw", stored), true);
    // The same salt and hash under other parameters is another hash: it must not verify.
    const changed = stored.replace(/^scrypt\$2048\$4\$2\$/, "scrypt$2048$8$1$");
    assert.equal(await verifyPassword("pw", changed), false);
  });

  it("hashes with the default parameters when none are given", async () => {
    const stored = await hashPassword("pw");
    assert.deepEqual(parseStoredHash(stored)!.params, SCRYPT_PARAMETERS);
    assert.equal(await verifyPassword("pw", stored), true);
  });

  it("matches nothing against a stored string that is not a hash of ours", async () => {
    for (const stored of [
      "",
      "pw",
      "scrypt$x$8$1$AAAA$AAAA",
      "bcrypt$1024$8$1$AAAA$AAAA",
      "scrypt$1024$8$1$$",
    ]) {
      assert.equal(parseStoredHash(stored), undefined, stored);
      assert.equal(await verifyPassword("pw", stored), false, stored);
    }
  });

  it("refuses an empty or oversized password, saying what to do", async () => {
    assert.throws(
      () => checkPassword(""),
      (e: MicroOvnError) => e.code === "EMPTY_PASSWORD" && /--password-stdin/.test(e.message),
    );
    await assert.rejects(hashPassword("", FAST), { code: "EMPTY_PASSWORD" });
    assert.throws(() => checkPassword("x".repeat(4097)), { code: "PASSWORD_TOO_LONG" });
    assert.equal(checkPassword("x".repeat(4096)).length, 4096);
  });

  it("generates different passwords of at least 24 URL-safe characters", () => {
    const a = generatePassword();
    assert.match(a, /^[A-Za-z0-9_-]{24,}$/);
    assert.notEqual(a, generatePassword());
  });
});

describe("identity names", () => {
  it("takes 1 to 64 characters, any script", () => {
    for (const name of ["a", "admin", "Ünïcødé-ünd space", "x".repeat(64), "名前"]) {
      assert.equal(checkName("user", name), name);
    }
  });

  it("refuses empty, too long, control characters and blank names, saying what a name may be", () => {
    for (const name of ["", "x".repeat(65), "tab\there", "new\nline", "del\u007f", "   "]) {
      assert.throws(
        () => checkName("project", name),
        (e: MicroOvnError) =>
          e.code === "BAD_NAME" &&
          /1 to 64 characters/.test(e.message) &&
          e.message.includes("project"),
        JSON.stringify(name),
      );
    }
  });

  it("knows the three roles and refuses others, naming them", () => {
    assert.equal(checkRole("reader"), "reader");
    assert.throws(
      () => checkRole("owner"),
      (e: MicroOvnError) => e.code === "UNKNOWN_ROLE" && /admin, member, reader/.test(e.message),
    );
  });

  it("makes Keystone-style ids: 32 lowercase hex digits, new each time", () => {
    const id = newId();
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.notEqual(id, newId());
  });
});

describe("the identity store's schema", () => {
  it("is in the state database's schema; an older one is refused, saying nothing changed", () => {
    const raw = JSON.parse(
      readFileSync(new URL("../../schemas/microovn.ovsschema", import.meta.url), "utf8"),
    ) as { version: string; tables: Record<string, unknown> };
    checkIdentitySchema(parseSchema(raw));
    raw.version = "1.0.0";
    for (const table of Object.keys(raw.tables)) {
      if (table.startsWith("Identity_")) delete raw.tables[table];
    }
    assert.throws(
      () => checkIdentitySchema(parseSchema(raw)),
      (e: MicroOvnError) =>
        e.code === "STATE_DB_SCHEMA_TOO_OLD" &&
        /runs schema 1\.0\.0/.test(e.message) &&
        /nothing was changed/.test(e.message),
    );
  });
});
