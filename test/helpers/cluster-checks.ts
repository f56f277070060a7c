/**
 * What a healthy lab cluster looks like, checked the same way whatever its
 * addresses: the three-member test (IPv4) and the IPv6-only one share these.
 * Expected connection strings are written out here (brackets around IPv6,
 * then the port), not taken from the code under test.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import type { Lab, LabNode, LabVm } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { DATABASES, LAB_DATABASES, killNode, raftStatus } from "./lab.js";
import { waitFor } from "./wait.js";

/** "10.0.0.1:6641", "[fd00::1]:6641". */
export function hostPort(address: string, port: number): string {
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface Listed {
  name: string;
  address: string;
  role: string;
  fingerprint: string;
  status: string;
}

/** `cluster list` as member `node` prints it. */
export async function listMembers(lab: Lab, node: string): Promise<Listed[]> {
  return JSON.parse(await lab.ok(node, ["cluster", "list", "-f", "json"])) as Listed[];
}

/** NB, SB and the state DB: one Raft cluster each, every member in it, one leader. */
export async function checkRaftClusters(lab: Lab): Promise<void> {
  for (const db of LAB_DATABASES) {
    const views = await Promise.all(lab.nodes.map((n) => raftStatus(lab, n.name, db)));
    const ids = new Set(views.map((v) => v.clusterId));
    assert.equal(ids.size, 1, `${db}: one cluster ID, got ${[...ids].join(", ")}`);
    for (const [i, v] of views.entries()) {
      const on = lab.nodes[i]!.name;
      assert.equal(v.status, "cluster member", `${db} on ${on}`);
      assert.equal(v.servers, lab.nodes.length, `${db} on ${on} lists every server`);
      assert.deepEqual(
        [...v.addresses].sort(),
        lab.nodes.map((n) => `ssl:${hostPort(n.address, DATABASES[db].raftPort)}`).sort(),
      );
    }
    assert.equal(views.filter((v) => v.role === "leader").length, 1, `${db}: one leader`);
  }
}

/** `cluster list` on `node` names every member ONLINE as a voter, at its API address. */
export async function checkMembersOnline(lab: Lab, node: string): Promise<void> {
  const members = await listMembers(lab, node);
  assert.deepEqual(
    members.map((m) => [m.name, m.address, m.role, m.status]),
    lab.nodes.map((n) => [n.name, hostPort(n.address, 6686), "voter", "ONLINE"]),
  );
  for (const m of members) assert.match(m.fingerprint, /^[0-9a-f]{64}$/);
}

/** Every chassis points at all SB servers; northd on every central at all of NB and SB. */
export async function checkRemotes(lab: Lab): Promise<void> {
  const targets = (port: number) => lab.nodes.map((n) => `ssl:${hostPort(n.address, port)}`).sort();
  const sb = targets(6642);
  const nb = targets(6641);
  for (const n of lab.nodes) {
    const remote = await lab.ok(n.name, [
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
    const pid = (await lab.pids(n.name))["ovn-northd"];
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
}

/** Exactly one northd holds SB's lock and works; the others stand by. */
export async function checkOneActiveNorthd(lab: Lab): Promise<void> {
  const states = async () =>
    Promise.all(
      lab.nodes.map(async (n) => {
        const ctl = `${n.stateDir}/run/ovn-northd.ctl`;
        const out = await lab.ok(n.name, ["ovn-appctl", "-t", ctl, "status"]);
        return /Status: (\w+)/.exec(out)?.[1] ?? out.trim();
      }),
    );
  const seen = await waitFor(
    "one active northd",
    async () => {
      const s = await states();
      return s.filter((x) => x === "active").length === 1 ? s : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  assert.deepEqual(
    seen.filter((x) => x !== "active"),
    Array<string>(lab.nodes.length - 1).fill("standby"),
  );
}

/** `ping` from `vm` to `address` (IPv4 or IPv6); never throws on loss. */
export function ping(vm: LabVm, address: string, count: number, intervalS = 0.2) {
  return runIn(
    vm.namespace,
    "ping",
    ["-c", String(count), "-i", String(intervalS), "-W", "1", address],
    {
      allowFailure: true,
      timeoutMs: count * intervalS * 1000 + 15_000,
    },
  );
}

/** How many replies `ping` reported. */
export function received(output: string): number {
  return Number(/(\d+) received/.exec(output)?.[1] ?? 0);
}

/** `from` pings `address` once it answers at all, then 5 times without a loss. */
export async function checkPing(from: LabVm, address: string): Promise<void> {
  await waitFor(
    `${from.name} reaches ${address}`,
    async () => received((await ping(from, address, 1)).stdout) === 1,
    { timeoutMs: 20_000 },
  );
  const r = await ping(from, address, 5);
  assert.equal(received(r.stdout), 5, r.stdout);
}

/** `node` has a Geneve tunnel to `to`'s encapsulation address. */
export async function checkTunnel(lab: Lab, node: LabNode, to: LabNode): Promise<void> {
  const remotes = await lab.ok(node.name, [
    "ovs-vsctl",
    "--bare",
    "--columns=options",
    "find",
    "Interface",
    "type=geneve",
  ]);
  const ips = [...remotes.matchAll(/remote_ip="?([0-9a-f.:]+)"?/g)].map((m) => m[1]);
  assert.ok(ips.includes(to.encapIp), `a tunnel from ${node.name} to ${to.encapIp}: ${remotes}`);
}

/**
 * Traffic between `vm` (on m1) and `to` crosses m1's underlay link, not its
 * link to the members' network, and m1's encapsulation IP is its underlay
 * address.
 */
export async function checkGeneveOnUnderlay(lab: Lab, vm: LabVm, address: string): Promise<void> {
  assert.equal(vm.node, "m1", "the VM to send from is on m1");
  // Packets through m1's two links, as counted on the hub's side of each.
  const packets = async (link: string) => {
    const stats = await runIn(lab.hub, "ip", ["-s", "-j", "link", "show", link]);
    const [entry] = JSON.parse(stats.stdout) as {
      stats64: { rx: { packets: number }; tx: { packets: number } };
    }[];
    return entry!.stats64.rx.packets + entry!.stats64.tx.packets;
  };
  const before = { underlay: await packets("m1-ul0"), members: await packets("m1-eth0") };
  const r = await ping(vm, address, 300, 0.005);
  assert.equal(received(r.stdout), 300, r.stdout);
  const underlay = (await packets("m1-ul0")) - before.underlay;
  const members = (await packets("m1-eth0")) - before.members;
  // 300 requests out and 300 replies in, each one Geneve packet on the underlay.
  assert.ok(underlay >= 600, `${underlay} packets on the underlay`);
  assert.ok(members < 300, `${members} packets on the members' network`);
  const encap = await lab.ok("m1", [
    "ovs-vsctl",
    "get",
    "Open_vSwitch",
    ".",
    "external_ids:ovn-encap-ip",
  ]);
  assert.equal(encap.trim(), `"${lab.node("m1").encapIp}"`);
}

/**
 * SIGKILL of every process on the member that leads NB and SB: the other
 * two keep writing NB and their VMs (from `vms`, reached at `address(vm)`)
 * keep pinging; `waitready` brings the member back with what was written
 * without it.
 */
export async function checkSurvivesLeaderLoss(
  lab: Lab,
  vms: readonly LabVm[],
  address: (vm: LabVm) => string,
): Promise<void> {
  const leaders = await Promise.all(
    (["nb", "sb"] as const).map(async (db) => {
      for (const n of lab.nodes)
        if ((await raftStatus(lab, n.name, db)).role === "leader") return n.name;
      return undefined;
    }),
  );
  assert.equal(leaders[0], leaders[1], `NB and SB have one leader (${leaders.join(", ")})`);
  const leader = leaders[0]!;
  const others = lab.nodes.filter((n) => n.name !== leader).map((n) => n.name);
  const [a, b] = vms.filter((v) => v.node !== leader);
  assert.ok(a && b && a.node !== b.node, "two VMs on the two other members");
  await waitFor(
    "the two VMs reach each other",
    async () => received((await ping(a, address(b), 1)).stdout) === 1,
    {
      timeoutMs: 20_000,
    },
  );

  const pinging = ping(a, address(b), 100, 0.1);
  await new Promise((r) => setTimeout(r, 1000));
  const killed = await killNode(lab, leader);
  assert.ok(killed.length >= 8, `killed ${killed.length} processes`);

  await waitFor(
    "an NB write on another member",
    async () =>
      (await lab.cli(others[0]!, ["ovn-nbctl", "ls-add", `after-${leader}`])).exitCode === 0,
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  await waitFor(
    `${leader} listed OFFLINE`,
    async () =>
      (await listMembers(lab, others[1]!)).find((m) => m.name === leader)?.status === "OFFLINE",
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  const r = await pinging;
  assert.ok(
    received(r.stdout) >= 95,
    `the VMs on ${others.join(" and ")} kept pinging: ${r.stdout}`,
  );

  // waitready starts the member's daemon again, which brings everything back.
  await lab.ok(leader, ["waitready", "--timeout", "60"]);
  await waitFor(
    `${leader} listed ONLINE`,
    async () =>
      (await listMembers(lab, others[0]!)).find((m) => m.name === leader)?.status === "ONLINE",
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  for (const db of LAB_DATABASES) {
    await waitFor(
      `${db} on ${leader} healthy`,
      async () => {
        const v = await raftStatus(lab, leader, db);
        return v.status === "cluster member" && v.servers === 3 && v.leader !== "unknown";
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  }
  const listed = await lab.ok(leader, ["ovn-nbctl", "ls-list"]);
  assert.match(
    listed,
    new RegExp(`after-${leader}`),
    "the restarted member sees the write made without it",
  );
}
