/**
 * Joining with bad tokens (garbage, expired, reused, wrong name, wrong
 * fingerprint, unreachable address): each gets a clear error, the cluster
 * is unchanged, and the joiner is left clean so it can try again. And the
 * member API refuses callers without a member's certificate.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabNode } from "../../src/lab/lab.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { writeFile } from "node:fs/promises";
import { callMemberApi, startLab, stopLab } from "../helpers/lab.js";

let lab: Lab | undefined;
let joiner: LabNode;
let token: string;

function edit(text: string, change: (t: Record<string, unknown>) => void): string {
  const t = JSON.parse(Buffer.from(text, "base64").toString("utf8")) as Record<string, unknown>;
  change(t);
  return Buffer.from(JSON.stringify(t)).toString("base64");
}

async function members(): Promise<string[]> {
  const listed = JSON.parse(await lab!.ok("m1", ["cluster", "list", "-f", "json"])) as {
    name: string;
  }[];
  return listed.map((m) => m.name);
}

/** Tries to join; asserts the error, an unchanged cluster, and a clean joiner. */
async function refused(joinToken: string, expected: RegExp, extra: string[] = []): Promise<void> {
  const r = await lab!.cli(joiner.name, [
    "cluster",
    "join",
    joinToken,
    "--address",
    joiner.address,
    ...extra,
  ]);
  assert.notEqual(r.exitCode, 0, `join should fail: ${r.stdout}`);
  assert.match(r.stderr, expected);
  assert.deepEqual(await members(), ["m1"], "the cluster is unchanged");
  const left = await readdir(joiner.stateDir).catch(() => [] as string[]);
  assert.ok(!left.includes("data"), `the joiner has no data left: ${left.join(", ")}`);
  assert.match(await lab!.ok(joiner.name, ["status"]), /not a member of a cluster yet/);
}

before(async () => {
  lab = await startLab(1);
  joiner = await lab.addNode();
  token = (await lab.ok("m1", ["cluster", "add", "m2"])).trim();
});

after(() => stopLab(lab));

describe("joining with a bad token", () => {
  it("prints the token alone on its line", async () => {
    assert.match(token, /^[A-Za-z0-9+/]+=*$/);
    const r = await lab!.cli("m1", ["cluster", "add", "m1"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /"m1" is already a member/);
    const bad = await lab!.cli("m1", ["cluster", "add", "m9", "--timeout", "forever"]);
    assert.match(bad.stderr, /"forever" is not a token lifetime/);
  });

  it("refuses garbage", async () => {
    await refused("this-is-not-a-token", /not a valid join token \(it is not base64\)/);
    await refused(Buffer.from("[1,2]").toString("base64"), /not a valid join token/);
  });

  it("refuses an expired token", async () => {
    const short = (await lab!.ok("m1", ["cluster", "add", "m7", "--timeout", "1"])).trim();
    await new Promise((r) => setTimeout(r, 1100));
    await refused(short, /token for "m7" expired at/);
    // Made to look fresh on the joiner's side, it is still expired for the cluster.
    const disguised = edit(
      short,
      (t) => (t.expiresAt = new Date(Date.now() + 3600_000).toISOString()),
    );
    await refused(disguised, /token for "m7" expired at/);
  });

  it("refuses a wrong name", async () => {
    await refused(token, /issued for "m2", not "m8"/, ["--name", "m8"]);
    // The name inside the token changed: the cluster knows the secret was for m2.
    await refused(
      edit(token, (t) => (t.name = "m8")),
      /issued for "m2", not "m8"/,
    );
  });

  it("refuses a token whose fingerprint does not match the member's certificate", async () => {
    await refused(
      edit(token, (t) => (t.fingerprint = "ab".repeat(32))),
      /presented a certificate with fingerprint [0-9a-f]{64}, but the token expects (ab){32}.*Nothing was sent/,
    );
  });

  it("refuses a token whose address cannot be reached", async () => {
    await refused(
      edit(token, (t) => (t.addresses = ["198.18.0.99:6686"])),
      /could not reach the cluster at 198\.18\.0\.99:6686.*nothing was changed/,
    );
  });

  it("refuses a join on a machine that is a member already, and other bad cluster commands", async () => {
    const r = await lab!.cli("m1", ["cluster", "join", token]);
    assert.notEqual(r.exitCode, 0);
    assert.match(
      r.stderr,
      /already part of a cluster as m1 \(198\.18\.0\.1\); nothing was changed/,
    );
    const badName = await lab!.cli("m1", ["cluster", "add", "bad_name!"]);
    assert.match(badName.stderr, /"bad_name!" is not a valid member name/);
    const unknown = await lab!.cli("m1", ["cluster", "remove", "m42"]);
    assert.notEqual(unknown.exitCode, 0);
    assert.match(unknown.stderr, /"m42" is not a member of this cluster/);
    const format = await lab!.cli("m1", ["cluster", "list", "-f", "xml"]);
    assert.match(format.stderr, /"xml" is not an output format/);
    assert.deepEqual(await members(), ["m1"]);
  });

  it("joins with the right token after all that, and refuses it a second time", async () => {
    const r = await lab!.cli(joiner.name, ["cluster", "join", token, "--address", joiner.address]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /Joined the cluster as m2 \(198\.18\.0\.2\)/);
    assert.deepEqual(await members(), ["m1", "m2"]);
    const third = await lab!.addNode();
    const again = await lab!.cli(third.name, [
      "cluster",
      "join",
      token,
      "--address",
      third.address,
    ]);
    assert.notEqual(again.exitCode, 0);
    assert.match(again.stderr, /not known to the cluster: it was used already/);
    assert.deepEqual(await members(), ["m1", "m2"]);
  });
});

describe("the member API", () => {
  it("refuses a caller without a certificate, with another CA's, and lets a member through", async () => {
    const m1 = lab!.node("m1");
    const m2 = lab!.node("m2");
    const none = await callMemberApi(lab!, m2, m1, "GET", "/1.0/cluster/members");
    assert.equal(none.status, 403);
    assert.equal(none.body?.error?.code, "MEMBER_CERTIFICATE_REQUIRED");

    const otherCa = await createCa();
    const stranger = await issueCertificate({ ca: otherCa, member: "m2", service: "microovn" });
    const key = join(lab!.root, "stranger-key.pem");
    const cert = join(lab!.root, "stranger-cert.pem");
    await writeFile(key, stranger.keyPem, { mode: 0o600 });
    await writeFile(cert, stranger.certPem);
    const foreign = await callMemberApi(lab!, m2, m1, "GET", "/1.0/cluster/members", { key, cert });
    assert.equal(foreign.status, 403);
    assert.equal(foreign.body?.error?.code, "MEMBER_CERTIFICATE_REFUSED");

    const pki = join(m2.stateDir, "data/pki");
    const member = await callMemberApi(lab!, m2, m1, "GET", "/1.0/cluster/members", {
      key: join(pki, "microovn-privkey.pem"),
      cert: join(pki, "microovn-cert.pem"),
    });
    assert.equal(member.status, 200);
    assert.deepEqual(
      (member.body?.members as { name: string }[]).map((m) => m.name),
      ["m1", "m2"],
    );
  });
});
