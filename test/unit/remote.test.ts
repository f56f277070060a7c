import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatRemote, parseRemote, parseRemotes } from "../../src/ovsdb/client/remote.js";

describe("remote strings", () => {
  it("parses unix, tcp and ssl remotes", () => {
    assert.deepEqual(parseRemote("unix:/run/ovn/ovnnb_db.sock"), {
      kind: "unix",
      path: "/run/ovn/ovnnb_db.sock",
    });
    assert.deepEqual(parseRemote("tcp:127.0.0.1:6641"), {
      kind: "tcp",
      host: "127.0.0.1",
      port: 6641,
    });
    assert.deepEqual(parseRemote("ssl:[::1]:6642"), { kind: "ssl", host: "::1", port: 6642 });
    assert.deepEqual(parseRemote("tcp:127.0.0.1"), { kind: "tcp", host: "127.0.0.1", port: 6640 });
    assert.deepEqual(parseRemote("ssl:[fe80::1]"), { kind: "ssl", host: "fe80::1", port: 6640 });
  });

  it("parses comma-separated lists and arrays", () => {
    const list = parseRemotes("ssl:10.0.0.1:6641, ssl:10.0.0.2:6641,ssl:[2001:db8::3]:6641");
    assert.deepEqual(list.map(formatRemote), [
      "ssl:10.0.0.1:6641",
      "ssl:10.0.0.2:6641",
      "ssl:[2001:db8::3]:6641",
    ]);
    assert.equal(parseRemotes(["unix:/a", "tcp:127.0.0.1:1,tcp:127.0.0.2:2"]).length, 3);
  });

  it("rejects what it cannot use, saying the expected forms", () => {
    for (const bad of [
      "",
      "127.0.0.1:6641",
      "http:1.2.3.4:80",
      "tcp:host.example:6641",
      "tcp:::1:6641",
      "tcp:1.2.3.4:0",
      "tcp:1.2.3.4:70000",
      "ssl:[::1",
      "unix:",
    ]) {
      assert.throws(
        () => parseRemotes(bad),
        (e: Error & { code?: string }) =>
          e.code === "OVSDB_BAD_REMOTE" && /unix:PATH/.test(e.message),
        bad,
      );
    }
  });
});
