/**
 * The README's set-up on a fresh Debian 12 server with systemd as PID 1
 * (the shared fresh-debian tool: a container booted on this machine), done
 * as a user would: clone the committed project, `./scripts/setup.sh` as
 * root. Then: one OVS/OVN runs, ours, all under microovnd.service; Debian's
 * units are masked and stopped; the README's commands work; a daemon
 * started by hand makes the unit fail once, not loop, and running setup.sh
 * again mends it; the installation outlives the clone; after `microovn
 * shutdown` the unit stays down and read-only commands start nothing;
 * commands right after a slow unit start wait for it and start no daemon
 * of their own; after a reboot the member is back with the same processes
 * and its data.
 *
 * Skipped, with the reason, only when the container cannot boot here; a
 * failure of our set-up inside a booted container fails the test.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { FreshDebian } from "../helpers/fresh-debian.js";
import { waitFor } from "../helpers/wait.js";

const machine = new FreshDebian(`hh${process.pid.toString(36)}`.slice(0, 11));

/** What the README says to run, as root, in a clone. */
const CLONE = "/root/microovn";
const README_SETUP = `git clone --quiet /src ${CLONE} && cd ${CLONE} && ./scripts/setup.sh`;

const DEBIAN_UNITS = [
  "openvswitch-switch",
  "ovs-vswitchd",
  "ovsdb-server",
  "ovn-central",
  "ovn-northd",
  "ovn-ovsdb-server-nb",
  "ovn-ovsdb-server-sb",
  "ovn-host",
  "ovn-controller",
];

/** One OVS/OVN, ours: program → how many run (NB, SB, state DB and conf.db: four ovsdb-servers). */
const EXPECTED = {
  microovnd: 1,
  "ovsdb-server": 4,
  "ovs-vswitchd": 1,
  "ovn-northd": 1,
  "ovn-controller": 1,
};

interface Running {
  program: string;
  pid: number;
  /** The systemd units in its cgroup paths. */
  units: string;
}

async function running(): Promise<Running[]> {
  const out = await machine.ok(
    `for p in ${Object.keys(EXPECTED).join(" ")}; do for pid in $(pgrep -x "$p"); do ` +
      `echo "$p $pid $(grep -o '[^/]*\\.service' /proc/$pid/cgroup | sort -u | tr '\\n' ' ')"; ` +
      "done; done",
  );
  return out
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [program = "", pid = "", ...units] = line.trim().split(/\s+/);
      return { program, pid: Number(pid), units: units.join(" ") };
    });
}

async function unitProperties(unit: string, ...names: string[]): Promise<Record<string, string>> {
  const out = await machine.ok(`systemctl show ${unit} ${names.map((n) => `-p ${n}`).join(" ")}`);
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

/** Exactly one OVS/OVN, ours, every process in microovnd.service; the daemon is the unit's main process. */
async function assertOneOvnOurs(): Promise<Running[]> {
  const procs = await running();
  const counts = Object.fromEntries(
    Object.keys(EXPECTED).map((p) => [p, procs.filter((r) => r.program === p).length]),
  );
  assert.deepEqual(counts, EXPECTED, JSON.stringify(procs));
  for (const p of procs) {
    assert.equal(p.units, "microovnd.service", `${p.program} (pid ${p.pid}) runs under ${p.units}`);
  }
  const unit = await unitProperties("microovnd", "MainPID", "ActiveState", "NRestarts", "Type");
  const daemon = procs.find((p) => p.program === "microovnd")!;
  assert.deepEqual(unit, {
    MainPID: String(daemon.pid),
    ActiveState: "active",
    NRestarts: "0",
    Type: "notify",
  });
  return procs;
}

async function assertDebianUnitsMasked(): Promise<void> {
  for (const unit of DEBIAN_UNITS) {
    assert.deepEqual(
      await unitProperties(unit, "LoadState", "ActiveState"),
      { LoadState: "masked", ActiveState: "inactive" },
      unit,
    );
  }
}

/** What microovnd last told systemd (STATUS=), once `waitready` has returned. */
async function assertStatusText(): Promise<void> {
  const { StatusText } = await unitProperties("microovnd", "StatusText");
  assert.match(StatusText ?? "", /^[a-z0-9-]+: services up$/);
}

async function assertMemberWorks(): Promise<void> {
  assert.match(await machine.ok("microovn status"), /OVN Northbound: OK/);
  assert.match(await machine.ok("microovn ovn-nbctl ls-list"), /\(sw0\)/);
  // Debian's NB is gone: the plain tool finds no database instead of an empty one.
  assert.notEqual((await machine.sh("ovn-nbctl --timeout=3 show")).exitCode, 0);
}

after(() => machine.down());

test("a fresh Debian 12 host with systemd as PID 1", async (t) => {
  const why = await machine.prepare();
  if (why !== undefined) {
    t.skip(why);
    return;
  }

  await t.test("the README's set-up, as root, leaves one OVS/OVN: ours", async () => {
    const setup = await machine.sh(README_SETUP, 15 * 60_000);
    assert.equal(setup.exitCode, 0, `setup.sh failed:\n${setup.stdout}${setup.stderr}`);
    for (const unit of DEBIAN_UNITS) {
      assert.match(setup.stdout, new RegExp(`stopped and masked Debian's ${unit}\\.service`));
    }
    assert.match(setup.stdout, /installed MicroOVN in \/usr\/local\/lib\/microovn/);
    assert.match(setup.stdout, /microovnd\.service installed, enabled and running/);
    assert.match(setup.stdout, /MicroOVN deployment summary:/);
    await assertDebianUnitsMasked();
    assert.equal((await machine.ok("systemctl is-enabled microovnd")).trim(), "enabled");
    // The README's next commands.
    await machine.ok("microovn status && microovn ovn-nbctl ls-add sw0 && microovn ovn-sbctl show");
    await assertMemberWorks();
    await assertOneOvnOurs();
    await assertStatusText();
  });

  await t.test(
    "a daemon started by hand makes the unit fail once, and setup.sh mends it",
    async () => {
      await machine.ok("systemctl stop microovnd");
      await machine.ok(
        "systemd-run --quiet --unit=microovnd-by-hand -p KillMode=process " +
          "-E MICROOVN_STATE_DIR=/var/lib/microovn /usr/local/bin/microovnd",
      );
      const byHand = await waitFor(
        "the hand-started daemon to answer",
        async () => {
          const r = await machine.sh("microovn status");
          return (
            r.exitCode === 0 &&
            (await machine.ok("systemctl show -p MainPID --value microovnd-by-hand")).trim()
          );
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      );
      const start = await machine.sh("systemctl start microovnd");
      assert.notEqual(start.exitCode, 0, "the unit's daemon must not run beside the other one");
      assert.deepEqual(
        await unitProperties("microovnd", "ActiveState", "NRestarts", "ExecMainStatus"),
        { ActiveState: "failed", NRestarts: "0", ExecMainStatus: "73" },
        "failed for good, not restarting",
      );
      assert.match(
        await machine.ok("journalctl -u microovnd --no-pager -o cat"),
        new RegExp(`microovnd already runs for /var/lib/microovn \\(pid ${byHand}\\)`),
      );
      const again = await machine.sh(`cd ${CLONE} && ./scripts/setup.sh`, 15 * 60_000);
      assert.equal(again.exitCode, 0, `setup.sh again failed:\n${again.stdout}${again.stderr}`);
      assert.match(
        again.stdout,
        new RegExp(`stopped microovnd \\(pid ${byHand}\\), which ran outside systemd`),
      );
      assert.match(again.stdout, /already a MicroOVN member: not bootstrapping/);
      assert.doesNotMatch(again.stdout, /stopped and masked/, "nothing left to mask");
      await assertMemberWorks();
      await assertOneOvnOurs();
    },
  );

  await t.test("the installation does not need the clone", async () => {
    await machine.ok(`rm -rf ${CLONE}`);
    await machine.ok("systemctl restart microovnd && microovn waitready --timeout 60");
    await assertMemberWorks();
  });

  await t.test(
    "after shutdown the unit stays down and read-only commands start nothing",
    async () => {
      assert.match(await machine.ok("microovn shutdown"), /MicroOVN stopped on this member/);
      assert.deepEqual(await unitProperties("microovnd", "ActiveState", "NRestarts"), {
        ActiveState: "inactive",
        NRestarts: "0",
      });
      assert.deepEqual(await running(), [], "no OVN process and no daemon");
      const r = await machine.sh("microovn status");
      assert.equal(r.exitCode, 1);
      assert.match(
        r.stderr,
        /this member is stopped \(microovnd is not running\); start it with `systemctl start microovnd`/,
      );
      assert.match(await machine.ok("microovn shutdown"), /already stopped/);
      assert.deepEqual(await running(), [], "still nothing runs");
      assert.equal((await unitProperties("microovnd", "ActiveState")).ActiveState, "inactive");
    },
  );

  await t.test(
    "commands right after a slow unit start wait for it, and start no daemon",
    async () => {
      await machine.ok(
        "mkdir -p /etc/systemd/system/microovnd.service.d && " +
          "printf '[Service]\\nExecStartPre=/bin/sleep 1\\n' " +
          ">/etc/systemd/system/microovnd.service.d/slow.conf && systemctl daemon-reload",
      );
      // A read-only command while the unit starts…
      const status = await machine.sh("systemctl start --no-block microovnd && microovn status");
      assert.equal(status.exitCode, 0, status.stderr);
      assert.match(status.stdout, /MicroOVN deployment summary:/);
      // The daemon answers before its services are all back (shutdown stopped them).
      await machine.ok("microovn waitready --timeout 60");
      await assertOneOvnOurs();
      // …and one that starts the member, with the unit stopped.
      await machine.ok("systemctl stop microovnd");
      await machine.ok("microovn waitready --timeout 60");
      await assertOneOvnOurs();
      await machine.ok("systemctl stop microovnd && systemctl start --no-block microovnd");
      await machine.ok("microovn waitready --timeout 60");
      await assertOneOvnOurs();
      await machine.ok("rm -r /etc/systemd/system/microovnd.service.d && systemctl daemon-reload");
    },
  );

  await t.test("after a reboot the member is back by itself", async () => {
    const before = (await running()).length;
    await machine.reboot();
    assert.equal((await machine.ok("systemctl is-system-running")).trim(), "running");
    assert.equal((await machine.ok("systemctl is-active microovnd")).trim(), "active");
    await machine.ok("microovn waitready --timeout 60");
    await assertDebianUnitsMasked();
    const after = await assertOneOvnOurs();
    assert.equal(after.length, before);
    await assertMemberWorks();
    await assertStatusText();
  });
});
