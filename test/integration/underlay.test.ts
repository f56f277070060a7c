/**
 * Geneve between two members on the userspace datapath, as on two real
 * machines: each member in its own network namespace, the two joined by
 * ONE plain veth pair that carries everything (Raft, OVSDB, the member API
 * and Geneve). With the encapsulation IP on the plain veth, `status` says
 * tunnels cannot work (and VMs across the members indeed cannot ping);
 * `chassis set underlay-interface` moves the veth's address onto br-phy
 * without cutting the members' own connections, and VMs ping across;
 * `shutdown` and a new start put it back and on again; `unset` gives the
 * veth its address back. The network here is made by hand, not by the lab.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { MEMBER_API_PORT } from "../../src/cluster/member-client.js";
import type { StatusReport } from "../../src/daemon/status.js";
import { createVeth } from "../../src/lab/netns.js";
import { detectDatapath } from "../../src/ovn/switch.js";
import { run } from "../../src/process/run.js";
import { TestMember, type Vm } from "../helpers/member.js";
import { waitFor } from "../helpers/wait.js";

const NET = "198.18.77";
const LINK = "ul0";

interface Node {
  member: TestMember;
  name: string;
  address: string;
  vm?: Vm;
}

let nodes: Node[] = [];

function ping(from: Vm, to: Vm, count = 1) {
  return run(
    "ip",
    [
      "netns",
      "exec",
      from.namespace,
      "ping",
      "-n",
      "-c",
      String(count),
      "-i",
      "0.2",
      "-W",
      "1",
      to.ip,
    ],
    { allowFailure: true, timeoutMs: 30_000 },
  );
}

async function status(n: Node): Promise<StatusReport> {
  return JSON.parse(await n.member.ok(["status", "--json"])) as StatusReport;
}

/** Global addresses of interface `dev` in a member's namespace. */
async function addressesOf(n: Node, dev: string): Promise<string[]> {
  const r = await run("ip", ["-n", n.member.namespace, "-j", "address", "show", "dev", dev], {
    allowFailure: true,
  });
  if (r.exitCode !== 0) return [];
  const [link] = JSON.parse(r.stdout) as { addr_info: { local: string; scope: string }[] }[];
  return (link?.addr_info ?? []).filter((a) => a.scope === "global").map((a) => a.local);
}

function sysctl(n: Node, key: string): Promise<string> {
  return n.member.sh("cat", [`/proc/sys/net/${key}`]).then((s) => s.trim());
}

/**
 * Established long-lived TCP connections between the two members (OVSDB
 * clients and Raft), as seen from `n`. Member API calls are left out: each
 * is one short HTTPS request (members ask each other every few seconds, e.g.
 * for their expected schemas), so one may end during the test by itself.
 */
async function memberConnections(n: Node): Promise<Set<string>> {
  const out = await n.member.sh("ss", ["-Htn", "state", "established"]);
  const memberApi = (end: string) => end.endsWith(`:${MEMBER_API_PORT}`);
  return new Set(
    out
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 4 && f[2]!.startsWith(`${NET}.`) && f[3]!.startsWith(`${NET}.`))
      .filter((f) => !memberApi(f[2]!) && !memberApi(f[3]!))
      .map((f) => `${f[2]} ${f[3]}`),
  );
}

/** What a refused command must leave as it was: settings, conf.db's bridges, addresses. */
async function snapshot(n: Node): Promise<string> {
  const addresses = JSON.parse(await n.member.sh("ip", ["-j", "address", "show"])) as {
    ifname: string;
    addr_info: { local: string }[];
  }[];
  return JSON.stringify({
    member: await readFile(n.member.path("data", "member.json"), "utf8"),
    chassis: await n.member.ok(["chassis", "show"]),
    bridges: await n.member.ok(["ovs-vsctl", "list-br"]),
    ids: await n.member.ok(["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids"]),
    addresses: addresses.map((l) => [l.ifname, l.addr_info.map((a) => a.local)]),
  });
}

/** Runs `microovn ARGS` on `n`, expects it refused with `message`, and nothing changed. */
async function refused(n: Node, args: string[], message: RegExp): Promise<void> {
  const before = await snapshot(n);
  const r = await n.member.cli(args);
  assert.notEqual(r.exitCode, 0, `${args.join(" ")} was accepted`);
  assert.match(r.stderr, message);
  assert.equal(await snapshot(n), before, `${args.join(" ")} changed nothing`);
}

async function clusterOnline(n: Node): Promise<boolean> {
  const listed = JSON.parse(await n.member.ok(["cluster", "list", "-f", "json"])) as {
    status: string;
  }[];
  return listed.length === 2 && listed.every((m) => m.status === "ONLINE");
}

const datapath = await detectDatapath();

describe("Geneve between two members over one plain link (userspace datapath)", () => {
  before(async () => {
    if (datapath !== "netdev") return;
    for (const [i, label] of ["hua", "hub"].entries()) {
      const member = await TestMember.create(label);
      nodes.push({ member, name: `u${i + 1}`, address: `${NET}.${i + 1}` });
    }
    const [a, b] = nodes as [Node, Node];
    await createVeth(
      { namespace: a.member.namespace, name: LINK },
      { namespace: b.member.namespace, name: LINK },
    );
    for (const n of nodes) {
      await n.member.sh("ip", ["address", "add", `${n.address}/24`, "dev", LINK]);
      // As on a wire: a veth hands TCP segments over with checksums left
      // to the hardware, which the userspace switch forwards unfinished.
      await n.member.sh("ethtool", ["-K", LINK, "tx", "off"]);
    }
    await a.member.ok(["cluster", "bootstrap", "--name", a.name, "--address", a.address]);
    const token = (await a.member.ok(["cluster", "add", b.name])).trim();
    await b.member.ok(["cluster", "join", token, "--address", b.address]);
    await a.member.ok(["ovn-nbctl", "ls-add", "sw0"]);
    for (const [i, n] of nodes.entries()) {
      const port = `vm${i + 1}`;
      const mac = `0a:00:00:00:01:0${i + 1}`;
      const ip = `10.0.0.${i + 1}`;
      await a.member.ok(["ovn-nbctl", "lsp-add", "sw0", port]);
      await a.member.ok(["ovn-nbctl", "lsp-set-addresses", port, `${mac} ${ip}`]);
      n.vm = await n.member.addVm(port, mac, ip);
      // Room for the Geneve header on the 1500-byte link.
      await run("ip", ["-n", n.vm.namespace, "link", "set", "eth0", "mtu", "1400"]);
    }
    await a.member.ok(["ovn-nbctl", "--wait=hv", "sync"]);
  });

  after(async () => {
    for (const n of nodes) await n.member.cleanup();
    nodes = [];
  });

  it("status says tunnels cannot work with the encapsulation IP on the plain link", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    for (const n of nodes) {
      const report = await status(n);
      assert.equal(report.problems.length, 1, JSON.stringify(report.problems));
      assert.match(
        report.problems[0]!,
        new RegExp(
          `Geneve tunnels to other chassis cannot work: .*userspace datapath.*` +
            `${n.address.replaceAll(".", "\\.")} is on ${LINK}; ` +
            `run \`microovn chassis set underlay-interface ${LINK}\``,
        ),
      );
      const text = await n.member.ok(["status"]);
      assert.match(text, /\nPROBLEMS:\n- Geneve tunnels to other chassis cannot work/);
    }
    // And indeed: the VMs do not reach each other.
    const [a, b] = nodes as [Node, Node];
    const r = await ping(a.vm!, b.vm!, 3);
    assert.notEqual(r.exitCode, 0, `vm1 reached vm2 without an underlay bridge:\n${r.stdout}`);
  });

  it("chassis set refuses what cannot work, and changes nothing", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    const a = nodes[0]!;
    // An interface without an address, for the check that wants one.
    await a.member.sh("ip", ["link", "add", "nx0", "type", "veth", "peer", "name", "nx1"]);
    const set = (key: string, value: string) => ["chassis", "set", key, value];
    await refused(
      a,
      set("bridge-mappings", "physnet1:br-int"),
      /onto br-int, the integration bridge/,
    );
    await refused(
      a,
      set("bridge-mappings", "physnet1:.."),
      /"physnet1:\.\." is not a bridge mapping/,
    );
    await refused(
      a,
      set("encap-ip", "203.0.113.9"),
      /203\.0\.113\.9 is not an address of this machine/,
    );
    await refused(
      a,
      set("underlay-interface", "nosuch0"),
      /has no interface "nosuch0" \(it has .*ul0/,
    );
    await refused(a, set("underlay-interface", "lo"), /lo is the loopback interface/);
    await refused(a, set("underlay-interface", "br-int"), /br-int is a bridge MicroOVN makes/);
    await refused(
      a,
      set("underlay-interface", "h-vm1"),
      /h-vm1 is a port of the OVS bridge br-int already; take it out/,
    );
    await refused(a, set("underlay-interface", "nx0"), /nx0 has no IP address to carry Geneve/);
  });

  it("underlay-interface moves the address onto br-phy, the members stay connected, VMs ping across", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    const [a, b] = nodes as [Node, Node];
    const before = await memberConnections(a);
    assert.ok(before.size > 0, "the members talk over the link");
    // The members' own traffic through the move: pings between their
    // addresses, 8 s of them. A count, not a deadline (-w), so that ping
    // waits for the last replies: a deadline counts an echo whose reply is
    // still on its way as lost.
    const steady = run(
      "ip",
      [
        "netns",
        "exec",
        a.member.namespace,
        "ping",
        "-n",
        "-i",
        "0.05",
        "-c",
        "160",
        "-W",
        "2",
        b.address,
      ],
      { allowFailure: true, timeoutMs: 30_000 },
    );
    for (const n of nodes) {
      const shown = await n.member.ok(["chassis", "set", "underlay-interface", LINK]);
      assert.match(shown, new RegExp(`underlay-interface: ${LINK} \\(its addresses on br-phy\\)`));
      assert.match(
        shown,
        new RegExp(`encap-ip: \\(${n.address.replaceAll(".", "\\.")}, the underlay's\\)`),
      );
      assert.deepEqual(await addressesOf(n, LINK), [], `${n.name}: ${LINK} gave its address away`);
      assert.deepEqual(await addressesOf(n, "br-phy"), [n.address]);
      const mac = (dev: string) =>
        n.member.sh("cat", [`/sys/class/net/${dev}/address`]).then((s) => s.trim());
      assert.equal(await mac("br-phy"), await mac(LINK), "br-phy has the link's MAC");
      assert.equal(await sysctl(n, "ipv4/conf/ul0/rp_filter"), "1");
      const ip = await n.member.ok([
        "ovs-vsctl",
        "get",
        "Open_vSwitch",
        ".",
        "external_ids:ovn-encap-ip",
      ]);
      assert.equal(JSON.parse(ip), n.address);
    }
    await refused(
      a,
      ["chassis", "set", "underlay-interface", "nx0"],
      /the underlay interface is ul0 already; run `microovn chassis unset underlay-interface` first/,
    );
    const after = await memberConnections(a);
    const kept = [...before].filter((c) => after.has(c));
    assert.deepEqual(kept, [...before], "every connection between the members survived");
    assert.ok(await clusterOnline(a));
    assert.ok(await clusterOnline(b));
    await b.member.ok(["ovn-nbctl", "ls-add", "written-after-the-move"]);
    const pinged = (await steady).stdout;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(pinged);
    assert.ok(m, pinged);
    const summary = pinged.split("\n").find((l) => l.includes("transmitted"));
    t.diagnostic(`member-to-member pings during the moves: ${summary}`);
    // An echo in flight in the very instant an address moves can be lost (seen
    // once in 160, under load); more than one per move would be a gap.
    const lost = Number(m[1]) - Number(m[2]);
    assert.ok(
      lost <= nodes.length,
      `${lost} pings between the members lost in ${nodes.length} moves`,
    );
    // The link's own stack ignores what reaches br-phy through OVS: nothing is
    // answered twice, but for a packet caught in the instant of a move.
    const duplicates = Number(/\+(\d+) duplicates/.exec(summary!)?.[1] ?? 0);
    assert.ok(duplicates <= 2, `${duplicates} pings answered twice`);
    for (const n of nodes) assert.deepEqual((await status(n)).problems, [], n.name);
    await waitFor(
      "vm1 reaches vm2 through Geneve",
      async () => (await ping(a.vm!, b.vm!)).exitCode === 0,
      {
        timeoutMs: 30_000,
      },
    );
    const r = await ping(b.vm!, a.vm!, 3);
    assert.match(r.stdout, / 3 received/, r.stdout);
  });

  it("shutdown gives the link its address back; the next start moves it onto br-phy again", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    const [a, b] = nodes as [Node, Node];
    await b.member.ok(["shutdown"]);
    assert.deepEqual(await addressesOf(b, LINK), [b.address]);
    assert.deepEqual(await addressesOf(b, "br-phy"), []);
    await b.member.ok(["waitready", "--timeout", "60"]); // starts microovnd again
    await waitFor("br-phy holds the address again", async () =>
      (await addressesOf(b, "br-phy")).includes(b.address),
    );
    assert.deepEqual(await addressesOf(b, LINK), []);
    await waitFor(
      "vm1 reaches vm2 after the restart",
      async () => (await ping(a.vm!, b.vm!)).exitCode === 0,
      {
        timeoutMs: 30_000,
      },
    );
  });

  it("a SIGKILLed ovs-vswitchd comes back with br-phy still holding the address", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    const [a, b] = nodes as [Node, Node];
    const old = (await b.member.pids())["ovs-vswitchd"];
    assert.ok(old !== undefined);
    process.kill(old, "SIGKILL");
    await waitFor(
      "ovs-vswitchd restarted",
      async () => {
        const p = (await status(b)).processes.find((q) => q.name === "ovs-vswitchd");
        return p?.phase === "running" && p.pid !== old;
      },
      { timeoutMs: 20_000 },
    );
    assert.deepEqual(await addressesOf(b, "br-phy"), [b.address]);
    assert.ok(await clusterOnline(a));
    await waitFor(
      "vm1 reaches vm2 after the vswitchd restart",
      async () => (await ping(a.vm!, b.vm!)).exitCode === 0,
      { timeoutMs: 30_000 },
    );
  });

  it("disable chassis gives the address back; enable chassis moves it again", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    const [a, b] = nodes as [Node, Node];
    await a.member.ok(["disable", "chassis"]);
    assert.deepEqual(await addressesOf(a, LINK), [a.address]);
    assert.deepEqual((await a.member.ok(["ovs-vsctl", "list-br"])).trim().split("\n"), ["br-int"]);
    assert.ok(await clusterOnline(b));
    await a.member.ok(["enable", "chassis"]);
    assert.deepEqual(await addressesOf(a, "br-phy"), [a.address]);
    assert.deepEqual(await addressesOf(a, LINK), []);
    await waitFor(
      "vm1 reaches vm2 with the chassis back",
      async () => (await ping(a.vm!, b.vm!)).exitCode === 0,
      { timeoutMs: 30_000 },
    );
  });

  it("unset puts the address back on the link and removes br-phy", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    const [a, b] = nodes as [Node, Node];
    for (const n of nodes) {
      const shown = await n.member.ok(["chassis", "unset", "underlay-interface"]);
      assert.match(shown, /underlay-interface: \(none\)/);
      assert.match(shown, /^bridge-mappings: \(none\)$/m);
      assert.doesNotMatch(shown, / $/m, "no line ends in a space");
      assert.deepEqual(await addressesOf(n, LINK), [n.address]);
      const bridges = await n.member.ok(["ovs-vsctl", "list-br"]);
      assert.deepEqual(bridges.trim().split("\n"), ["br-int"]);
      assert.equal(await sysctl(n, "ipv4/conf/ul0/rp_filter"), "0", "the link's settings are back");
      assert.equal(await sysctl(n, "ipv6/conf/ul0/disable_ipv6"), "0");
      assert.equal((await status(n)).problems.length, 1);
    }
    assert.ok(await clusterOnline(a));
    await b.member.ok(["ovn-nbctl", "ls-add", "written-after-unset"]);
  });

  it("a member that leaves the cluster gives its address back", async (t) => {
    if (datapath !== "netdev") return t.skip("this machine has the kernel datapath");
    const [a, b] = nodes as [Node, Node];
    await b.member.ok(["chassis", "set", "underlay-interface", LINK]);
    assert.deepEqual(await addressesOf(b, "br-phy"), [b.address]);
    // Asked by the other member: the answer comes back over the address that moves.
    await a.member.ok(["cluster", "remove", b.name]);
    assert.deepEqual(await addressesOf(b, LINK), [b.address]);
    assert.deepEqual(await addressesOf(b, "br-phy"), []);
    const listed = JSON.parse(await a.member.ok(["cluster", "list", "-f", "json"])) as {
      name: string;
    }[];
    assert.deepEqual(
      listed.map((m) => m.name),
      [a.name],
    );
  });
});
