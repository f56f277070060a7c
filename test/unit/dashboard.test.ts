/**
 * The dashboard's pure parts: the dashboard.address setting, sessions with
 * their idle and absolute limits, and the failed-login limiter.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DASHBOARD_ADDRESS, configKey } from "../../src/cluster/config-keys.js";
import { bindHost, parseListenAddress } from "../../src/cluster/listen-address.js";
import {
  ABSOLUTE_LIMIT_MS,
  FAILURE_WINDOW_MS,
  FailureLimiter,
  IDLE_LIMIT_MS,
  MAX_FAILURES,
  SessionStore,
} from "../../src/dashboard/sessions.js";

describe("dashboard.address", () => {
  const key = configKey(DASHBOARD_ADDRESS);

  it("takes member, a wildcard or loopback with a port, or off", () => {
    for (const value of [
      "member:6690",
      "0.0.0.0:443",
      "[::]:6690",
      "127.0.0.1:8443",
      "[::1]:1",
      "off",
    ]) {
      assert.equal(key.check(value), value);
    }
    assert.deepEqual(parseListenAddress("[::]:6690"), {
      off: false,
      host: "::",
      port: 6690,
      loopback: false,
    });
    assert.equal(bindHost({ host: "member" }, "198.18.0.1"), "198.18.0.1");
    assert.equal(bindHost({ host: "0.0.0.0" }, "198.18.0.1"), "0.0.0.0");
  });

  it("refuses anything else, saying what to give", () => {
    for (const [value, why] of [
      ["", /^[^;]*give HOST:PORT/],
      ["member", /^[^;]*give HOST:PORT/],
      ["member:0", /port 0 is not from 1 to 65535/],
      ["member:70000", /port 70000/],
      ["10.0.0.1:6690", /one machine's address, but the setting applies to every member/],
      ["::1:6690", /^[^;]*give HOST:PORT/],
      ["[member]:6690", /not an IPv6 address/],
      ["dashboard.example:6690", /not an IP address/],
      ["on", /^[^;]*give HOST:PORT/],
    ] as const) {
      assert.throws(
        () => key.check(value),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "BAD_CONFIG_VALUE");
          assert.match(e.message, /^dashboard\.address cannot be/);
          assert.match(e.message, why);
          assert.match(e.message, /e\.g\. member:6690/);
          return true;
        },
        value,
      );
    }
  });
});

describe("dashboard sessions", () => {
  it("gives each login its own random id and ends it on logout", () => {
    const store = new SessionStore();
    const a = store.create("alice", ["reader"]);
    const b = store.create("alice", ["reader"]);
    assert.notEqual(a.id, b.id);
    assert.ok(a.id.length >= 40);
    assert.equal(store.touch(a.id)?.user, "alice");
    assert.equal(store.end(a.id)?.user, "alice");
    assert.equal(store.touch(a.id), undefined);
    assert.equal(store.touch(b.id)?.user, "alice");
    assert.equal(store.touch(undefined), undefined);
    assert.equal(store.touch("made-up"), undefined);
  });

  it("ends a session left idle too long, and any session past the absolute limit", () => {
    let now = 1_000_000;
    const store = new SessionStore(() => now);
    const idle = store.create("alice", ["reader"]);
    now += IDLE_LIMIT_MS + 1;
    assert.equal(store.touch(idle.id), undefined, "idle too long");
    const busy = store.create("bob", ["admin"]);
    while (now < busy.createdAt + ABSOLUTE_LIMIT_MS - IDLE_LIMIT_MS / 2) {
      now += IDLE_LIMIT_MS / 2;
      assert.ok(store.touch(busy.id), "kept alive by use");
    }
    now += IDLE_LIMIT_MS;
    assert.equal(store.touch(busy.id), undefined, "past the absolute limit");
  });

  it("ends the sessions of users who may no longer log in", () => {
    const store = new SessionStore();
    store.create("alice", ["reader"]);
    const bob = store.create("bob", ["reader"]);
    const ended = store.endWhere((s) => s.user !== "alice");
    assert.deepEqual(
      ended.map((s) => s.user),
      ["alice"],
    );
    assert.equal(store.size, 1);
    assert.ok(store.touch(bob.id));
  });
});

describe("failed logins", () => {
  it("allows MAX_FAILURES per key in the window, then says how long to wait", () => {
    let now = 0;
    const limiter = new FailureLimiter(() => now);
    const keys = ["ip:198.18.0.1", "user:alice"];
    for (let i = 0; i < MAX_FAILURES; i++) {
      assert.equal(limiter.retryAfter(keys), 0);
      limiter.fail(keys);
      now += 1000;
    }
    const wait = limiter.retryAfter(keys);
    assert.equal(wait, (FAILURE_WINDOW_MS - MAX_FAILURES * 1000) / 1000);
    // Another user from the same address waits as long; the same user from elsewhere too.
    assert.equal(limiter.retryAfter(["ip:198.18.0.1", "user:bob"]), wait);
    assert.equal(limiter.retryAfter(["ip:198.18.0.9", "user:alice"]), wait);
    assert.equal(limiter.retryAfter(["ip:198.18.0.9", "user:bob"]), 0);
    now += wait * 1000;
    assert.equal(limiter.retryAfter(keys), 0, "the oldest failure has left the window");
  });
});
