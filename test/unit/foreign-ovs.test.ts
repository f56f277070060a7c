/**
 * Which Open vSwitch/OVN processes are not ours, from /proc-like fixtures:
 * Debian's services, a stray server, our members (this state dir or any
 * other), processes in other network namespaces, and a leftover kernel
 * datapath; and what the refusal tells the operator.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  describeForeignOvs,
  distributionUnit,
  findForeignOvs,
  pidfileOf,
  stateDirOfPidfile,
  unitsToMask,
  type HostProcess,
} from "../../src/host/foreign-ovs.js";
import { unitStateDir } from "../../src/host/systemd.js";

const HERE = "net:[4026531840]";
const ELSEWHERE = "net:[4026532999]";

/** State dirs that exist in these fixtures (what isStateDir finds on disk). */
const STATE_DIRS = new Set(["/var/lib/microovn", "/tmp/m1-abc"]);
const isStateDir = (dir: string) => STATE_DIRS.has(dir);

function proc(
  pid: number,
  program: string,
  argv: string[],
  options: { netns?: string; cgroup?: string } = {},
): HostProcess {
  return {
    pid,
    program,
    argv: [program, ...argv],
    netns: options.netns ?? HERE,
    cgroup: options.cgroup ?? "0::/user.slice/user-0.slice/session-1.scope\n",
  };
}

/** Debian's six services as its packages start them (cgroup v1 hybrid, as in the container). */
const DEBIAN = [
  proc(
    704,
    "ovsdb-server",
    ["/etc/openvswitch/conf.db", "--pidfile=/var/run/openvswitch/ovsdb-server.pid", "--detach"],
    {
      cgroup:
        "9:name=systemd:/system.slice/ovsdb-server.service\n0::/system.slice/ovsdb-server.service\n",
    },
  ),
  proc(
    753,
    "ovs-vswitchd",
    ["unix:/var/run/openvswitch/db.sock", "--pidfile=/var/run/openvswitch/ovs-vswitchd.pid"],
    {
      cgroup: "0::/system.slice/ovs-vswitchd.service\n",
    },
  ),
  proc(
    843,
    "ovn-controller",
    ["unix:/var/run/openvswitch/db.sock", "--pidfile=/var/run/ovn/ovn-controller.pid"],
    {
      cgroup: "0::/system.slice/ovn-controller.service\n",
    },
  ),
  proc(889, "ovsdb-server", ["--pidfile=/var/run/ovn/ovnsb_db.pid", "/var/lib/ovn/ovnsb_db.db"], {
    cgroup: "0::/system.slice/ovn-ovsdb-server-sb.service\n",
  }),
  proc(931, "ovsdb-server", ["--pidfile=/var/run/ovn/ovnnb_db.pid", "/var/lib/ovn/ovnnb_db.db"], {
    cgroup: "0::/system.slice/ovn-ovsdb-server-nb.service\n",
  }),
  proc(
    1016,
    "ovn-northd",
    ["--ovnnb-db=unix:/var/run/ovn/ovnnb_db.sock", "--pidfile=/var/run/ovn/ovn-northd.pid"],
    {
      cgroup: "0::/system.slice/ovn-northd.service\n",
    },
  ),
];

/** One member of ours: its programs' pidfiles lie in its state dir's run/. */
function member(dir: string, first: number, netns = HERE): HostProcess[] {
  return [
    proc(
      first,
      "ovsdb-server",
      [`${dir}/data/switch/db/conf.db`, `--pidfile=${dir}/run/ovsdb-server.pid`],
      { netns },
    ),
    proc(
      first + 1,
      "ovs-vswitchd",
      [`unix:${dir}/run/db.sock`, `--pidfile=${dir}/run/ovs-vswitchd.pid`],
      { netns },
    ),
    proc(
      first + 2,
      "ovn-northd",
      ["-p", `${dir}/data/pki/ovn-northd-privkey.pem`, `--pidfile=${dir}/run/ovn-northd.pid`],
      { netns },
    ),
    proc(
      first + 3,
      "ovn-controller",
      ["-p", `${dir}/data/pki/x.pem`, `--pidfile=${dir}/run/ovn-controller.pid`],
      { netns },
    ),
  ];
}

describe("foreign Open vSwitch/OVN", () => {
  it("reads the pidfile and its state dir", () => {
    assert.equal(pidfileOf(["ovsdb-server", "--pidfile=/a/run/x.pid"]), "/a/run/x.pid");
    assert.equal(pidfileOf(["ovsdb-server", "--pidfile"]), undefined);
    assert.equal(pidfileOf(["ovn-controller", "-p", "/a/run/key.pem"]), undefined, "-p is a key");
    assert.equal(stateDirOfPidfile("/var/lib/microovn/run/ovn-northd.pid"), "/var/lib/microovn");
    assert.equal(stateDirOfPidfile("/var/run/openvswitch/ovs-vswitchd.pid"), undefined);
    assert.equal(stateDirOfPidfile("run/x.pid"), undefined, "relative paths say nothing");
  });

  it("finds the Debian unit in a process's cgroup", () => {
    assert.equal(distributionUnit("0::/system.slice/ovn-northd.service\n"), "ovn-northd");
    assert.equal(
      distributionUnit("9:name=systemd:/system.slice/ovs-vswitchd.service\n"),
      "ovs-vswitchd",
    );
    assert.equal(distributionUnit("0::/system.slice/microovnd.service\n"), undefined);
    assert.equal(distributionUnit("0::/system.slice/run-u12.service\n"), undefined);
    assert.equal(distributionUnit("0::/user.slice/user-0.slice/session-1.scope\n"), undefined);
  });

  it("counts Debian's services and names their units", () => {
    const found = findForeignOvs(
      { processes: DEBIAN, netns: HERE, kernelDatapath: false },
      isStateDir,
    );
    assert.deepEqual(
      found.processes.map((p) => [p.pid, p.program, p.unit]),
      [
        [704, "ovsdb-server", "ovsdb-server"],
        [753, "ovs-vswitchd", "ovs-vswitchd"],
        [843, "ovn-controller", "ovn-controller"],
        [889, "ovsdb-server", "ovn-ovsdb-server-sb"],
        [931, "ovsdb-server", "ovn-ovsdb-server-nb"],
        [1016, "ovn-northd", "ovn-northd"],
      ],
    );
    assert.deepEqual(unitsToMask(found.processes), [
      "openvswitch-switch",
      "ovs-vswitchd",
      "ovsdb-server",
      "ovn-host",
      "ovn-controller",
      "ovn-central",
      "ovn-northd",
      "ovn-ovsdb-server-nb",
      "ovn-ovsdb-server-sb",
    ]);
  });

  it("does not count members of ours, whatever their state dir", () => {
    const processes = [...member("/var/lib/microovn", 2000), ...member("/tmp/m1-abc", 3000)];
    const found = findForeignOvs({ processes, netns: HERE, kernelDatapath: true }, isStateDir);
    assert.deepEqual(found, { processes: [], strayDatapath: false });
  });

  it("counts a server whose pidfile lies in a dir that is no state dir", () => {
    const stray = proc(4000, "ovsdb-server", [
      "/tmp/x/db",
      "--pidfile=/tmp/x/run/ovsdb-server.pid",
    ]);
    const bare = proc(4001, "ovs-vswitchd", []);
    const found = findForeignOvs(
      {
        processes: [...member("/tmp/m1-abc", 3000), stray, bare],
        netns: HERE,
        kernelDatapath: false,
      },
      isStateDir,
    );
    assert.deepEqual(
      found.processes.map((p) => p.pid),
      [4000, 4001],
    );
    assert.deepEqual(unitsToMask(found.processes), []);
  });

  it("leaves other network namespaces alone", () => {
    const processes = DEBIAN.map((p) => ({ ...p, netns: ELSEWHERE }));
    const found = findForeignOvs({ processes, netns: HERE, kernelDatapath: false }, isStateDir);
    assert.deepEqual(found, { processes: [], strayDatapath: false });
  });

  it("counts a kernel datapath only when no Open vSwitch of ours holds it", () => {
    const left = findForeignOvs({ processes: [], netns: HERE, kernelDatapath: true }, isStateDir);
    assert.deepEqual(left, { processes: [], strayDatapath: true });
    const elsewhere = member("/var/lib/microovn", 2000, ELSEWHERE);
    assert.equal(
      findForeignOvs({ processes: elsewhere, netns: HERE, kernelDatapath: true }, isStateDir)
        .strayDatapath,
      true,
      "a member in another namespace does not hold this one's datapath",
    );
    assert.match(
      describeForeignOvs(left, "give --allow-foreign-ovs"),
      /^a kernel datapath \(ovs-system\) exists here .* Stop it with `ovs-dpctl del-dp system@ovs-system`, then run the command again; or, to run beside it anyway, give --allow-foreign-ovs$/,
    );
  });

  it("says what runs, how to stop it and how to go ahead anyway", () => {
    const stray = proc(4000, "ovsdb-server", ["--pidfile=/tmp/x/run/ovsdb-server.pid"]);
    const found = findForeignOvs(
      { processes: [DEBIAN[1]!, DEBIAN[5]!, stray], netns: HERE, kernelDatapath: true },
      isStateDir,
    );
    assert.equal(found.strayDatapath, false, "the process is what to report");
    const message = describeForeignOvs(found, "give --allow-foreign-ovs");
    assert.match(
      message,
      /^another Open vSwitch\/OVN, not MicroOVN's, runs here: ovs-vswitchd \(pid 753, ovs-vswitchd\.service\), ovn-northd \(pid 1016, ovn-northd\.service\), ovsdb-server \(pid 4000\)\./,
    );
    assert.match(message, /Nothing was changed\./);
    assert.match(
      message,
      /Stop it with `systemctl mask --now openvswitch-switch ovs-vswitchd ovsdb-server ovn-central ovn-northd ovn-ovsdb-server-nb ovn-ovsdb-server-sb` and `kill 4000`, then run the command again; or, to run beside it anyway, give --allow-foreign-ovs$/,
    );
    assert.equal(describeForeignOvs({ processes: [], strayDatapath: false }, "x"), "");
  });
});

describe("the state dir microovnd.service serves", () => {
  it("comes from the unit's Environment=, else the default", () => {
    assert.equal(unitStateDir("MICROOVN_STATE_DIR=/var/lib/microovn"), "/var/lib/microovn");
    assert.equal(unitStateDir("LANG=C MICROOVN_STATE_DIR=/srv/ovn/"), "/srv/ovn");
    assert.equal(unitStateDir(""), "/var/lib/microovn");
  });
});
