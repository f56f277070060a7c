/**
 * Three members with IPv6 addresses only (`lab up --ipv6`): no IPv4 on the
 * members' network or the underlay, so bootstrap, join, Raft, the member
 * API, ovn-remote, northd and Geneve all run over IPv6. The cluster passes
 * the checks of the IPv4 three-member test (helpers/cluster-checks.ts), and
 * every connection string writes the address in brackets.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { decodeJoinToken } from "../../src/cluster/join-token.js";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { run } from "../../src/process/run.js";
import * as healthy from "../helpers/cluster-checks.js";
import { LAB_DATABASES, killNode, raftStatus, startLab, stopLab } from "../helpers/lab.js";

let lab: Lab | undefined;
const vms: LabVm[] = [];

before(async () => {
  lab = await startLab(3, { ipv6: true });
  // vm1 on m1, vm2 on m3, vm3 on m2.
  for (const node of ["m1", "m3", "m2"]) vms.push(await lab.addVm(node));
});

after(() => stopLab(lab));

describe("a three-member cluster on an IPv6-only network", () => {
  it("gives its members IPv6 addresses only, outside loopback", async () => {
    for (const n of lab!.nodes) {
      assert.match(n.address, /^fd50:0:0:1::\d$/);
      assert.match(n.encapIp, /^fd50:0:0:2::\d$/);
      const v4 = await runIn(n.namespace, "ip", ["-4", "-o", "addr", "show"]);
      const links = v4.stdout
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => l.split(/\s+/)[1]);
      assert.deepEqual(links, ["lo"], `IPv4 on ${n.name}: ${v4.stdout}`);
    }
  });

  it("has NB, SB and the state database as 3-server Raft clusters over ssl:[…]", async () => {
    await healthy.checkRaftClusters(lab!);
    const nb = await raftStatus(lab!, "m2", "nb");
    assert.ok(nb.addresses.includes("ssl:[fd50:0:0:1::1]:6643"), nb.addresses.join(", "));
  });

  it("lists 3 members ONLINE at [address]:6686", async () => {
    await healthy.checkMembersOnline(lab!, "m3");
  });

  it("issues join tokens that name the members' API at [address]:6686", async () => {
    const token = decodeJoinToken((await lab!.ok("m2", ["cluster", "add", "m9"])).trim());
    assert.ok(token.addresses.includes("[fd50:0:0:1::2]:6686"), token.addresses.join(", "));
    for (const a of token.addresses) assert.match(a, /^\[fd50:0:0:1::\d\]:6686$/);
  });

  it("certifies each member's IPv6 address as an IP subject alternative name", async () => {
    const m2 = lab!.node("m2");
    for (const service of ["microovn", "ovnnb", "ovnsb"]) {
      const r = await run("openssl", [
        "x509",
        "-noout",
        "-ext",
        "subjectAltName",
        "-in",
        `${m2.stateDir}/data/pki/${service}-cert.pem`,
      ]);
      assert.match(r.stdout, /IP Address:FD50:0:0:1:0:0:0:2\b/, `${service}: ${r.stdout}`);
    }
  });

  it("points every chassis and northd at ssl:[address]:port", async () => {
    await healthy.checkRemotes(lab!);
    const remote = await lab!.ok("m1", [
      "ovs-vsctl",
      "get",
      "Open_vSwitch",
      ".",
      "external_ids:ovn-remote",
    ]);
    assert.match(remote, /ssl:\[fd50:0:0:1::3\]:6642/);
  });

  it("runs exactly one active northd, the others on standby", async () => {
    await healthy.checkOneActiveNorthd(lab!);
  });

  it("reports the members and healthy databases in status", async () => {
    const status = await lab!.ok("m2", ["status"]);
    for (const n of lab!.nodes) assert.match(status, new RegExp(`- ${n.name} \\(${n.address}\\)`));
    assert.match(status, /OVN Northbound: OK/);
    assert.match(status, /OVN Southbound: OK/);
  });

  it("lets a VM on m1 ping6 a VM on m3 through a Geneve tunnel over IPv6", async () => {
    const [vm1, vm2] = vms;
    assert.ok(vm2!.ip6, "the VMs of an IPv6 lab have IPv6 addresses");
    await healthy.checkPing(vm1!, vm2!.ip6);
    await healthy.checkTunnel(lab!, lab!.node("m1"), lab!.node("m3"));
    await healthy.checkTunnel(lab!, lab!.node("m3"), lab!.node("m1"));
  });

  it("carries the Geneve traffic on the IPv6 underlay, not on the members' network", async () => {
    const [vm1, vm2] = vms;
    await healthy.checkGeneveOnUnderlay(lab!, vm1!, vm2!.ip6!);
  });

  it("survives SIGKILL of everything on the member that leads NB and SB, and takes it back", async () => {
    await healthy.checkSurvivesLeaderLoss(lab!, vms, (vm) => vm.ip6!);
  });

  it("refuses an IPv6 address in brackets or a link-local one, saying how to write it, and changes nothing", async () => {
    const encap = () =>
      lab!.ok("m2", ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-encap-ip"]);
    const before = await encap();
    for (const [bad, why] of [
      ["[fd50:0:0:2::2]", /write the IPv6 address bare \(fd50:0:0:2::2\)/],
      ["fe80::2", /link-local/],
    ] as const) {
      const r = await lab!.cli("m2", ["chassis", "set", "encap-ip", bad]);
      assert.notEqual(r.exitCode, 0, `${bad} taken`);
      assert.match(r.stderr, why);
    }
    const central = await lab!.cli("m2", ["config", "set", "ovn.central-ips", "[fd50:0:0:1::1]"]);
    assert.notEqual(central.exitCode, 0);
    assert.match(central.stderr, /bare \(fd50:0:0:1::1\)/);
    assert.equal(await encap(), before);
    const unset = await lab!.cli("m2", ["config", "get", "ovn.central-ips"]);
    assert.match(unset.stderr, /ovn\.central-ips is not set/);
  });

  it("forces a dead member out, kicking its ssl:[…] servers from every Raft cluster", async () => {
    // SB's leader if m1 (which removes it) is not: its removal then waits out an election.
    let victim = "m3";
    for (const n of ["m2", "m3"]) {
      if ((await raftStatus(lab!, n, "sb")).role === "leader") victim = n;
    }
    const gone = lab!.node(victim).address;
    await killNode(lab!, victim);
    const r = await lab!.cli("m1", ["cluster", "remove", victim, "--force"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`Removed ${victim} \\(kicked from OVN_Northbound, OVN_Southbound, MicroOVN\\)`),
    );
    for (const db of LAB_DATABASES) {
      const v = await raftStatus(lab!, "m1", db);
      assert.equal(v.servers, 2, `${db}: 2 servers`);
      assert.ok(!v.addresses.some((a) => a.includes(`[${gone}]`)), `${victim} gone from ${db}`);
    }
  });
});
