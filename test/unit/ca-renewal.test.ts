import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { caRenewal } from "../../src/lifecycle/certificates.js";

const now = 1_000_000_000;
const online = now - 1_000;
const offline = now - 60_000;
const members = [
  { name: "m1", role: "voter" as const, heartbeat: offline },
  { name: "m2", role: "voter" as const, heartbeat: online },
  { name: "m3", role: "voter" as const, heartbeat: online },
  { name: "a0", role: "spare" as const, heartbeat: online },
];

describe("replacing a CA that expires soon", () => {
  it("does nothing while the CA is not due", () => {
    assert.equal(caRenewal(false, "generated", "m2", members, now), "none");
  });

  it("lets only the first online voter by name replace a CA the cluster made", () => {
    assert.equal(caRenewal(true, "generated", "m2", members, now), "regenerate");
    assert.equal(caRenewal(true, "generated", "m3", members, now), "none");
    assert.equal(caRenewal(true, "generated", "m1", members, now), "none", "m1 is offline");
    assert.equal(caRenewal(true, "generated", "a0", members, now), "none", "spares never do");
  });

  it("never replaces an external CA: every member warns instead", () => {
    for (const self of ["m2", "m3", "a0"]) {
      assert.equal(caRenewal(true, "external", self, members, now), "warn");
    }
  });
});
