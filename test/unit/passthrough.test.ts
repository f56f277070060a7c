import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { absoluteTargets, toolInvocation, type ToolContext } from "../../src/cli/passthrough.js";

const ctx: ToolContext = {
  runDir: "/s/run",
  nbRemotes: ["ssl:10.0.0.1:6641", "ssl:10.0.0.2:6641"],
  sbRemotes: ["ssl:10.0.0.1:6642"],
  switchSocket: "/s/run/db.sock",
  tls: { privateKey: "/s/k.pem", certificate: "/s/c.pem", caCert: "/s/ca.pem" },
};
const TLS = ["--private-key=/s/k.pem", "--certificate=/s/c.pem", "--ca-cert=/s/ca.pem"];
const resolve = (name: string) =>
  ({ ovnnb_db: "/s/run/ovnnb_db.ctl", "ovn-controller": "/s/run/ovn-controller.77.ctl" })[name];

describe("passthrough tools", () => {
  it("points ovn-nbctl at every NB remote with the client certificate", () => {
    const inv = toolInvocation("ovn-nbctl", ["ls-add", "sw0"], ctx, resolve);
    assert.deepEqual(inv.args, [
      "--db=ssl:10.0.0.1:6641,ssl:10.0.0.2:6641",
      ...TLS,
      "ls-add",
      "sw0",
    ]);
    assert.deepEqual(inv.env, { OVS_RUNDIR: "/s/run", OVN_RUNDIR: "/s/run" });
  });

  it("points ovn-sbctl and ovn-trace at SB", () => {
    for (const tool of ["ovn-sbctl", "ovn-trace"] as const) {
      const inv = toolInvocation(tool, ["show"], ctx, resolve);
      assert.deepEqual(inv.args, ["--db=ssl:10.0.0.1:6642", ...TLS, "show"]);
    }
  });

  it("leaves a user's own --db and certificate alone", () => {
    const inv = toolInvocation("ovn-nbctl", ["--db=unix:/x", "-p", "k", "show"], ctx, resolve);
    assert.deepEqual(inv.args, ["--db=unix:/x", "-p", "k", "show"]);
  });

  it("says no member runs central instead of passing an empty --db", () => {
    const none = { ...ctx, nbRemotes: [], sbRemotes: [] };
    for (const tool of ["ovn-nbctl", "ovn-sbctl", "ovn-trace"] as const) {
      assert.throws(
        () => toolInvocation(tool, ["show"], none, resolve),
        (e: Error & { code?: string }) =>
          e.code === "NO_CENTRAL" &&
          e.message.includes(tool) &&
          e.message.includes("microovn enable central") &&
          e.message.includes("ovn.central-ips"),
      );
    }
    const own = toolInvocation("ovn-nbctl", ["--db=unix:/x", "show"], none, resolve);
    assert.deepEqual(own.args, [...TLS, "--db=unix:/x", "show"]);
  });

  it("points ovs-vsctl at conf.db's socket", () => {
    const inv = toolInvocation("ovs-vsctl", ["show"], ctx, resolve);
    assert.deepEqual(inv.args, ["--db=unix:/s/run/db.sock", "show"]);
  });

  it("makes appctl targets absolute and gives ovs-appctl vswitchd by default", () => {
    assert.deepEqual(
      toolInvocation(
        "ovn-appctl",
        ["-t", "ovnnb_db", "cluster/status", "OVN_Northbound"],
        ctx,
        resolve,
      ).args,
      ["-t", "/s/run/ovnnb_db.ctl", "cluster/status", "OVN_Northbound"],
    );
    assert.deepEqual(toolInvocation("ovs-appctl", ["version"], ctx, resolve).args, [
      "-t",
      "/s/run/ovs-vswitchd.ctl",
      "version",
    ]);
    assert.deepEqual(toolInvocation("ovn-appctl", ["version"], ctx, resolve).args, ["version"]);
  });

  it("rewrites every spelling of the target option and keeps unknown or absolute ones", () => {
    assert.deepEqual(absoluteTargets(["--target=ovn-controller", "x"], resolve), {
      args: ["--target=/s/run/ovn-controller.77.ctl", "x"],
      hasTarget: true,
    });
    assert.deepEqual(absoluteTargets(["--target", "/abs/x.ctl"], resolve).args, [
      "--target",
      "/abs/x.ctl",
    ]);
    assert.deepEqual(absoluteTargets(["-t", "nothing"], resolve).args, ["-t", "nothing"]);
    assert.equal(absoluteTargets(["version"], resolve).hasTarget, false);
  });

  it("gives ovsdb-client the TLS files and ovs-ofctl only the run dir", () => {
    assert.deepEqual(
      toolInvocation("ovsdb-client", ["list-dbs", "ssl:1.2.3.4:6641"], ctx, resolve).args,
      [...TLS, "list-dbs", "ssl:1.2.3.4:6641"],
    );
    const ofctl = toolInvocation("ovs-ofctl", ["dump-flows", "br-int"], ctx, resolve);
    assert.deepEqual(ofctl.args, ["dump-flows", "br-int"]);
    assert.equal(ofctl.env.OVS_RUNDIR, "/s/run");
  });
});
