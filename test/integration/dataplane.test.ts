/**
 * The data plane of one member: two VMs (network namespaces plugged into
 * br-int) on one logical switch ping each other, an ACL stops them, and
 * neither a restart of microovnd nor SIGKILL of each OVN process in turn
 * leaves them cut off for good.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { StatusReport } from "../../src/daemon/status.js";
import { run } from "../../src/process/run.js";
import { TestMember, type Vm } from "../helpers/member.js";
import { isAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

function ping(from: Vm, to: Vm, args: string[] = ["-c", "1", "-W", "1"]) {
  return run("ip", ["netns", "exec", from.namespace, "ping", "-n", ...args, to.ip], {
    allowFailure: true,
    timeoutMs: 60_000,
  });
}

async function pings(from: Vm, to: Vm): Promise<boolean> {
  return (await ping(from, to)).exitCode === 0;
}

function counts(output: string): { sent: number; received: number } {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  assert.ok(m, `ping summary in: ${output}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

describe("data plane on one member", () => {
  let m: TestMember;
  let vm1: Vm;
  let vm2: Vm;

  const status = async () => JSON.parse(await m.ok(["status", "--json"])) as StatusReport;

  before(async () => {
    m = await TestMember.create("dp");
    await m.ok(["cluster", "bootstrap", "--name", "dp1", "--address", "127.0.0.1"]);
    await m.ok(["ovn-nbctl", "ls-add", "sw0"]);
    for (const [port, mac, ip] of [
      ["vm1", "0a:00:00:00:00:01", "10.0.0.1"],
      ["vm2", "0a:00:00:00:00:02", "10.0.0.2"],
    ] as const) {
      await m.ok(["ovn-nbctl", "lsp-add", "sw0", port]);
      await m.ok(["ovn-nbctl", "lsp-set-addresses", port, `${mac} ${ip}`]);
    }
    vm1 = await m.addVm("vm1", "0a:00:00:00:00:01", "10.0.0.1");
    vm2 = await m.addVm("vm2", "0a:00:00:00:00:02", "10.0.0.2");
    await m.ok(["ovn-nbctl", "--wait=hv", "sync"]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("VMs on one logical switch ping each other; an ACL drop stops it until removed", async () => {
    await waitFor("vm1 to reach vm2", () => pings(vm1, vm2));
    assert.ok(await pings(vm2, vm1));
    await m.ok([
      "ovn-nbctl",
      "--wait=hv",
      "acl-add",
      "sw0",
      "to-lport",
      "1001",
      "ip4.src == 10.0.0.1 && icmp4",
      "drop",
    ]);
    assert.equal(await pings(vm1, vm2), false, "the ACL drops vm1's pings");
    await m.ok(["ovn-nbctl", "--wait=hv", "acl-del", "sw0"]);
    await waitFor("vm1 to reach vm2 again", () => pings(vm1, vm2));
  });

  it("a SIGKILLed microovnd comes back, adopts every process, and no packet is lost", async () => {
    const before = await m.pids();
    const daemon = before.microovnd;
    assert.ok(daemon !== undefined);
    const running = ping(vm1, vm2, ["-i", "0.05", "-w", "6"]);
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(daemon, "SIGKILL");
    await waitFor("the old daemon gone", () => !isAlive(daemon));
    await m.ok(["waitready", "--timeout", "30"]); // starts microovnd again
    const report = await status();
    const after = await m.pids();
    assert.notEqual(after.microovnd, daemon);
    for (const [name, pid] of Object.entries(before)) {
      if (name !== "microovnd") assert.equal(after[name], pid, `${name} kept its pid`);
    }
    assert.equal(report.processes.length, 7);
    assert.ok(report.processes.every((p) => p.adopted && p.phase === "running"));
    const result = await running;
    const { sent, received } = counts(result.stdout);
    assert.ok(sent > 50, `${sent} pings sent`);
    assert.equal(received, sent, `lost ${sent - received} of ${sent} pings`);
  });

  it("each OVN process killed with SIGKILL is restarted and counted in status", async () => {
    const names = [
      "ovsdb-server-nb",
      "ovsdb-server-sb",
      "ovsdb-server-state",
      "ovn-northd",
      "ovsdb-server-switch",
      "ovs-vswitchd",
      "ovn-controller",
    ];
    for (const name of names) {
      const old = (await status()).processes.find((p) => p.name === name);
      assert.ok(old?.pid !== undefined, `${name} runs`);
      process.kill(old.pid, "SIGKILL");
      await waitFor(
        `${name} restarted`,
        async () => {
          const p = (await status()).processes.find((q) => q.name === name);
          return p?.phase === "running" && p.pid !== old.pid && p.restarts === old.restarts + 1;
        },
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    const text = await m.ok(["status"]);
    for (const name of names) {
      assert.match(text, new RegExp(`- ${name}: running \\(pid \\d+\\), restarted 1 time`));
    }
    await m.ok(["ovn-nbctl", "--wait=hv", "sync"]);
    await waitFor("vm1 to reach vm2 after the restarts", () => pings(vm1, vm2), {
      timeoutMs: 20_000,
    });
  });
});
