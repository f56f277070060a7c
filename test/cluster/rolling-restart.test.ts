/**
 * A rolling restart of every OVN and OVS program on a three-member lab
 * with `microovn restart`, member after member, while three VMs (one per
 * member) ping each other every 0.1 s: every program gets a new pid, the
 * daemons keep theirs, NB and SB take writes after each member, a new
 * switch reaches every chassis, and `status` is healthy at the end with no
 * restart counted as a crash. Lost echoes are counted and put down to the
 * program whose restart they fell in.
 *
 * The lab's chassis use the userspace (netdev) datapath, which lives
 * inside ovs-vswitchd: the time between the old vswitchd and the new one
 * (about 0.3-0.4 s here) is lost whatever we do, so its restart has a bound
 * of its own; everything else may cost at most one echo per member.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { RESTARTABLE_PROGRAMS, type RestartedProgram } from "../../src/lifecycle/restart.js";
import type { StatusReport } from "../../src/daemon/status.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { isAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const MEMBERS = ["m1", "m2", "m3"] as const;
/** The pidfiles of the programs `restart` restarts, as the run dir names them. */
const PROGRAM_PIDFILES = [
  "microovn_db",
  "ovnnb_db",
  "ovnsb_db",
  "ovn-northd",
  "ovsdb-server",
  "ovs-vswitchd",
  "ovn-controller",
];
const INTERVAL_S = 0.1;
/** Echoes a netdev vswitchd restart may lose per stream through it: 1 s, about three times what it takes. */
const VSWITCHD_LOSS_BOUND = 10;

let lab: Lab | undefined;
/** Background pings, stopped by pid whatever happens. */
const pingPids: number[] = [];

after(async () => {
  for (const pid of pingPids) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  await stopLab(lab);
});

interface Stream {
  from: LabVm;
  to: LabVm;
  output: string;
  pidFile: string;
  done: Promise<unknown>;
}

/** Echo replies in `ping -D` output: icmp_seq → arrival (Unix seconds). */
function echoReplies(text: string): Map<number, number> {
  const replies = new Map<number, number>();
  for (const m of text.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm)) {
    replies.set(Number(m[2]), Number(m[1]));
  }
  return replies;
}

/**
 * Echoes that never got a reply, each with when it was sent: the reply
 * before it plus the interval per echo in between. Echoes after the last
 * reply are left out (the ping was stopped while they were on their way).
 */
function lostEchoes(replies: Map<number, number>): { seq: number; sentAt: number }[] {
  const seqs = [...replies.keys()].sort((a, b) => a - b);
  const lost: { seq: number; sentAt: number }[] = [];
  for (let i = 1; i < seqs.length; i++) {
    const before = seqs[i - 1]!;
    for (let seq = before + 1; seq < seqs[i]!; seq++) {
      lost.push({ seq, sentAt: replies.get(before)! + (seq - before) * INTERVAL_S });
    }
  }
  return lost;
}

async function status(node: string): Promise<StatusReport> {
  return JSON.parse(await lab!.ok(node, ["status", "--json"])) as StatusReport;
}

describe("rolling restart onto new binaries", () => {
  const vms: LabVm[] = [];

  before(async () => {
    lab = await startLab(3);
    for (const node of MEMBERS) vms.push(await lab.addVm(node));
    for (const [i, vm] of vms.entries()) {
      const peer = vms[(i + 1) % vms.length]!;
      await waitFor(
        `${vm.name} to reach ${peer.name}`,
        async () =>
          (await lab!.exec(vm.name, "ping", ["-c", "1", "-W", "1", peer.ip])).exitCode === 0,
        { timeoutMs: 30_000 },
      );
    }
  });

  it("refuses an unknown name and restarts nothing", async () => {
    const before = await lab!.pids("m1");
    const r = await lab!.cli("m1", ["restart", "ovn-controller", "vswitchd"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /"vswitchd" is neither a service nor a program/);
    assert.match(r.stderr, /ovs-vswitchd/, "it names the programs it takes");
    assert.deepEqual(await lab!.pids("m1"), before, "no program was restarted");
    const report = await status("m1");
    assert.ok(report.processes.every((p) => p.restarts === 0));
  });

  it("restarts every program on every member in turn with at most a blink of the data plane", async (t) => {
    const streams: Stream[] = vms.map((from, i) => {
      const to = vms[(i + 1) % vms.length]!;
      const output = join(lab!.root, `ping-${from.name}.txt`);
      const pidFile = join(lab!.root, `ping-${from.name}.pid`);
      const done = lab!.exec(from.name, "sh", [
        "-c",
        `echo $$ > ${pidFile}; exec ping -D -n -i ${INTERVAL_S} -W 1 -w 170 ${to.ip} > ${output}`,
      ]);
      return { from, to, output, pidFile, done };
    });
    for (const s of streams) {
      await waitFor(
        `${s.from.name}'s first replies`,
        async () => echoReplies(await readFile(s.output, "utf8").catch(() => "")).size >= 10,
        { timeoutMs: 10_000 },
      );
      pingPids.push(Number(await readFile(s.pidFile, "utf8")));
    }

    const restarts = new Map<string, RestartedProgram[]>();
    for (const node of MEMBERS) {
      const before = await lab!.pids(node);
      const began = Date.now();
      const restarted = JSON.parse(
        await lab!.ok(node, ["restart", "--json"]),
      ) as RestartedProgram[];
      t.diagnostic(
        `${node}: whole restart ${((Date.now() - began) / 1000).toFixed(2)} s: ` +
          restarted
            .map((p) => `${p.name} ${((p.finishedAt - p.startedAt) / 1000).toFixed(2)} s`)
            .join(", "),
      );
      restarts.set(node, restarted);
      for (const p of restarted) assert.notEqual(p.newPid, p.oldPid, `${node}'s ${p.name}`);
      assert.deepEqual(
        restarted.map((p) => p.name).sort(),
        [...RESTARTABLE_PROGRAMS].sort(),
        `${node}: every program was restarted`,
      );
      // Leader changes make every daemon start its ovn-northd afresh, so a
      // pidfile may be between two processes for a moment.
      await waitFor(`${node}'s programs to run under new pids`, async () => {
        const now = await lab!.pids(node);
        return PROGRAM_PIDFILES.every(
          (name) => now[name] !== undefined && isAlive(now[name]) && now[name] !== before[name],
        );
      });
      assert.equal((await lab!.pids(node)).microovnd, before.microovnd, `${node}'s daemon stayed`);
      // NB takes writes, northd turns them into SB, every chassis follows.
      const other = MEMBERS[(MEMBERS.indexOf(node) + 1) % MEMBERS.length]!;
      await lab!.ok(other, ["ovn-nbctl", "--timeout=20", "--wait=hv", "ls-add", `after-${node}`]);
      await lab!.ok(node, [
        "ovn-sbctl",
        "--timeout=20",
        "set",
        "SB_Global",
        ".",
        `external_ids:restarted=${node}`,
      ]);
    }

    for (const pid of pingPids) if (isAlive(pid)) process.kill(pid, "SIGINT");
    await Promise.all(streams.map((s) => s.done));

    for (const s of streams) {
      const text = await readFile(s.output, "utf8");
      const lost = lostEchoes(echoReplies(text));
      const through = `${s.from.node}, ${s.to.node}`;
      const tally: Record<string, number> = {};
      for (const echo of lost) {
        let where = "outside any restart";
        for (const [node, programs] of restarts) {
          // Replies on their way when a program stopped arrive a moment later.
          const inside = programs.filter(
            (p) =>
              echo.sentAt * 1000 >= p.startedAt - 200 && echo.sentAt * 1000 <= p.finishedAt + 500,
          );
          if (inside.some((p) => p.name === "ovs-vswitchd")) where = `${node} ovs-vswitchd`;
          else if (inside.length > 0) where = `${node} other`;
        }
        tally[where] = (tally[where] ?? 0) + 1;
      }
      t.diagnostic(
        `${s.from.name} → ${s.to.name} (${through}): ${lost.length} echoes lost ` +
          `of ${echoReplies(text).size + lost.length}: ${JSON.stringify(tally)}`,
      );
      for (const node of MEMBERS) {
        assert.ok(
          (tally[`${node} other`] ?? 0) <= 1,
          `${s.from.name} → ${s.to.name}: at most one echo lost to ${node}'s restarts besides vswitchd`,
        );
        assert.ok(
          (tally[`${node} ovs-vswitchd`] ?? 0) <= VSWITCHD_LOSS_BOUND,
          `${s.from.name} → ${s.to.name}: ${node}'s vswitchd restart within its bound`,
        );
      }
      assert.ok((tally["outside any restart"] ?? 0) <= 1, "no loss between restarts");
    }

    for (const node of MEMBERS) {
      const report = await status(node);
      for (const p of report.processes) {
        assert.equal(p.phase, "running", `${node}: ${p.name} runs`);
        assert.equal(p.restarts, 0, `${node}: ${p.name}'s restart is not counted as a crash`);
      }
      for (const db of report.databases) {
        assert.equal(db.error, undefined, `${node}: ${db.title} answers`);
        assert.equal(db.quorum, true, `${node}: ${db.title} has its quorum`);
      }
      const text = await lab!.ok(node, ["status"]);
      assert.match(text, /OVN Northbound: OK/);
      assert.match(text, /OVN Southbound: OK/);
    }
  });
});
