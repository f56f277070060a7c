/**
 * The cluster CA across members: regenerate-ca while VMs ping across
 * tunnels, external CAs of each key type through set-ca, refusals of bad
 * CAs, no CA key on a non-voter, and a chassis-only member following
 * ovn.central-ips to another cluster's SB (the two clusters share an
 * external CA).
 */
import assert from "node:assert/strict";
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { issueCertificate } from "../../src/pki/x509.js";
import { killNode, startLab, stopLab } from "../helpers/lab.js";
import { CLI } from "../helpers/member.js";
import { makeOpensslCa, opensslVerifies, type OpensslCa } from "../helpers/openssl-ca.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";
import { writeFile } from "node:fs/promises";

let lab: Lab | undefined;
let scratch: string;
const vms: LabVm[] = [];
const MEMBERS = ["m1", "m2", "m3", "m4"];
const SERVICE_FILES: Record<string, string[]> = {
  voter: ["ovnnb", "ovnsb", "ovn-northd", "ovn-controller", "client", "microovn"],
  spare: ["ovn-controller", "client", "microovn"],
};

before(async () => {
  scratch = await makeTempDir("ca");
  lab = await startLab(4);
  vms.push(await lab.addVm("m1"), await lab.addVm("m4"));
});

after(async () => {
  await stopLab(lab);
  await removeDir(scratch);
});

function pki(node: string, file: string): string {
  return join(lab!.node(node).stateDir, "data/pki", file);
}

async function caOf(node: string): Promise<string> {
  return readFile(pki(node, "cacert.pem"), "utf8");
}

/** Every certificate of every member chains to `caPem` (openssl verify), and to nothing else given. */
async function assertAllIssuedBy(caPem: string, notBy?: string): Promise<void> {
  for (const [i, node] of MEMBERS.entries()) {
    assert.equal(await caOf(node), caPem, `${node} trusts only the new CA`);
    for (const service of SERVICE_FILES[i < 3 ? "voter" : "spare"]!) {
      const cert = await readFile(pki(node, `${service}-cert.pem`), "utf8");
      assert.ok(await opensslVerifies(caPem, cert, scratch), `${node} ${service} chains to the CA`);
      if (notBy) assert.ok(!(await opensslVerifies(notBy, cert, scratch)), `${node} ${service}`);
    }
  }
}

/** Whether a TLS client with `cert` reaches m1's NB from m2's namespace. */
async function nbAccepts(files: { key: string; cert: string; ca: string }): Promise<boolean> {
  const r = await runIn(
    lab!.node("m2").namespace,
    "ovsdb-client",
    [
      "--timeout=5",
      `--private-key=${files.key}`,
      `--certificate=${files.cert}`,
      `--ca-cert=${files.ca}`,
      "list-dbs",
      `ssl:${lab!.node("m1").address}:6641`,
    ],
    { allowFailure: true, timeoutMs: 15_000 },
  );
  return r.exitCode === 0 && r.stdout.includes("OVN_Northbound");
}

/** No file anywhere under the member's state dir holds the CA private key. */
async function assertNoCaKey(node: string, caKeyPem: string): Promise<void> {
  const body = caKeyPem.split("\n").slice(1, 3).join("\n");
  const walk = async (dir: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) out.push(...(await walk(path)));
      else if (e.isFile()) out.push(path);
    }
    return out;
  };
  for (const file of await walk(lab!.node(node).stateDir)) {
    const text = await readFile(file, "latin1");
    assert.ok(!text.includes(body), `${file} holds the CA key`);
  }
}

function received(output: string): number {
  return Number(/(\d+) received/.exec(output)?.[1] ?? 0);
}

describe("the cluster CA", () => {
  it("regenerate-ca from a spare: every member moves, pings keep flowing, the old CA is refused", async (t) => {
    const [vm1, vm2] = vms as [LabVm, LabVm];
    await waitFor(
      "vm1 to reach vm2",
      async () =>
        (
          await runIn(vm1.namespace, "ping", ["-c", "1", "-W", "1", vm2.ip], {
            allowFailure: true,
          })
        ).exitCode === 0,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    const oldCa = await caOf("m1");
    const oldKey = await readFile(pki("m1", "cacert-privkey.pem"), "utf8");
    const pinging = runIn(vm1.namespace, "ping", ["-c", "150", "-i", "0.1", "-W", "1", vm2.ip], {
      allowFailure: true,
      timeoutMs: 60_000,
    });
    const r = await lab!.cli("m4", ["certificates", "regenerate-ca"]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /New CA CN=MicroOVN CA.*new certificates on/);
    const lost = 150 - received((await pinging).stdout);
    t.diagnostic(`${lost} of 150 pings lost during the CA change`);
    assert.ok(lost <= 5, `${lost} of 150 pings lost during the CA change`);

    const newCa = await caOf("m1");
    assert.notEqual(newCa, oldCa);
    await assertAllIssuedBy(newCa, oldCa);
    const newKey = await readFile(pki("m2", "cacert-privkey.pem"), "utf8");
    assert.notEqual(newKey, oldKey);
    assert.equal((await stat(pki("m3", "cacert-privkey.pem"))).mode & 0o777, 0o600);
    await assertNoCaKey("m4", newKey);
    await assertNoCaKey("m4", oldKey);

    // A client certificate from the old CA is refused; one from the new CA is let in.
    const old = await issueCertificate({
      ca: { certPem: oldCa, keyPem: oldKey },
      member: "old",
      service: "client",
    });
    const fresh = await issueCertificate({
      ca: { certPem: newCa, keyPem: newKey },
      member: "new",
      service: "client",
    });
    const files = async (name: string, pair: { certPem: string; keyPem: string }, ca: string) => {
      const f = {
        key: join(scratch, `${name}.key`),
        cert: join(scratch, `${name}.crt`),
        ca: join(scratch, `${name}-ca.pem`),
      };
      await writeFile(f.key, pair.keyPem, { mode: 0o600 });
      await writeFile(f.cert, pair.certPem);
      await writeFile(f.ca, ca);
      return f;
    };
    assert.equal(await nbAccepts(await files("old", old, oldCa)), false, "old CA refused");
    assert.equal(await nbAccepts(await files("old2", old, newCa)), false, "old cert refused");
    assert.equal(await nbAccepts(await files("new", fresh, newCa)), true, "new CA accepted");

    // Everything still works: members online, NB writes reach every chassis.
    const listed = JSON.parse(await lab!.ok("m3", ["cluster", "list", "-f", "json"])) as {
      status: string;
    }[];
    assert.deepEqual(
      listed.map((m) => m.status),
      ["ONLINE", "ONLINE", "ONLINE", "ONLINE"],
    );
    await lab!.ok("m4", ["ovn-nbctl", "--timeout=20", "ls-add", "after-ca"]);
    await lab!.ok("m4", ["ovn-nbctl", "--timeout=30", "--wait=hv", "sync"]);
    const chassis = await lab!.ok("m1", [
      "ovn-sbctl",
      "--bare",
      "--columns=name",
      "list",
      "Chassis",
    ]);
    assert.deepEqual(chassis.split("\n").filter(Boolean).sort(), MEMBERS);
  });

  const external: Record<string, OpensslCa> = {};

  it("set-ca with an RSA CA (files), an Ed25519 CA (--combined on stdin) and an ECDSA CA", async () => {
    external.rsa = await makeOpensslCa(scratch, "ext-rsa", "rsa");
    let r = await lab!.cli("m1", [
      "certificates",
      "set-ca",
      "--cert",
      external.rsa.certPath,
      "--key",
      external.rsa.keyPath,
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /New external CA .*CN=ext-rsa/);
    await assertAllIssuedBy(external.rsa.certPem);

    external.ed25519 = await makeOpensslCa(scratch, "ext-ed", "ed25519");
    const combined = join(scratch, "ed-combined.pem");
    await writeFile(combined, external.ed25519.keyPem + external.ed25519.certPem);
    r = await runIn(
      lab!.node("m2").namespace,
      "sh",
      [
        "-c",
        `'${process.execPath}' '${CLI}' --state-dir '${lab!.node("m2").stateDir}' certificates set-ca --combined < '${combined}'`,
      ],
      { allowFailure: true, timeoutMs: 120_000 },
    );
    assert.equal(r.exitCode, 0, r.stderr);
    await assertAllIssuedBy(external.ed25519.certPem, external.rsa.certPem);

    external.ecdsa = await makeOpensslCa(scratch, "ext-ec", "ecdsa");
    await lab!.ok("m3", [
      "certificates",
      "set-ca",
      "--cert",
      external.ecdsa.certPath,
      "--key",
      external.ecdsa.keyPath,
    ]);
    await assertAllIssuedBy(external.ecdsa.certPem, external.ed25519.certPem);
    await lab!.ok("m4", ["ovn-nbctl", "--timeout=30", "--wait=hv", "sync"]);
    await assertNoCaKey("m4", external.ecdsa.keyPem);
    const list = await lab!.ok("m4", ["certificates", "list"]);
    assert.match(list, /\[OVN CA\]\n.*cacert\.pem \(OK: Present; expires \d{4}-\d\d-\d\d\)/);
    assert.doesNotMatch(list, /cacert-privkey/);
  });

  it("refuses a non-CA certificate, a mismatched key, and set-ca on a spare, changing nothing", async () => {
    const before = await caOf("m1");
    const leaf = await makeOpensslCa(scratch, "leaf", "ecdsa", [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
    ]);
    let r = await lab!.cli("m1", [
      "certificates",
      "set-ca",
      "--cert",
      leaf.certPath,
      "--key",
      leaf.keyPath,
    ]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /not a CA certificate/);
    r = await lab!.cli("m1", [
      "certificates",
      "set-ca",
      "--cert",
      external.rsa!.certPath,
      "--key",
      external.ed25519!.keyPath,
    ]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /private key does not belong to/);
    r = await lab!.cli("m4", [
      "certificates",
      "set-ca",
      "--cert",
      external.rsa!.certPath,
      "--key",
      external.rsa!.keyPath,
    ]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /only be given to a voter; run this on one of m1, m2, m3/);
    r = await lab!.cli("m1", ["certificates", "set-ca", "--cert", external.rsa!.certPath]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /--cert FILE --key FILE/);
    for (const node of MEMBERS) assert.equal(await caOf(node), before, `${node} unchanged`);
  });

  it("points every chassis at another cluster's SB with ovn.central-ips, and back", async () => {
    // A separate one-member cluster on the same network, given the same external CA.
    const other = await lab!.addNode();
    await lab!.ok(other.name, [
      "cluster",
      "bootstrap",
      "--name",
      other.name,
      "--address",
      other.address,
    ]);
    await lab!.ok(other.name, [
      "certificates",
      "set-ca",
      "--cert",
      external.ecdsa!.certPath,
      "--key",
      external.ecdsa!.keyPath,
    ]);
    let r = await lab!.cli("m1", ["config", "set", "ovn.central-ips", "10.0.0"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /"10\.0\.0" is not an IP address/);
    r = await lab!.cli("m4", ["config", "set", "ovn.central-ips", other.address]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /m1, m2, m3 still run central/);
    assert.equal((await lab!.ok("m2", ["config", "get", "ovn.central-ips"])).trim(), other.address);
    const remote = (node: string) =>
      lab!.ok(node, ["ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-remote"]);
    await waitFor(
      "m4's ovn-remote to name the other cluster",
      async () => (await remote("m4")).trim() === `"ssl:${other.address}:6642"`,
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    const chassisThere = async () =>
      (await lab!.ok(other.name, ["ovn-sbctl", "--bare", "--columns=name", "list", "Chassis"]))
        .split("\n")
        .filter(Boolean)
        .sort();
    await waitFor(
      "m4's chassis in the other cluster's SB",
      async () => (await chassisThere()).includes("m4"),
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    assert.match(
      await lab!.ok("m4", ["status"]),
      /External OVN central \(ovn\.central-ips\): 198\.18\./,
    );

    await lab!.ok("m1", ["config", "delete", "ovn.central-ips"]);
    await waitFor(
      "m4's ovn-remote back to this cluster",
      async () => (await remote("m4")).includes("198.18.0.1:6642"),
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.equal((await lab!.ok("m1", ["config", "list"])).trim(), "KEY  VALUE");
    r = await lab!.cli("m1", ["config", "get", "ovn.central-ips"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /ovn\.central-ips is not set/);
    r = await lab!.cli("m2", ["config", "delete", "ovn.central-ips"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /ovn\.central-ips is not set/);
    r = await lab!.cli("m2", ["config", "set", "ovn.centrals", other.address]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /"ovn\.centrals" is not a setting; known: ovn\.central-ips/);
    assert.equal((await lab!.ok("m3", ["config", "list"])).trim(), "KEY  VALUE");
  });

  it("refuses to change the CA while a member is offline, changing nothing", async () => {
    const before = await caOf("m1");
    await killNode(lab!, "m4");
    await waitFor(
      "m4 to be listed OFFLINE",
      async () => (await lab!.ok("m1", ["cluster", "list"])).match(/m4 .*OFFLINE/) !== null,
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    const r = await lab!.cli("m2", ["certificates", "regenerate-ca"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /m4 is offline and would be left with the old CA.*Nothing was changed/);
    for (const node of MEMBERS) assert.equal(await caOf(node), before, `${node} unchanged`);
  });
});
