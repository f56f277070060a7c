/**
 * The pure parts of a port's live migration (src/openstack/networking/
 * migration.ts): the binding options ML2/OVN writes, the checks on
 * `migrating_to`, and when SB's Port_Binding says the migration is over.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../src/openstack/errors.js";
import {
  bindingOptions,
  boundHost,
  checkMigratingTo,
  migrationEnd,
  migrationOf,
  type ChassisNames,
} from "../../src/openstack/networking/migration.js";

/** Chassis rows by uuid: name and hostname. */
const ROWS: Record<string, { name: string; hostname: string }> = {
  u1: { name: "m1", hostname: "host-1" },
  u2: { name: "m2", hostname: "host-2" },
  u3: { name: "m3", hostname: "host-3" },
};

const chassis: ChassisNames = {
  of: (uuid) => (uuid === undefined ? undefined : ROWS[uuid]),
  has: (n) => Object.values(ROWS).some((r) => r.name === n || r.hostname === n),
  hostnameOf: (name) => Object.values(ROWS).find((r) => r.name === name)?.hostname,
  names: () => Object.values(ROWS).map((r) => r.name),
};

function refusedWith(fn: () => unknown, message: RegExp): void {
  assert.throws(
    fn,
    (e: unknown) =>
      e instanceof ApiError &&
      e.status === 400 &&
      e.type === "InvalidInput" &&
      message.test(e.message),
  );
}

const binding = (
  main: string | undefined,
  additional: string[] = [],
  options: Record<string, string> = {},
) => ({ chassis: main, additional_chassis: additional, options: new Map(Object.entries(options)) });

describe("live migration", () => {
  it("writes requested-chassis SRC,DST with activation-strategy rarp only while a bound port migrates", () => {
    assert.deepEqual(bindingOptions("m1", "m2"), {
      "requested-chassis": "m1,m2",
      "activation-strategy": "rarp",
    });
    assert.deepEqual(bindingOptions("m1", undefined), { "requested-chassis": "m1" });
    // As ML2/OVN: a port bound nowhere has nothing to migrate from.
    assert.deepEqual(bindingOptions("", "m2"), {});
    const options = new Map(Object.entries(bindingOptions("m1", "m2")));
    assert.equal(boundHost(options), "m1");
    assert.deepEqual(migrationOf(options), { source: "m1", destination: "m2" });
    assert.equal(migrationOf(new Map([["requested-chassis", "m1"]])), undefined);
    assert.equal(migrationOf(new Map()), undefined);
  });

  it("takes migrating_to only as the name or hostname of another chassis", () => {
    const known = () => chassis;
    assert.equal(checkMigratingTo({ migrating_to: "m2" }, "m1", known), "m2");
    assert.equal(checkMigratingTo({ migrating_to: "host-3" }, "m1", known), "host-3");
    assert.equal(checkMigratingTo({ other: 1 }, "m1", known), undefined);
    assert.equal(checkMigratingTo(null, "m1", known), undefined);
    refusedWith(() => checkMigratingTo({ migrating_to: 7 }, "m1", known), /as a string, not 7/);
    refusedWith(() => checkMigratingTo({ migrating_to: null }, "m1", known), /not null/);
    refusedWith(() => checkMigratingTo({ migrating_to: "" }, "m1", known), /not a chassis name/);
    refusedWith(
      () => checkMigratingTo({ migrating_to: "m2,m3" }, "m1", known),
      /no blanks or commas/,
    );
    refusedWith(() => checkMigratingTo({ migrating_to: "m1" }, "m1", known), /bound to m1 already/);
    refusedWith(
      () => checkMigratingTo({ migrating_to: "m9" }, "m1", known),
      /'m9' is neither the name nor the hostname of a chassis \(chassis now: m1, m2, m3\)/,
    );
  });

  it("ends a migration once the destination holds the port and was activated or is alone", () => {
    const m = { source: "m1", destination: "m2" };
    // Not yet: nothing bound, only the source, the destination blocked beside the source.
    assert.equal(migrationEnd(m, undefined, chassis), undefined);
    assert.equal(migrationEnd(m, binding(undefined), chassis), undefined);
    assert.equal(migrationEnd(m, binding("u1"), chassis), undefined);
    assert.equal(migrationEnd(m, binding("u1", ["u2"]), chassis), undefined);
    // Another chassis activated, or a third chassis holds it: not this migration's end.
    assert.equal(
      migrationEnd(m, binding("u1", ["u2"], { "additional-chassis-activated": "m3" }), chassis),
      undefined,
    );
    assert.equal(migrationEnd(m, binding("u3"), chassis), undefined);
    // The VM's RARP came from the destination.
    assert.equal(
      migrationEnd(m, binding("u1", ["u2"], { "additional-chassis-activated": "m2" }), chassis),
      "activated",
    );
    // The source let go; the destination is left.
    assert.equal(migrationEnd(m, binding(undefined, ["u2"]), chassis), "released");
    assert.equal(migrationEnd(m, binding("u2"), chassis), "released");
    // requested-chassis may name hosts; ovn-controller records chassis names.
    const byHost = { source: "host-1", destination: "host-2" };
    assert.equal(
      migrationEnd(
        byHost,
        binding("u1", ["u2"], { "additional-chassis-activated": "m2" }),
        chassis,
      ),
      "activated",
    );
    assert.equal(migrationEnd(byHost, binding("u1", ["u2"]), chassis), undefined);
  });
});
