/**
 * Three members in the lab: every member runs central, so NB, SB and the
 * cluster state database are 3-server Raft clusters; chassis and northd
 * know every central; VMs on different members talk through Geneve; and
 * the cluster rides out the loss of the member that leads NB and SB.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import {
  checkGeneveOnUnderlay,
  checkMembersOnline,
  checkOneActiveNorthd,
  checkPing,
  checkRaftClusters,
  checkRemotes,
  checkTunnel,
  listMembers,
  ping,
  received,
} from "../helpers/cluster-checks.js";
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

function list(node: string) {
  return listMembers(lab!, node);
}

before(async () => {
  lab = await startLab(3);
  // vm1 on m1, vm2 on m3, vm3 on m2.
  for (const node of ["m1", "m3", "m2"]) vms.push(await lab.addVm(node));
});

after(() => stopLab(lab));

describe("a three-member cluster", () => {
  it("has NB, SB and the state database as 3-server Raft clusters over ssl", async () => {
    await checkRaftClusters(lab!);
  });

  it("lists 3 members ONLINE, the first three as voters", async () => {
    await checkMembersOnline(lab!, "m2");
  });

  it("points every chassis at all 3 SB servers, and northd on every central at all of NB and SB", async () => {
    await checkRemotes(lab!);
  });

  it("runs exactly one active northd, the others on standby", async () => {
    await checkOneActiveNorthd(lab!);
  });

  it("lets a VM on m1 ping a VM on m3 through a Geneve tunnel", async () => {
    const [vm1, vm2] = vms;
    await checkPing(vm1!, vm2!.ip);
    await checkTunnel(lab!, lab!.node("m1"), lab!.node("m3"));
  });

  it("carries the Geneve traffic on the underlay network, not on the members' network", async () => {
    const [vm1, vm2] = vms;
    await checkGeneveOnUnderlay(lab!, vm1!, vm2!.ip);
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
      async () => received((await ping(a, b.ip, 1)).stdout) === 1,
      {
        timeoutMs: 20_000,
      },
    );

    const pinging = ping(a, b.ip, 100, 0.1);
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
