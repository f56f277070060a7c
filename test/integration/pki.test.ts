/**
 * Certificates from our PKI used by real programs: openssl verifies them,
 * ovsdb-server serves TLS with them and our client authenticates with them;
 * a certificate from another CA is refused.
 */
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { OvsdbError } from "../../src/ovsdb/errors.js";
import { PkiStore, type CertificateService } from "../../src/pki/store.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { run } from "../../src/process/run.js";
import { SCHEMAS, startStandalone, type OvsdbServerHandle } from "../helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const SERVICES: CertificateService[] = [
  "ovnnb",
  "ovnsb",
  "ovn-northd",
  "ovn-controller",
  "client",
  "microovn",
];

let dir: string;
let store: PkiStore;
let foreign: PkiStore;
let server: OvsdbServerHandle;

before(async () => {
  dir = await makeTempDir("pki");
  store = new PkiStore(`${dir}/pki`);
  const ca = await createCa();
  await store.writeCa(ca);
  for (const service of SERVICES) {
    await store.writeService(
      service,
      await issueCertificate({ ca, member: "node1", service, addresses: ["127.0.0.1"] }),
    );
  }
  foreign = new PkiStore(`${dir}/foreign`);
  const otherCa = await createCa();
  await foreign.writeCa(otherCa);
  await foreign.writeService(
    "client",
    await issueCertificate({ ca: otherCa, member: "intruder", service: "client" }),
  );
  server = await startStandalone({
    dir: `${dir}/nb`,
    schemaFile: SCHEMAS.northbound,
    pki: {
      dir: store.dir,
      caCert: store.caCertPath,
      server: { cert: store.certPath("ovnnb"), key: store.keyPath("ovnnb") },
      client: { cert: store.certPath("client"), key: store.keyPath("client") },
      otherCaCert: foreign.caCertPath,
      rogueClient: { cert: foreign.certPath("client"), key: foreign.keyPath("client") },
    },
  });
});

after(async () => {
  await server?.stop();
  await removeDir(dir);
});

describe("the cluster PKI with real programs", () => {
  it("issues certificates openssl verifies, with SANs and key usages", async () => {
    for (const service of SERVICES) {
      const { stdout } = await run("openssl", [
        "verify",
        "-CAfile",
        store.caCertPath,
        store.certPath(service),
      ]);
      assert.match(stdout, /: OK/);
      const text = (
        await run("openssl", ["x509", "-in", store.certPath(service), "-noout", "-text"])
      ).stdout;
      assert.match(text, /DNS:node1, IP Address:127\.0\.0\.1/);
      assert.match(text, /Digital Signature, Key Agreement/);
      assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
      assert.match(text, /ASN1 OID: secp384r1/);
    }
    const ca = (await run("openssl", ["x509", "-in", store.caCertPath, "-noout", "-text"])).stdout;
    assert.match(ca, /CA:TRUE/);
    assert.match(ca, /Certificate Sign, CRL Sign/);
  });

  it("keeps private keys readable by their owner only", async () => {
    for (const service of SERVICES) {
      assert.equal((await stat(store.keyPath(service))).mode & 0o777, 0o600, service);
    }
    assert.equal((await stat(store.caKeyPath)).mode & 0o777, 0o600);
  });

  it("serves TLS from ovsdb-server to our client with these certificates", async () => {
    const client = await OvsdbClient.connect({
      remotes: server.sslRemote!,
      database: "OVN_Northbound",
      tls: store.tlsFiles("client"),
    });
    try {
      assert.deepEqual((await client.listDbs()).sort(), ["OVN_Northbound", "_Server"]);
    } finally {
      client.close();
    }
    const { stdout } = await run("ovsdb-client", [
      `--private-key=${store.keyPath("ovn-northd")}`,
      `--certificate=${store.certPath("ovn-northd")}`,
      `--ca-cert=${store.caCertPath}`,
      "list-dbs",
      server.sslRemote!,
    ]);
    assert.match(stdout, /OVN_Northbound/);
  });

  it("is refused with a certificate from another CA", async () => {
    await assert.rejects(
      OvsdbClient.connect({
        remotes: server.sslRemote!,
        tls: foreign.tlsFiles("client"),
        waitForConnectionMs: 1000,
      }),
      (e: OvsdbError) => e.code === "OVSDB_NOT_CONNECTED",
    );
  });

  it("reports presence and expiry, and what is due for renewal", async () => {
    const status = await store.status(["ovnnb", "ovn-controller"]);
    assert.deepEqual(
      status.map((s) => s.name),
      ["ca", "ovnnb", "ovn-controller"],
    );
    assert.ok(status.every((s) => s.cert.present && s.cert.notAfter && !s.cert.problem));
    assert.deepEqual(await store.renewalsDue(["ovnnb"]), []);
    const in725Days = new Date(Date.now() + 725 * 24 * 60 * 60 * 1000);
    assert.deepEqual(await store.renewalsDue(["ovnnb"], 10, in725Days), ["ovnnb"]);
    const empty = new PkiStore(`${dir}/empty`);
    assert.deepEqual(await empty.renewalsDue(["ovnsb"]), ["ca", "ovnsb"]);
  });
});
