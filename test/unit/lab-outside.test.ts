/**
 * The lab's outside network options: the CIDR read and normalised, members
 * checked against the lab, a second outside network refused — each refusal
 * before anything is made, saying what to give instead.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MicroOvnError } from "../../src/errors.js";
import { outsideMembers, parseOutsideCidr, type LabOutside } from "../../src/lab/outside.js";

function refused(f: () => unknown, code: string, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof MicroOvnError);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

describe("parseOutsideCidr", () => {
  it("gives the network and its first address to the outside host", () => {
    assert.deepEqual(parseOutsideCidr("203.0.113.0/24"), {
      cidr: "203.0.113.0/24",
      address: "203.0.113.1",
      prefixLength: 24,
    });
    assert.deepEqual(parseOutsideCidr("198.51.100.77/26"), {
      cidr: "198.51.100.64/26",
      address: "198.51.100.65",
      prefixLength: 26,
    });
    assert.equal(parseOutsideCidr("10.200.0.0/8").address, "10.0.0.1");
  });

  it("refuses what is not an IPv4 network of /8 to /29", () => {
    for (const text of ["203.0.113.0", "203.0.113.300/24", "fd00::/64", "outside", ""]) {
      refused(
        () => parseOutsideCidr(text),
        "BAD_LAB_OPTION",
        /is not an IPv4 network; write one such as 203\.0\.113\.0\/24; nothing was made/,
      );
    }
    refused(
      () => parseOutsideCidr("203.0.113.0/30"),
      "BAD_LAB_OPTION",
      /a \/30 prefix; the outside network needs \/8 to \/29/,
    );
    refused(() => parseOutsideCidr("10.0.0.0/7"), "BAD_LAB_OPTION", /a \/7 prefix/);
  });
});

describe("outsideMembers", () => {
  const members = ["m1", "m2", "m3"];

  it("takes every member by default, or those named", () => {
    assert.deepEqual(outsideMembers(undefined, members, undefined), members);
    assert.deepEqual(outsideMembers("m1, m3", members, undefined), ["m1", "m3"]);
  });

  it("refuses unknown or repeated members", () => {
    refused(
      () => outsideMembers("m1,m7", members, undefined),
      "BAD_LAB_OPTION",
      /--members names "m7", but the lab has the members m1, m2, m3; nothing was made/,
    );
    refused(() => outsideMembers("", members, undefined), "BAD_LAB_OPTION", /--members names ""/);
    refused(() => outsideMembers("m2,m2", members, undefined), "BAD_LAB_OPTION", /names m2 twice/);
  });

  it("refuses a second outside network", () => {
    const current: LabOutside = {
      namespace: "t1-out",
      cidr: "203.0.113.0/24",
      address: "203.0.113.1",
      prefixLength: 24,
      members: ["m1", "m2"],
    };
    refused(
      () => outsideMembers("m3", members, current),
      "LAB_OUTSIDE_EXISTS",
      /has an outside network already \(203\.0\.113\.0\/24, linked to m1, m2\); remove it first with `microovn lab outside remove`/,
    );
  });
});
