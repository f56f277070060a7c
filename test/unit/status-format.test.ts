import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatCertificates } from "../../src/cli/format/certificates.js";
import { formatStatus } from "../../src/cli/format/status.js";
import { isWritable, type StatusReport } from "../../src/daemon/status.js";

const healthy: StatusReport = {
  bootstrapped: true,
  members: [
    {
      name: "movn1",
      address: "10.0.0.1",
      role: "voter",
      services: ["switch", "central", "chassis"],
    },
  ],
  databases: [
    {
      title: "OVN Northbound",
      database: "OVN_Northbound",
      runningSchema: "7.0.0",
      installedSchema: "7.0.0",
    },
    {
      title: "OVN Southbound",
      database: "OVN_Southbound",
      runningSchema: "20.27.0",
      installedSchema: "20.27.0",
    },
  ],
  processes: [{ name: "ovn-northd", phase: "running", pid: 12, restarts: 0, adopted: false }],
  certificates: [],
  problems: [],
};

describe("status output", () => {
  it("follows MicroOVN's layout", () => {
    assert.equal(
      formatStatus(healthy),
      [
        "MicroOVN deployment summary:",
        "- movn1 (10.0.0.1)",
        "  Services: central, chassis, switch",
        "OVN Database summary:",
        "OVN Northbound: OK (7.0.0)",
        "OVN Southbound: OK (20.27.0)",
        "",
      ].join("\n"),
    );
  });

  it("lists every member, marking those that are OFFLINE, and the state database", () => {
    const text = formatStatus({
      ...healthy,
      members: [
        { ...healthy.members[0]!, fingerprint: "ab", status: "ONLINE" },
        {
          name: "movn4",
          address: "10.0.0.4",
          role: "spare",
          services: ["chassis", "switch"],
          fingerprint: "cd",
          status: "OFFLINE",
        },
      ],
      databases: [
        ...healthy.databases,
        {
          title: "MicroOVN cluster state",
          database: "MicroOVN",
          runningSchema: "1.0.0",
          installedSchema: "1.0.0",
        },
      ],
    });
    assert.match(
      text,
      /- movn1 \(10\.0\.0\.1\)\n {2}Services: central, chassis, switch\n- movn4 \(10\.0\.0\.4\) OFFLINE\n {2}Services: chassis, switch\n/,
    );
    assert.match(text, /\nMicroOVN cluster state: OK \(1\.0\.0\)\n/);
  });

  it("adds schema mismatches, unreachable databases, restarts and certificate problems", () => {
    const text = formatStatus({
      ...healthy,
      databases: [
        {
          title: "OVN Northbound",
          database: "OVN_Northbound",
          runningSchema: "6.1.0",
          installedSchema: "7.0.0",
        },
        { title: "OVN Southbound", database: "OVN_Southbound", error: "connection refused" },
      ],
      processes: [
        {
          name: "ovn-controller",
          phase: "waiting-to-restart",
          pid: undefined,
          restarts: 2,
          adopted: false,
          lastExit: { code: null, signal: "SIGKILL", at: "2026-01-01T00:00:00.000Z" },
          nextStartAt: "2026-01-01T00:00:00.400Z",
        },
      ],
      certificates: [{ name: "ovnnb", path: "/p/ovnnb-cert.pem", problem: "expired" }],
    });
    assert.match(
      text,
      /OVN Northbound: Upgrade or attention required!\nCurrently running schema: 6\.1\.0\n/,
    );
    assert.match(text, /OVN Southbound: Unavailable \(connection refused\)/);
    assert.match(
      text,
      /- ovn-controller: crashed, restarting at 2026-01-01T00:00:00\.400Z, restarted 2 times, .*killed by SIGKILL/,
    );
    assert.match(text, /Certificate problems:\n- ovnnb: \/p\/ovnnb-cert\.pem: expired/);
  });

  it("says loudly when a database has no leader, and isWritable agrees", () => {
    const nb = { ...healthy.databases[0]!, quorum: false };
    const text = formatStatus({ ...healthy, databases: [nb, healthy.databases[1]!] });
    assert.match(text, /^OVN Northbound: No leader! Writes fail$/m);
    assert.match(text, /microovn cluster recover/);
    assert.match(text, /^OVN Southbound: OK \(20\.27\.0\)$/m);
    assert.equal(isWritable(nb), false);
    assert.equal(isWritable(healthy.databases[1]!), true);
    assert.equal(isWritable({ ...healthy.databases[1]!, quorum: true }), true);
    assert.equal(isWritable({ title: "x", database: "x", error: "refused" }), false);
  });

  it("ends with the settings that cannot work, loudly", () => {
    const text = formatStatus({ ...healthy, problems: ["Geneve tunnels cannot work: fix it"] });
    assert.match(
      text,
      /OVN Southbound: OK \(20\.27\.0\)\nPROBLEMS:\n- Geneve tunnels cannot work: fix it\n$/,
    );
    assert.doesNotMatch(formatStatus(healthy), /PROBLEMS/);
    const lone = formatStatus({ ...healthy, beforeOthersJoin: ["Geneve tunnels cannot work"] });
    assert.match(lone, /\nBefore another chassis joins:\n- Geneve tunnels cannot work\n$/);
    assert.doesNotMatch(lone, /PROBLEMS/);
  });

  it("tells a member that is not bootstrapped what to do", () => {
    assert.match(
      formatStatus({
        bootstrapped: false,
        members: [],
        databases: [],
        processes: [],
        certificates: [],
        problems: [],
      }),
      /not a member of a cluster yet\.\n`microovn cluster join TOKEN` makes it a member .*`microovn cluster bootstrap` starts a new cluster/,
    );
  });

  it("lists certificates as MicroOVN does, with expiry", () => {
    const text = formatCertificates([
      {
        name: "ca",
        title: "OVN CA",
        cert: { path: "/p/cacert.pem", present: true, notAfter: new Date("2036-01-02T00:00:00Z") },
      },
      {
        name: "ovnnb",
        title: "OVN Northbound Service",
        cert: { path: "/p/ovnnb-cert.pem", present: false },
        key: { path: "/p/ovnnb-privkey.pem", present: true },
      },
    ]);
    assert.equal(
      text,
      "[OVN CA]\n/p/cacert.pem (OK: Present; expires 2036-01-02)\n\n" +
        "[OVN Northbound Service]\n/p/ovnnb-cert.pem (Error: Missing)\n/p/ovnnb-privkey.pem (OK: Present)\n",
    );
  });
  it("says first when the member was removed from its cluster, and what to do", () => {
    const out = formatStatus({
      ...healthy,
      removed: "m3 (10.0.0.3) presents a certificate from another CA",
    });
    assert.match(
      out,
      /^MicroOVN deployment summary:\nThis member was removed from the cluster: m3 \(10\.0\.0\.3\) presents a certificate from another CA\. .*wipe its state dir and join again/,
    );
    assert.doesNotMatch(formatStatus(healthy), /removed/);
  });
});
