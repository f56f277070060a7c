/**
 * Quota arithmetic: limits from the project, the cluster and Neutron, in
 * that order; what a create would exceed, a bulk request counted whole;
 * Neutron's message; the checking of what an update asks for; and the
 * enforcement over a collection's views, counted once per change.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseQuotaLimit, QUOTA_DEFAULTS } from "../../src/cluster/config-keys.js";
import { ApiError } from "../../src/openstack/errors.js";
import {
  belowUsage,
  exceeded,
  mergeLimits,
  overQuota,
  requestedLimits,
} from "../../src/openstack/networking/quotas/limits.js";
import { checkQuota, countCollection } from "../../src/openstack/networking/quotas/usage.js";

describe("quota limits", () => {
  it("takes the project's, else the cluster's, else Neutron's default", () => {
    assert.deepEqual(mergeLimits({}), QUOTA_DEFAULTS);
    const limits = mergeLimits({ port: 50, network: 7 }, { port: 3, router: -1 });
    assert.equal(limits.port, 3);
    assert.equal(limits.network, 7);
    assert.equal(limits.router, -1);
    assert.equal(limits.subnet, 100);
    assert.equal(limits.floatingip, 50);
    assert.equal(limits.security_group, 10);
    assert.equal(limits.security_group_rule, 100);
  });

  it("counts a request whole against what is used, -1 being no limit", () => {
    const limits = mergeLimits({}, { port: 4, network: -1 });
    assert.deepEqual(exceeded(limits, { port: 2 }, { port: 2 }), []);
    assert.deepEqual(exceeded(limits, { port: 2 }, { port: 3 }), ["port"]);
    assert.deepEqual(exceeded(limits, { port: 4 }, { port: 1 }), ["port"]);
    assert.deepEqual(exceeded(limits, { port: 9 }, {}), [], "nothing asked, nothing exceeded");
    assert.deepEqual(exceeded(limits, { network: 1e6 }, { network: 5 }), []);
    assert.deepEqual(exceeded(mergeLimits({}, { port: 0 }), {}, { port: 1 }), ["port"]);
    assert.deepEqual(
      exceeded(mergeLimits({}, { subnet: 0, port: 0 }), {}, { subnet: 1, port: 1 }),
      ["port", "subnet"],
    );
  });

  it("answers as Neutron does", () => {
    const e = overQuota(["port"]);
    assert.equal(e.status, 409);
    assert.equal(e.type, "OverQuota");
    assert.equal(e.message, "Quota exceeded for resources: ['port'].");
    assert.equal(
      overQuota(["port", "subnet"]).message,
      "Quota exceeded for resources: ['port', 'subnet'].",
    );
  });

  it("takes whole numbers from -1 up for known resources, and nothing else", () => {
    assert.deepEqual(requestedLimits({ port: 5, network: "-1", force: true, tenant_id: "x" }), {
      port: 5,
      network: -1,
    });
    for (const bad of [-2, 1.5, "many", null, true, "", "9007199254740993"]) {
      assert.throws(
        () => requestedLimits({ port: bad }),
        (e: unknown) =>
          e instanceof ApiError && e.status === 400 && /Invalid input for port/.test(e.message),
        String(bad),
      );
    }
    assert.throws(
      () => requestedLimits({ widgets: 3, port: 1 }),
      (e: unknown) =>
        e instanceof ApiError &&
        e.status === 400 &&
        e.message.startsWith("Unrecognized attribute(s) 'widgets': quotas are set for network,"),
    );
  });

  it("with check_limit refuses a limit below what is used", () => {
    assert.equal(belowUsage({ port: 3 }, { port: 3 }), undefined);
    assert.equal(belowUsage({ port: -1 }, { port: 3 }), undefined);
    assert.match(belowUsage({ port: 2 }, { port: 3 })!.message, /Quota limit 2 for port/);
  });

  it("checks a cluster default as a setting", () => {
    assert.equal(parseQuotaLimit("k", " 12 "), 12);
    assert.equal(parseQuotaLimit("k", "-1"), -1);
    for (const bad of ["-2", "1.5", "ten", ""]) {
      assert.throws(() => parseQuotaLimit("k", bad), /k cannot be .*-1 for no limit/);
    }
  });
});

describe("quota enforcement over a collection", () => {
  const caller = {
    userId: "u",
    userName: "u",
    projectId: "p1",
    projectName: "p1",
    roles: ["member"],
  };
  /** A port collection of `n` views of project p1, counted scans included. */
  const setUp = (n: number, settings: Record<string, string> = {}) => {
    const views = Array.from({ length: n }, (_, i) => ({ id: String(i), project_id: "p1" }));
    const kind = {
      singular: "port",
      scans: 0,
      generation: () => views.length,
      all() {
        this.scans++;
        return views;
      },
    };
    const context = { backend: { config: (k: string) => settings[k] } } as never;
    countCollection(context, kind);
    return { views, kind, context };
  };
  const txn = () => ({}) as never;
  const overQuotaError = (e: unknown) => e instanceof ApiError && e.type === "OverQuota";

  it("counts a bulk request whole, and the creates already in the same transaction", () => {
    const { context, kind } = setUp(498, { "openstack-api.quota.port": "500" });
    const shared = txn();
    assert.throws(() => checkQuota(context, kind, shared, [{}, {}, {}], caller), overQuotaError);
    checkQuota(context, kind, shared, [{}], caller)();
    checkQuota(context, kind, shared, [{ project_id: "p1" }], caller)();
    assert.throws(() => checkQuota(context, kind, shared, [{}], caller), overQuotaError);
    // Another project's items are counted against that project.
    checkQuota(context, kind, shared, [{ project_id: "p2" }], caller)();
    // A fresh transaction sees only what the replica holds.
    checkQuota(context, kind, txn(), [{}, {}], caller);
  });

  it("counts once per replica change, and not at all where there is no limit", () => {
    const { context, kind, views } = setUp(3);
    checkQuota(context, kind, txn(), [{}], caller);
    checkQuota(context, kind, txn(), [{}], caller);
    assert.equal(kind.scans, 1);
    views.push({ id: "x", project_id: "p1" });
    checkQuota(context, kind, txn(), [{}], caller);
    assert.equal(kind.scans, 2);
    const free = setUp(3, { "openstack-api.quota.port": "-1" });
    checkQuota(free.context, free.kind, txn(), [{}, {}], caller);
    assert.equal(free.kind.scans, 0);
  });
});
