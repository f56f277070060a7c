/**
 * A single-member cluster made by `microovn cluster bootstrap`, driven through
 * the built CLI inside its own network namespace: processes, TLS-only
 * databases, passthrough tools, status, certificates, services and chassis
 * settings.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { StatusReport } from "../../src/daemon/status.js";
import { INSTALLED_SCHEMAS } from "../../src/ovsdb/schema/installed.js";
import { detectDatapath } from "../../src/ovn/switch.js";
import { run } from "../../src/process/run.js";
import { CLI, TestMember } from "../helpers/member.js";
import { isAlive } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const EXPECTED_PROCESSES = [
  "ovn-controller",
  "ovn-northd",
  "ovs-vswitchd",
  "ovsdb-server-nb",
  "ovsdb-server-sb",
  "ovsdb-server-state",
  "ovsdb-server-switch",
];

async function schemaVersion(file: string): Promise<string> {
  return (JSON.parse(await readFile(file, "utf8")) as { version: string }).version;
}

describe("cluster bootstrap on one member", () => {
  let m: TestMember;

  const status = async () => JSON.parse(await m.ok(["status", "--json"])) as StatusReport;
  const clientTls = () => [
    `--private-key=${m.path("data/pki/client-privkey.pem")}`,
    `--certificate=${m.path("data/pki/client-cert.pem")}`,
    `--ca-cert=${m.path("data/pki/cacert.pem")}`,
  ];
  const listDbs = (remote: string, tls: string[]) =>
    m
      .sh("ovsdb-client", ["--timeout=5", ...tls, "list-dbs", remote])
      .then((out) => out.trim())
      .catch((e: Error) => `failed: ${e.message}`);

  before(async () => {
    m = await TestMember.create("boot");
    const out = await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    assert.match(out, /Bootstrapped node1 \(127\.0\.0\.1\)/);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("runs every OVN process under the daemon", async () => {
    const report = await status();
    const names = report.processes.map((p) => p.name).sort();
    assert.deepEqual(names, EXPECTED_PROCESSES);
    for (const p of report.processes) {
      assert.equal(p.phase, "running", `${p.name} is ${p.phase}`);
      assert.ok(p.pid !== undefined && isAlive(p.pid), `${p.name} pid ${p.pid} is alive`);
    }
    const pids = await m.pids();
    assert.ok(pids.microovnd !== undefined && isAlive(pids.microovnd));
  });

  it("serves NB and SB over TLS with the client certificate only", async () => {
    assert.equal(await listDbs("ssl:127.0.0.1:6641", clientTls()), "OVN_Northbound\n_Server");
    assert.equal(await listDbs("ssl:127.0.0.1:6642", clientTls()), "OVN_Southbound\n_Server");
    for (const port of [6641, 6642]) {
      assert.match(await listDbs(`tcp:127.0.0.1:${port}`, []), /^failed/, `plain tcp on ${port}`);
      const noCert = await listDbs(`ssl:127.0.0.1:${port}`, [
        `--ca-cert=${m.path("data/pki/cacert.pem")}`,
      ]);
      assert.match(noCert, /^failed/, `ssl without a client certificate on ${port}`);
    }
    // Each central listens on its own address (command line), so the
    // replicated connections tables stay free for what operators add.
    const nbArgs = await readFile(`/proc/${(await m.pids()).ovnnb_db}/cmdline`, "utf8");
    assert.ok(nbArgs.split("\0").includes("--remote=pssl:6641:127.0.0.1"), nbArgs);
    assert.equal((await m.ok(["ovn-nbctl", "get-connection"])).trim(), "");
  });

  it("passes a logical switch made with ovn-nbctl through to SB", async () => {
    await m.ok(["ovn-nbctl", "ls-add", "sw0"]);
    await m.ok(["ovn-nbctl", "--wait=sb", "sync"]);
    const datapaths = await m.ok([
      "ovn-sbctl",
      "--bare",
      "--columns=external_ids",
      "list",
      "Datapath_Binding",
    ]);
    assert.match(datapaths, /name=sw0/);
  });

  it("records the member in the cluster state database, a Raft cluster over TLS", async () => {
    const dump = await m.ok(["ovsdb-client", "dump", "ssl:127.0.0.1:6649", "MicroOVN", "Member"]);
    assert.match(dump, /node1/);
    assert.match(dump, /voter/);
    assert.match(dump, /"127\.0\.0\.1"/);
    const fingerprint = (
      await run("openssl", [
        "x509",
        "-in",
        m.path("data/pki/microovn-cert.pem"),
        "-noout",
        "-fingerprint",
        "-sha256",
      ])
    ).stdout
      .split("=")[1]!
      .trim()
      .replaceAll(":", "")
      .toLowerCase();
    assert.ok(dump.includes(fingerprint), "the API certificate's fingerprint");
    const raft = await m.ok(["ovn-appctl", "-t", "microovn_db", "cluster/status", "MicroOVN"]);
    assert.match(raft, /Role: leader/);
    assert.match(raft, /Address: ssl:127\.0\.0\.1:6650/);
  });

  it("registers the chassis with its settings", async () => {
    const chassis = await waitFor("chassis node1 in SB", async () => {
      const out = await m.ok(["ovn-sbctl", "--bare", "--columns=name", "list", "Chassis"]);
      return out.trim() === "node1" && out;
    });
    assert.ok(chassis);
    const ids = await m.ok(["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids"]);
    assert.match(ids, /system-id=node1/);
    assert.match(ids, /ovn-remote="ssl:127\.0\.0\.1:6642"/);
    assert.match(ids, /ovn-encap-type=geneve/);
    assert.match(ids, /ovn-encap-ip="127\.0\.0\.1"/);
    assert.match(ids, /ovn-bridge-datapath-type=(netdev|system)/);
    await m.ok(["ovn-nbctl", "--wait=hv", "sync"]);
  });

  it("shows status in MicroOVN's layout", async () => {
    const out = await m.ok(["status"]);
    const nb = await schemaVersion(INSTALLED_SCHEMAS.northbound.file);
    const sb = await schemaVersion(INSTALLED_SCHEMAS.southbound.file);
    assert.match(out, /^MicroOVN deployment summary:\n- node1 \(127\.0\.0\.1\)\n/);
    assert.match(out, /\n {2}Services: central, chassis, switch\n/);
    assert.match(out, /\nOVN Database summary:\n/);
    assert.match(out, new RegExp(`OVN Northbound: OK \\(${nb.replaceAll(".", "\\.")}\\)`));
    assert.match(out, new RegExp(`OVN Southbound: OK \\(${sb.replaceAll(".", "\\.")}\\)`));
    assert.doesNotMatch(out, /crashed|Certificate problems|PROBLEMS/);
    // A lone chassis needs no tunnels yet; what will matter is said apart from problems.
    const report = await status();
    assert.deepEqual(report.problems, []);
    if ((await detectDatapath()) === "netdev") {
      // Its encapsulation IP, 127.0.0.1, is on lo, not on an OVS bridge.
      assert.match(
        report.beforeOthersJoin?.[0] ?? "",
        /Geneve tunnels to other chassis cannot work/,
      );
      assert.match(out, /\nBefore another chassis joins:\n- Geneve tunnels/);
    }
  });

  it("runs ovn-appctl and ovs-appctl against this member's control sockets", async () => {
    const nb = await m.ok(["ovn-appctl", "-t", "ovnnb_db", "cluster/status", "OVN_Northbound"]);
    assert.match(nb, /Role: leader/);
    assert.match(nb, /Address: ssl:127\.0\.0\.1:6643/);
    const sb = await m.ok(["ovs-appctl", "-t", "ovnsb_db", "cluster/status", "OVN_Southbound"]);
    assert.match(sb, /Address: ssl:127\.0\.0\.1:6644/);
    assert.match(await m.ok(["ovn-appctl", "-t", "ovn-controller", "version"]), /ovn-controller/);
    assert.match(await m.ok(["ovn-appctl", "-t", "ovn-northd", "status"]), /Status: active/);
    assert.match(await m.ok(["ovs-appctl", "version"]), /ovs-vswitchd/);
    assert.match(await m.ok(["ovs-ofctl", "dump-flows", "br-int"]), /table=0/);
    assert.match(await m.ok(["ovsdb-client", "list-dbs", "ssl:127.0.0.1:6641"]), /OVN_Northbound/);
    await m.ok(["ovn-nbctl", "--wait=sb", "lsp-add", "sw0", "p1"]);
    const trace = await m.ok([
      "ovn-trace",
      "--minimal",
      "sw0",
      'inport == "p1" && eth.src == 0a:00:00:00:00:01 && eth.dst == ff:ff:ff:ff:ff:ff',
    ]);
    assert.match(trace, /# reg14=0x1,vlan_tci=0x0000,dl_src=0a:00:00:00:00:01/);
  });

  it("reports its own, OVN's and Open vSwitch's versions", async () => {
    const ovn = (await run("ovn-nbctl", ["--version"])).stdout.split("\n")[0]!.split(" ")[1]!;
    const out = await m.ok(["--version"]);
    assert.match(out, /^microovn: \d+\.\d+\.\d+\novn: (\S+)\nopenvswitch: \d+\.\d+\.\d+\n$/);
    assert.ok(out.includes(`ovn: ${ovn}\n`), out);
  });

  it("refuses a second bootstrap and touches nothing", async () => {
    const fingerprint = async () => {
      const hash = createHash("sha256");
      for (const f of (await readdir(m.path("data/pki"))).sort()) {
        hash.update(f).update(await readFile(m.path("data/pki", f)));
      }
      hash.update(await readFile(m.path("data/member.json")));
      return hash.digest("hex");
    };
    const before = { files: await fingerprint(), pids: await m.pids() };
    const r = await m.cli(["cluster", "bootstrap", "--name", "other", "--address", "127.0.0.1"]);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      /already part of a cluster as node1 \(127\.0\.0\.1\); nothing was changed/,
    );
    assert.equal(await fingerprint(), before.files);
    assert.deepEqual(await m.pids(), before.pids);
  });

  it("issues certificates that chain to the CA with names and addresses", async () => {
    const ca = m.path("data/pki/cacert.pem");
    const list = await m.ok(["certificates", "list"]);
    for (const service of [
      "ovnnb",
      "ovnsb",
      "ovn-northd",
      "ovn-controller",
      "client",
      "microovn",
    ]) {
      const cert = m.path(`data/pki/${service}-cert.pem`);
      assert.ok(list.includes(`${cert} (OK: Present; expires `), `${service} listed`);
      const verify = await run("openssl", ["verify", "-CAfile", ca, cert]);
      assert.equal(verify.stdout.trim(), `${cert}: OK`);
      const text = (await run("openssl", ["x509", "-in", cert, "-noout", "-text"])).stdout;
      assert.match(text, /DNS:node1, IP Address:127\.0\.0\.1/);
      assert.match(text, /Digital Signature/);
      assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
    }
  });

  it("reissues a certificate with a new serial and services keep working", async () => {
    const serial = async (service: string) =>
      (
        await run("openssl", [
          "x509",
          "-in",
          m.path(`data/pki/${service}-cert.pem`),
          "-noout",
          "-serial",
        ])
      ).stdout.trim();
    const old = { nb: await serial("ovnnb"), client: await serial("client") };
    assert.match(await m.ok(["certificates", "reissue", "ovnnb"]), /New ovnnb certificate issued/);
    assert.notEqual(await serial("ovnnb"), old.nb);
    // ovsdb-server notices the new files by itself and presents the new certificate.
    const presented = async () => {
      const hello = await m.sh("openssl", [
        "s_client",
        "-connect",
        "127.0.0.1:6641",
        "-cert",
        m.path("data/pki/client-cert.pem"),
        "-key",
        m.path("data/pki/client-privkey.pem"),
        "-CAfile",
        m.path("data/pki/cacert.pem"),
      ]);
      return (await run("openssl", ["x509", "-noout", "-serial"], { input: hello })).stdout.trim();
    };
    const reissued = await serial("ovnnb");
    await waitFor(
      "NB to present the new certificate",
      async () => (await presented()) === reissued,
    );
    assert.equal(await serial("client"), old.client);
    await m.ok(["certificates", "reissue", "all"]);
    assert.notEqual(await serial("client"), old.client);
    await m.ok(["ovn-nbctl", "ls-add", "after-reissue"]);
    await m.ok(["ovn-nbctl", "--wait=hv", "sync"]);
    assert.equal(await listDbs("ssl:127.0.0.1:6642", clientTls()), "OVN_Southbound\n_Server");
    const bad = await m.cli(["certificates", "reissue", "nonsense"]);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /"nonsense" is not a certificate; choose one of/);
  });

  it("keeps chassis settings in conf.db, SB and across a restart", async () => {
    await m.ok(["chassis", "set", "bridge-mappings", "physnet1:br-ex"]);
    await m.ok(["chassis", "set", "gateway", "true"]);
    const check = async () => {
      const ids = await m.ok(["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids"]);
      assert.match(ids, /ovn-bridge-mappings="physnet1:br-ex"/);
      assert.match(ids, /ovn-cms-options=enable-chassis-as-gw/);
      assert.match(await m.ok(["ovs-vsctl", "list-br"]), /br-ex/);
      await waitFor("the gateway option in SB", async () =>
        (await m.ok(["ovn-sbctl", "--bare", "--columns=other_config", "list", "Chassis"])).includes(
          "ovn-cms-options=enable-chassis-as-gw",
        ),
      );
    };
    await check();
    const bad = await m.cli(["chassis", "set", "bridge-mappings", "physnet1"]);
    assert.equal(bad.exitCode, 1);
    assert.match(bad.stderr, /"physnet1" is not a bridge mapping; write NETWORK:BRIDGE/);
    await m.ok(["shutdown"]);
    await m.ok(["waitready", "--timeout", "30"]);
    assert.match(await m.ok(["chassis", "show"]), /bridge-mappings: physnet1:br-ex\ngateway: true/);
    await check();
    await m.ok(["chassis", "unset", "gateway"]);
    const ids = await m.ok(["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids"]);
    assert.doesNotMatch(ids, /ovn-cms-options/);
  });

  it("disables and enables services on this member", async () => {
    const inUse = await m.cli(["disable", "switch"]);
    assert.equal(inUse.exitCode, 1);
    assert.match(inUse.stderr, /run `microovn disable chassis` first/);
    assert.match(await m.ok(["disable", "chassis"]), /Service chassis disabled/);
    let report = await status();
    assert.ok(!report.processes.some((p) => p.name === "ovn-controller"));
    assert.deepEqual(report.members[0]?.services, ["central", "switch"]);
    const row = await m.ok([
      "ovsdb-client",
      "dump",
      "ssl:127.0.0.1:6649",
      "MicroOVN",
      "Member",
      "services",
    ]);
    assert.match(row, /\[central, switch\]/);
    await waitFor(
      "the chassis gone from SB",
      async () =>
        (await m.ok(["ovn-sbctl", "--bare", "--columns=name", "list", "Chassis"])).trim() === "",
    );
    assert.match(await m.ok(["enable", "chassis"]), /Service chassis enabled/);
    assert.match(await m.ok(["enable", "chassis"]), /was already enabled/);
    report = await status();
    assert.ok(report.processes.some((p) => p.name === "ovn-controller" && p.phase === "running"));
    await waitFor("the chassis back in SB", async () =>
      (await m.ok(["ovn-sbctl", "--bare", "--columns=name", "list", "Chassis"])).includes("node1"),
    );
    const last = await m.cli(["disable", "central"]);
    assert.notEqual(last.exitCode, 0);
    assert.match(last.stderr, /node1 is the last member running central/);
    assert.ok(
      (await status()).processes.some((p) => p.name === "ovsdb-server-nb"),
      "still up",
    );
    assert.match(
      await m.ok(["disable", "central", "--allow-disable-last-central"]),
      /Service central disabled/,
    );
    report = await status();
    assert.ok(
      !report.processes.some((p) => p.name === "ovsdb-server-nb" || p.name === "ovsdb-server-sb"),
    );
    assert.match(
      await m.ok(["status"]),
      /OVN Northbound: Unavailable \(no member runs central and no external central is set: run `microovn enable central`/,
    );
    const nowhere = await m.cli(["ovn-nbctl", "show"]);
    assert.notEqual(nowhere.exitCode, 0);
    assert.match(nowhere.stderr, /no member of this cluster runs central/);
    assert.doesNotMatch(nowhere.stderr, /no remote given|Address family/);
    await m.ok(["enable", "central"]);
    assert.match(await m.ok(["ovn-nbctl", "ls-list"]), /\(sw0\)/, "NB data kept");
    // ovn-northd runs against this member's databases again, not against empty lists.
    const northd = (await readFile(`/proc/${(await m.pids())["ovn-northd"]}/cmdline`, "utf8"))
      .split("\0")
      .filter((a) => a.startsWith("--ovnnb-db=") || a.startsWith("--ovnsb-db="));
    assert.deepEqual(northd, ["--ovnnb-db=ssl:127.0.0.1:6641", "--ovnsb-db=ssl:127.0.0.1:6642"]);
    await m.ok(["ovn-nbctl", "ls-add", "sw-after-enable"]);
    await waitFor("northd to turn the new switch into a datapath", async () =>
      (
        await m.ok(["ovn-sbctl", "--bare", "--columns=external_ids", "list", "Datapath_Binding"])
      ).includes("sw-after-enable"),
    );
    const unknown = await m.cli(["enable", "dhcp"]);
    assert.match(unknown.stderr, /"dhcp" is not a service; choose one of central, switch, chassis/);
  });

  it("backs NB up online and restores every row (docs/operations.md)", async () => {
    const uuidOf = async (name: string) =>
      (
        await m.ok([
          "ovn-nbctl",
          "--bare",
          "--columns=_uuid",
          "find",
          "Logical_Switch",
          `name=${name}`,
        ])
      ).trim();
    const before = await uuidOf("sw0");
    assert.match(before, /^[0-9a-f-]{36}$/);
    const snapshot = m.path("nb-backup.db");
    const tool = `${process.execPath} ${CLI} --state-dir ${m.path()} ovsdb-client`;
    await m.sh("bash", ["-c", `${tool} backup ssl:127.0.0.1:6641 OVN_Northbound > ${snapshot}`]);
    await m.ok(["ovn-nbctl", "ls-del", "sw0"]);
    await m.ok(["ovn-nbctl", "ls-add", "made-after-backup"]);
    await m.sh("bash", ["-c", `${tool} restore ssl:127.0.0.1:6641 OVN_Northbound < ${snapshot}`]);
    // OVSDB clients cannot choose row UUIDs, so the row comes back under a new one.
    assert.match(await uuidOf("sw0"), /^[0-9a-f-]{36}$/, "sw0 is back");
    assert.equal(await uuidOf("made-after-backup"), "", "and nothing made after the backup");
    await m.ok(["ovn-nbctl", "ls-add", "after-restore"]);
  });
});
