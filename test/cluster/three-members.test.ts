/**
 * Three members in the lab: every member runs central, so NB, SB and the
 * cluster state database are 3-server Raft clusters; chassis and northd
 * know every central; VMs on different members talk through Geneve; and
 * the cluster rides out the loss of the member that leads NB and SB.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import {
  DATABASES,
  killNode,
  raftStatus,
  startLab,
  stopLab,
  type LabDatabase,
} from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;
const vms: LabVm[] = [];

interface Listed {
  name: string;
  address: string;
  role: string;
  fingerprint: string;
  status: string;
}

async function list(node: string): Promise<Listed[]> {
  return JSON.parse(await lab!.ok(node, ["cluster", "list", "-f", "json"])) as Listed[];
}

function ping(vm: LabVm, to: LabVm, count: number, intervalS = 0.2) {
  return runIn(
    vm.namespace,
    "ping",
    ["-c", String(count), "-i", String(intervalS), "-W", "1", to.ip],
    {
      allowFailure: true,
      timeoutMs: count * intervalS * 1000 + 15_000,
    },
  );
}

function received(output: string): number {
  return Number(/(\d+) received/.exec(output)?.[1] ?? 0);
}

before(async () => {
  lab = await startLab(3);
  // vm1 on m1, vm2 on m3, vm3 on m2.
  for (const node of ["m1", "m3", "m2"]) vms.push(await lab.addVm(node));
});

after(() => stopLab(lab));

describe("a three-member cluster", () => {
  it("has NB, SB and the state database as 3-server Raft clusters over ssl", async () => {
    for (const db of Object.keys(DATABASES) as LabDatabase[]) {
      const views = await Promise.all(lab!.nodes.map((n) => raftStatus(lab!, n.name, db)));
      const ids = new Set(views.map((v) => v.clusterId));
      assert.equal(ids.size, 1, `${db}: one cluster ID, got ${[...ids].join(", ")}`);
      for (const [i, v] of views.entries()) {
        assert.equal(v.status, "cluster member", `${db} on m${i + 1}`);
        assert.equal(v.servers, 3, `${db} on m${i + 1} lists 3 servers`);
        assert.deepEqual(
          [...v.addresses].sort(),
          lab!.nodes.map((n) => `ssl:${n.address}:${DATABASES[db].raftPort}`).sort(),
        );
      }
      assert.equal(views.filter((v) => v.role === "leader").length, 1, `${db}: one leader`);
    }
  });

  it("lists 3 members ONLINE, the first three as voters", async () => {
    const members = await list("m2");
    assert.deepEqual(
      members.map((m) => [m.name, m.address, m.role, m.status]),
      lab!.nodes.map((n) => [n.name, `${n.address}:6686`, "voter", "ONLINE"]),
    );
    for (const m of members) assert.match(m.fingerprint, /^[0-9a-f]{64}$/);
  });

  it("points every chassis at all 3 SB servers, and northd on every central at all of NB and SB", async () => {
    const sb = lab!.nodes.map((n) => `ssl:${n.address}:6642`).sort();
    const nb = lab!.nodes.map((n) => `ssl:${n.address}:6641`).sort();
    for (const n of lab!.nodes) {
      const remote = await lab!.ok(n.name, [
        "ovs-vsctl",
        "get",
        "Open_vSwitch",
        ".",
        "external_ids:ovn-remote",
      ]);
      assert.deepEqual(
        (JSON.parse(remote) as string).split(",").sort(),
        sb,
        `ovn-remote on ${n.name}`,
      );
      const pid = (await lab!.pids(n.name))["ovn-northd"];
      const args = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
      const value = (flag: string) =>
        args
          .find((a) => a.startsWith(`${flag}=`))!
          .slice(flag.length + 1)
          .split(",")
          .sort();
      assert.deepEqual(value("--ovnnb-db"), nb, `northd's NB list on ${n.name}`);
      assert.deepEqual(value("--ovnsb-db"), sb, `northd's SB list on ${n.name}`);
    }
  });

  it("lets a VM on m1 ping a VM on m3 through a Geneve tunnel", async () => {
    const [vm1, vm2] = vms;
    await waitFor(
      "vm1 reaches vm2",
      async () => received((await ping(vm1!, vm2!, 1)).stdout) === 1,
      {
        timeoutMs: 20_000,
      },
    );
    const r = await ping(vm1!, vm2!, 5);
    assert.equal(received(r.stdout), 5, r.stdout);
    const tunnels = await lab!.ok("m1", [
      "ovs-vsctl",
      "--bare",
      "--columns=options",
      "find",
      "Interface",
      "type=geneve",
    ]);
    assert.match(
      tunnels,
      new RegExp(`remote_ip=.?${lab!.node("m3").encapIp.replaceAll(".", "\\.")}`),
    );
  });

  it("carries the Geneve traffic on the underlay network, not on the members' network", async () => {
    const [vm1, vm2] = vms;
    // Packets through m1's two links, as counted on the hub's side of each.
    const packets = async (link: string) => {
      const stats = await runIn(lab!.hub, "ip", ["-s", "-j", "link", "show", link]);
      const [entry] = JSON.parse(stats.stdout) as {
        stats64: { rx: { packets: number }; tx: { packets: number } };
      }[];
      return entry!.stats64.rx.packets + entry!.stats64.tx.packets;
    };
    const before = { underlay: await packets("m1-ul0"), members: await packets("m1-eth0") };
    const r = await ping(vm1!, vm2!, 300, 0.005);
    assert.equal(received(r.stdout), 300, r.stdout);
    const underlay = (await packets("m1-ul0")) - before.underlay;
    const members = (await packets("m1-eth0")) - before.members;
    // 300 requests out and 300 replies in, each one Geneve packet on the underlay.
    assert.ok(underlay >= 600, `${underlay} packets on the underlay`);
    assert.ok(members < 300, `${members} packets on the members' network`);
    const encap = await lab!.ok("m1", [
      "ovs-vsctl",
      "get",
      "Open_vSwitch",
      ".",
      "external_ids:ovn-encap-ip",
    ]);
    assert.equal(encap.trim(), `"${lab!.node("m1").encapIp}"`);
  });

  it("survives SIGKILL of everything on the member that leads NB and SB, and takes it back", async () => {
    const leaders = await Promise.all(
      (["nb", "sb"] as const).map(async (db) => {
        for (const n of lab!.nodes)
          if ((await raftStatus(lab!, n.name, db)).role === "leader") return n.name;
        return undefined;
      }),
    );
    assert.equal(leaders[0], leaders[1], `NB and SB have one leader (${leaders.join(", ")})`);
    const leader = leaders[0]!;
    const others = lab!.nodes.filter((n) => n.name !== leader).map((n) => n.name);
    const [a, b] = vms.filter((v) => v.node !== leader);
    assert.ok(a && b && a.node !== b.node, "two VMs on the two other members");
    await waitFor(
      "the two VMs reach each other",
      async () => received((await ping(a, b, 1)).stdout) === 1,
      {
        timeoutMs: 20_000,
      },
    );

    const pinging = ping(a, b, 100, 0.1);
    await new Promise((r) => setTimeout(r, 1000));
    const killed = await killNode(lab!, leader);
    assert.ok(killed.length >= 8, `killed ${killed.length} processes`);

    await waitFor(
      "an NB write on another member",
      async () =>
        (await lab!.cli(others[0]!, ["ovn-nbctl", "ls-add", `after-${leader}`])).exitCode === 0,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitFor(
      `${leader} listed OFFLINE`,
      async () => (await list(others[1]!)).find((m) => m.name === leader)?.status === "OFFLINE",
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const r = await pinging;
    assert.ok(
      received(r.stdout) >= 95,
      `the VMs on ${others.join(" and ")} kept pinging: ${r.stdout}`,
    );

    // waitready starts the member's daemon again, which brings everything back.
    await lab!.ok(leader, ["waitready", "--timeout", "60"]);
    await waitFor(
      `${leader} listed ONLINE`,
      async () => (await list(others[0]!)).find((m) => m.name === leader)?.status === "ONLINE",
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const db of Object.keys(DATABASES) as LabDatabase[]) {
      await waitFor(
        `${db} on ${leader} healthy`,
        async () => {
          const v = await raftStatus(lab!, leader, db);
          return v.status === "cluster member" && v.servers === 3 && v.leader !== "unknown";
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
    }
    const listed = await lab!.ok(leader, ["ovn-nbctl", "ls-list"]);
    assert.match(
      listed,
      new RegExp(`after-${leader}`),
      "the restarted member sees the write made without it",
    );
  });
});
