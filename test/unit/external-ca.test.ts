import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import {
  checkExternalCa,
  createCa,
  issueCertificate,
  splitCombinedPem,
} from "../../src/pki/x509.js";
import { makeOpensslCa, opensslVerifies, type KeyKind } from "../helpers/openssl-ca.js";
import { makeTempDir } from "../helpers/tmp.js";

describe("external CAs (certificates set-ca)", () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir("extca");
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const kind of ["rsa", "ecdsa", "ed25519"] as KeyKind[]) {
    it(`accepts a ${kind} CA and signs certificates openssl verifies`, async () => {
      const made = await makeOpensslCa(dir, `ca-${kind}`, kind);
      const ca = await checkExternalCa(made);
      assert.equal(ca.keyType, kind === "ecdsa" ? "ec" : kind);
      assert.match(ca.subject, new RegExp(`CN=ca-${kind}`));
      const leaf = await issueCertificate({ ca, member: "m1", service: "ovnsb" });
      assert.equal(await opensslVerifies(made.certPem, leaf.certPem, dir), true);
      const other = await createCa();
      assert.equal(await opensslVerifies(other.certPem, leaf.certPem, dir), false);
    });
  }

  it("takes a combined PEM with the certificate and key in either order", async () => {
    const made = await makeOpensslCa(dir, "combined", "ecdsa");
    const split = splitCombinedPem(`junk\n${made.keyPem}\n${made.certPem}`);
    assert.equal((await checkExternalCa(split)).subject.includes("CN=combined"), true);
    assert.throws(() => splitCombinedPem(made.certPem), /one CERTIFICATE and one PRIVATE KEY/);
    assert.throws(
      () => splitCombinedPem(made.certPem + made.certPem + made.keyPem),
      /found 2 certificate/,
    );
  });

  it("refuses a certificate that is not a CA", async () => {
    const leaf = await makeOpensslCa(dir, "leaf", "ecdsa", [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature",
    ]);
    await assert.rejects(checkExternalCa(leaf), { code: "PKI_NOT_A_CA", message: /CA:TRUE/ });
  });

  it("refuses a CA without keyCertSign", async () => {
    const ca = await makeOpensslCa(dir, "nosign", "rsa", [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,cRLSign",
    ]);
    await assert.rejects(checkExternalCa(ca), { code: "PKI_NOT_A_CA", message: /keyCertSign/ });
  });

  it("refuses a key that belongs to another certificate", async () => {
    const a = await makeOpensslCa(dir, "a", "ed25519");
    const b = await makeOpensslCa(dir, "b", "ed25519");
    await assert.rejects(checkExternalCa({ certPem: a.certPem, keyPem: b.keyPem }), {
      code: "PKI_KEY_MISMATCH",
    });
  });

  it("refuses garbage and two certificates in one file", async () => {
    const a = await makeOpensslCa(dir, "g", "ecdsa");
    await assert.rejects(checkExternalCa({ certPem: "hello", keyPem: a.keyPem }), {
      code: "PKI_BAD_PEM",
    });
    await assert.rejects(checkExternalCa({ certPem: a.certPem, keyPem: "hello" }), {
      code: "PKI_BAD_KEY",
    });
    await assert.rejects(checkExternalCa({ certPem: a.certPem + a.certPem, keyPem: a.keyPem }), {
      message: /holds 2/,
    });
  });
});
