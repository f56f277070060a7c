import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  decodeJoinToken,
  encodeJoinToken,
  hashSecret,
  isExpired,
  newSecret,
  secretMatches,
  type JoinToken,
} from "../../src/cluster/join-token.js";
import { centralWarnings, placeNewMember, type PlacedMember } from "../../src/cluster/placement.js";
import { MicroOvnError } from "../../src/errors.js";

const token: JoinToken = {
  name: "node2",
  secret: newSecret(),
  fingerprint: "ab".repeat(32),
  addresses: ["10.0.0.1:6686", "[fd00::1]:6686"],
  expiresAt: "2030-01-01T00:00:00.000Z",
};

const badToken = (text: string, why: RegExp) =>
  assert.throws(
    () => decodeJoinToken(text),
    (e: unknown) => e instanceof MicroOvnError && e.code === "BAD_TOKEN" && why.test(e.message),
    text.slice(0, 40),
  );

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

describe("join tokens", () => {
  it("round-trip through one line of base64", () => {
    const text = encodeJoinToken(token);
    assert.match(text, /^[A-Za-z0-9+/]+=*$/);
    assert.deepEqual(decodeJoinToken(`  ${text}\n`), token);
  });

  it("make distinct 32-byte secrets", () => {
    const a = newSecret();
    assert.equal(Buffer.from(a, "base64url").length, 32);
    assert.notEqual(a, newSecret());
  });

  it("are checked against a stored hash only", () => {
    const stored = hashSecret(token.secret);
    assert.notEqual(stored, token.secret);
    assert.equal(secretMatches(token.secret, stored), true);
    assert.equal(secretMatches(newSecret(), stored), false);
    assert.equal(secretMatches(token.secret, "00"), false);
  });

  it("refuse garbage with a reason and what to do", () => {
    badToken("not a token!", /not base64/);
    badToken(Buffer.from("{oops").toString("base64"), /does not hold JSON/);
    badToken(b64({ ...token, name: "" }), /"name" is missing/);
    badToken(b64({ ...token, fingerprint: "xyz" }), /fingerprint is not SHA-256/);
    badToken(b64({ ...token, addresses: [] }), /no address/);
    badToken(b64({ ...token, expiresAt: "soon" }), /expiry is not a date/);
    badToken(b64(42), /not hold an object/);
    badToken("bm90IGEgdG9rZW4=", /does not hold JSON/);
  });

  it("expire at their expiry", () => {
    assert.equal(isExpired(token, new Date("2029-12-31T23:59:59Z")), false);
    assert.equal(isExpired(token, new Date("2030-01-01T00:00:00Z")), true);
  });
});

describe("placement", () => {
  const member = (name: string, role: "voter" | "spare", central: boolean): PlacedMember => ({
    name,
    role,
    services: central ? ["central", "switch", "chassis"] : ["switch", "chassis"],
  });

  it("makes the first three members voters running central, then chassis-only spares", () => {
    const members: PlacedMember[] = [];
    for (let i = 1; i <= 5; i++) {
      const p = placeNewMember(members);
      members.push({ name: `m${i}`, ...p });
    }
    assert.deepEqual(
      members.map((m) => [m.role, m.services.join(",")]),
      [
        ["voter", "central,switch,chassis"],
        ["voter", "central,switch,chassis"],
        ["voter", "central,switch,chassis"],
        ["spare", "switch,chassis"],
        ["spare", "switch,chassis"],
      ],
    );
  });

  it("runs no central with an external one and honours an explicit choice", () => {
    assert.deepEqual(placeNewMember([], { externalCentral: true }).services, ["switch", "chassis"]);
    assert.deepEqual(placeNewMember([], { services: ["chassis", "central"] }).services, [
      "central",
      "chassis",
    ]);
  });

  it("fills a voter place that a removed member left", () => {
    const p = placeNewMember([member("a", "voter", true), member("b", "spare", false)]);
    assert.equal(p.role, "voter");
    assert.ok(p.services.includes("central"));
  });

  it("warns about fewer than three or an even number of centrals", () => {
    assert.deepEqual(centralWarnings([member("a", "voter", true), member("b", "voter", false)]), [
      "only 1 member runs central: the OVN databases survive the loss of a member only with 3 or more",
    ]);
    const four = ["a", "b", "c", "d"].map((n) => member(n, "voter", true));
    assert.match(centralWarnings(four).join("\n"), /4 members run central, an even number/);
    assert.deepEqual(centralWarnings(four.slice(0, 3)), []);
    assert.equal(centralWarnings(four.slice(0, 2)).length, 2);
  });
});
