/**
 * Held-back schema upgrades, the pure parts: when NB or SB is converted
 * (every member answered and expects the same newer version), what
 * `microovn status` says otherwise, who may take the conversion lease, and
 * where the OVN schema directory is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MEMBER_NOT_CONTACTED, upgradeLines } from "../../src/cli/format/upgrade.js";
import { formatStatus } from "../../src/cli/format/status.js";
import type { StatusReport } from "../../src/daemon/status.js";
import {
  DEFAULT_OVN_SCHEMA_DIR,
  OVN_SCHEMA_DIR_VARIABLE,
  ovnSchemaDir,
  ovnSchemaFile,
} from "../../src/ovn/schemas.js";
import { compareVersions, schemaVerdict } from "../../src/upgrade/decision.js";
import { leaseKey, mayTake, parseLease } from "../../src/upgrade/lease.js";
import { isOvnProgram, isReplacedExecutable } from "../../src/upgrade/replaced-programs.js";

const all = (version: string) =>
  ["m1", "m2", "m3", "m4"].map((name) => ({ name, expected: version }));

describe("schemaVerdict", () => {
  it("is ok when every member expects the active version", () => {
    assert.deepEqual(schemaVerdict("7.0.0", all("7.0.0")), { kind: "ok" });
  });

  it("converts when every member expects the same newer version", () => {
    assert.deepEqual(schemaVerdict("6.3.0", all("7.0.0")), { kind: "convert", to: "7.0.0" });
    assert.deepEqual(schemaVerdict("7.9.0", all("7.10.0")), { kind: "convert", to: "7.10.0" });
  });

  it("holds while members expect different versions, naming those behind", () => {
    const members = [...all("7.0.0").slice(0, 3), { name: "m4", expected: "6.3.0" }];
    const v = schemaVerdict("6.3.0", members);
    assert.equal(v.kind, "hold");
    assert.match(v.kind === "hold" ? v.reason : "", /m4 still runs an older OVN.*7\.0\.0/);
  });

  it("holds while a member cannot be asked, naming it, even if the rest agree", () => {
    const members = [...all("7.0.0").slice(0, 3), { name: "m4", error: "ECONNREFUSED" }];
    const v = schemaVerdict("6.3.0", members);
    assert.equal(v.kind, "hold");
    assert.match(v.kind === "hold" ? v.reason : "", /m4 cannot be asked/);
    // An unreachable member is never "ok" either.
    assert.equal(schemaVerdict("7.0.0", members).kind, "hold");
  });

  it("never converts back to an older version", () => {
    const v = schemaVerdict("7.0.0", all("6.3.0"));
    assert.equal(v.kind, "hold");
    assert.match(v.kind === "hold" ? v.reason : "", /never converted back/);
  });

  it("holds with no members", () => {
    assert.equal(schemaVerdict("7.0.0", []).kind, "hold");
  });

  it("compares versions by number", () => {
    assert.equal(compareVersions("7.10.0", "7.9.9"), 1);
    assert.equal(compareVersions("20.27.0", "20.27.0"), 0);
    assert.equal(compareVersions("6.3.0", "7.0.0"), -1);
  });
});

describe("status lines of a held-back upgrade", () => {
  it("say nothing extra when all is well", () => {
    assert.equal(upgradeLines("OVN Northbound", "7.0.0", all("7.0.0")), undefined);
  });

  it("list each member's expected version, or that it could not be contacted", () => {
    const lines = upgradeLines("OVN Southbound", "20.26.0", [
      { name: "m1", expected: "20.27.0" },
      { name: "m2", error: "connect ECONNREFUSED" },
    ]);
    assert.deepEqual(lines?.slice(0, 5), [
      "OVN Southbound: Upgrade or attention required!",
      "Currently active schema: 20.26.0",
      "Cluster report (expected schema versions):",
      "\tm1: 20.27.0",
      `\tm2: ${MEMBER_NOT_CONTACTED}`,
    ]);
    assert.match(lines?.[5] ?? "", /^Held back: .*m2 cannot be asked/);
  });

  it("appear in `microovn status` in place of the OK line", () => {
    const report: StatusReport = {
      bootstrapped: true,
      members: [{ name: "m1", address: "10.0.0.1", role: "voter", services: ["central"] }],
      databases: [
        {
          title: "OVN Northbound",
          database: "OVN_Northbound",
          runningSchema: "6.3.0",
          expected: [{ name: "m1", expected: "7.0.0" }],
        },
        {
          title: "OVN Southbound",
          database: "OVN_Southbound",
          runningSchema: "20.27.0",
          expected: [{ name: "m1", expected: "20.27.0" }],
        },
      ],
      processes: [],
      certificates: [],
      problems: [],
    };
    const text = formatStatus(report);
    assert.match(text, /OVN Northbound: Upgrade or attention required!\n/);
    assert.match(
      text,
      /Every member expects 7\.0\.0: the member whose server leads it converts it/,
    );
    assert.match(text, /OVN Southbound: OK \(20\.27\.0\)\n/);
  });
});

describe("the conversion lease", () => {
  const now = 1_000_000;

  it("is free when absent, lapsed, or already this member's", () => {
    assert.equal(mayTake(undefined, "m1", now), true);
    assert.equal(mayTake({ holder: "m2", expiresAt: now }, "m1", now), true);
    assert.equal(mayTake({ holder: "m1", expiresAt: now + 5 }, "m1", now), true);
  });

  it("is refused while another member holds it", () => {
    assert.equal(mayTake({ holder: "m2", expiresAt: now + 1 }, "m1", now), false);
  });

  it("reads a value it cannot parse as lapsed", () => {
    assert.deepEqual(parseLease("{oops"), { holder: "", expiresAt: 0 });
    assert.deepEqual(parseLease('{"holder":"m3","expiresAt":5}'), { holder: "m3", expiresAt: 5 });
    assert.equal(parseLease(undefined), undefined);
    assert.equal(leaseKey("nb"), "upgrade.conversion-lease/nb");
  });
});

describe("the OVN schema directory", () => {
  it("is Debian's unless MICROOVN_OVN_SCHEMA_DIR names another", () => {
    assert.equal(ovnSchemaDir({}), DEFAULT_OVN_SCHEMA_DIR);
    assert.equal(ovnSchemaDir({ [OVN_SCHEMA_DIR_VARIABLE]: "" }), DEFAULT_OVN_SCHEMA_DIR);
    assert.equal(
      ovnSchemaFile("sb", { [OVN_SCHEMA_DIR_VARIABLE]: "/opt/ovn/share" }),
      "/opt/ovn/share/ovn-sb.ovsschema",
    );
  });
});

describe("programs still running a replaced binary", () => {
  it("hold the conversion back, named in the reason and on their member's line", () => {
    const members = all("7.0.0").map((m) =>
      m.name === "m3" ? { ...m, restartPending: ["ovn-controller", "ovn-northd"] } : m,
    );
    const v = schemaVerdict("6.3.0", members);
    assert.equal(v.kind, "hold");
    assert.match(v.kind === "hold" ? v.reason : "", /m3 \(ovn-controller, ovn-northd\).*restart/);
    const lines = upgradeLines("OVN Northbound", "6.3.0", members) ?? [];
    assert.ok(lines.includes("\tm3: 7.0.0 (restart pending: ovn-controller, ovn-northd)"));
  });

  it("do not matter when no conversion is due", () => {
    const members = all("7.0.0").map((m) => ({ ...m, restartPending: ["ovs-vswitchd"] }));
    assert.deepEqual(schemaVerdict("7.0.0", members), { kind: "ok" });
  });

  it("are told by the kernel's '(deleted)' mark, and only OVN/OVS programs count", () => {
    assert.equal(isReplacedExecutable("/usr/sbin/ovs-vswitchd (deleted)"), true);
    assert.equal(isReplacedExecutable("/usr/sbin/ovs-vswitchd"), false);
    assert.equal(isOvnProgram("ovsdb-server-nb"), true);
    assert.equal(isOvnProgram("ovn-controller"), true);
    assert.equal(isOvnProgram("ovs-vswitchd"), true);
    assert.equal(isOvnProgram("openstack-api"), false);
  });
});
