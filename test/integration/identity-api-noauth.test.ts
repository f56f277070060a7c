/**
 * noauth where others could reach the API: a member whose address is
 * neither loopback nor in the lab (192.0.2.10, on the loopback device of
 * the member's own namespace, so no traffic leaves it) refuses `config set
 * openstack-api.auth noauth` before anything changes, saying why and what
 * to use instead.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { run } from "../../src/process/run.js";
import { TestMember } from "../helpers/member.js";

const ADDRESS = "192.0.2.10";

describe("noauth on a member others could reach", () => {
  let m: TestMember;

  before(async () => {
    m = await TestMember.create("noau");
    await run("ip", ["-n", m.namespace, "addr", "add", `${ADDRESS}/32`, "dev", "lo"]);
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", ADDRESS]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("is refused up front, and nothing changes", async () => {
    await m.ok(["config", "set", "openstack-api.auth", "local"]);
    const refused = await m.cli(["config", "set", "openstack-api.auth", "noauth"]);
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.stderr, /192\.0\.2\.10 is neither; use local/);
    assert.match(await m.ok(["config", "get", "openstack-api.auth"]), /local/);
  });
});
