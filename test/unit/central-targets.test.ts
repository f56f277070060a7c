import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { psslTarget, sslTarget } from "../../src/ovn/central.js";

describe("OVSDB targets of the central service", () => {
  it("writes active targets address first and passive ones port first", () => {
    assert.equal(sslTarget("10.0.0.1", 6641), "ssl:10.0.0.1:6641");
    assert.equal(psslTarget("10.0.0.1", 6641), "pssl:6641:10.0.0.1");
    assert.equal(sslTarget("fd00::1", 6642), "ssl:[fd00::1]:6642");
    assert.equal(psslTarget("fd00::1", 6642), "pssl:6642:[fd00::1]");
  });
});
