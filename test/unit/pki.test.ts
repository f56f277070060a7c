import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CA_VALID_DAYS,
  SERVICE_VALID_DAYS,
  createCa,
  inspectCertificate,
  isIssuedBy,
  issueCertificate,
  createSigningRequest,
  signRequest,
} from "../../src/pki/x509.js";

const DAY = 24 * 60 * 60 * 1000;

describe("cluster PKI certificates", () => {
  it("makes a 10-year CA", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const ca = await createCa({ now });
    const info = await inspectCertificate(ca.certPem);
    assert.equal(info.isCa, true);
    assert.match(info.subject, /CN=MicroOVN CA/);
    assert.equal(info.notAfter.getTime() - info.notBefore.getTime(), CA_VALID_DAYS * DAY);
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(await isIssuedBy(ca.certPem, ca.certPem, new Date("2027-01-01")), true);
  });

  it("issues 2-year certificates naming the member and its addresses", async () => {
    const ca = await createCa();
    const cert = await issueCertificate({
      ca,
      member: "node-1",
      service: "ovnnb",
      addresses: ["10.0.0.1", "fd00::1", "node-1.example"],
    });
    const info = await inspectCertificate(cert.certPem);
    assert.equal(info.isCa, false);
    assert.match(info.subject, /CN=node-1/);
    assert.match(info.subject, /OU=ovnnb/);
    assert.deepEqual(info.dnsNames, ["node-1", "node-1.example"]);
    assert.deepEqual(info.ipAddresses, ["10.0.0.1", "fd00::1"]);
    assert.equal(info.notAfter.getTime() - info.notBefore.getTime(), SERVICE_VALID_DAYS * DAY);
    assert.match(info.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(await isIssuedBy(cert.certPem, ca.certPem), true);
  });

  it("tells certificates of another CA and expired ones apart", async () => {
    const ca = await createCa();
    const other = await createCa();
    const cert = await issueCertificate({ ca, member: "m", service: "client" });
    assert.equal(await isIssuedBy(cert.certPem, other.certPem), false);
    const expired = await issueCertificate({
      ca,
      member: "m",
      service: "client",
      now: new Date(Date.now() - 800 * DAY),
    });
    assert.equal(await isIssuedBy(expired.certPem, ca.certPem), false);
  });

  it("gives every certificate a new serial", async () => {
    const ca = await createCa();
    const a = await inspectCertificate(
      (await issueCertificate({ ca, member: "m", service: "ovnsb" })).certPem,
    );
    const b = await inspectCertificate(
      (await issueCertificate({ ca, member: "m", service: "ovnsb" })).certPem,
    );
    assert.notEqual(a.serial, b.serial);
  });

  it("refuses a CA key it cannot use, and text that is not a certificate", async () => {
    const ca = await createCa();
    await assert.rejects(
      issueCertificate({
        ca: { certPem: ca.certPem, keyPem: "garbage" },
        member: "m",
        service: "x",
      }),
      (e: Error & { code?: string }) => e.code === "PKI_BAD_KEY",
    );
    await assert.rejects(inspectCertificate("not a certificate"), /not a PEM certificate/);
  });

  it("signs a CSR's key with the subject the signer chooses, and refuses a forged CSR", async () => {
    const ca = await createCa();
    const request = await createSigningRequest("asked-for", "client");
    const certPem = await signRequest({
      ca,
      csrPem: request.csrPem,
      member: "node-4",
      service: "ovnsb",
      addresses: ["10.0.0.4"],
    });
    const info = await inspectCertificate(certPem);
    assert.match(info.subject, /CN=node-4/);
    assert.match(info.subject, /OU=ovnsb/);
    assert.deepEqual(info.ipAddresses, ["10.0.0.4"]);
    assert.equal(await isIssuedBy(certPem, ca.certPem), true);
    // The certificate's key is the one the requester kept.
    const { X509Certificate, createPrivateKey, createPublicKey } = await import("node:crypto");
    const publicDer = new X509Certificate(certPem).publicKey.export({
      type: "spki",
      format: "der",
    });
    const fromKey = createPublicKey(createPrivateKey(request.keyPem)).export({
      type: "spki",
      format: "der",
    });
    assert.deepEqual(publicDer, fromKey);

    const body = request.csrPem.split("\n").slice(1, -2).join("");
    const der = Buffer.from(body, "base64");
    der[der.length - 10] = der[der.length - 10]! ^ 0xff; // break the signature
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await assert.rejects(
      signRequest({ ca, csrPem: forged, member: "x", service: "client" }),
      (e: Error & { code?: string }) => e.code === "PKI_BAD_CSR",
    );
    await assert.rejects(
      signRequest({ ca, csrPem: "garbage", member: "x", service: "client" }),
      /not a PEM certificate request/,
    );
  });
});
