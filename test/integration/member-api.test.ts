/**
 * The member API's mutual TLS on loopback: only certificates from the
 * cluster CA that name a current member get through; a member removed while
 * it holds a connection is refused on its next request; public routes are
 * open to callers without a certificate.
 */
import assert from "node:assert/strict";
import { Agent, request } from "node:https";
import type { TLSSocket } from "node:tls";
import { after, before, describe, it } from "node:test";
import { MemberServer, type MemberTls } from "../../src/daemon/api/member-server.js";
import type { Route } from "../../src/daemon/api/router.js";
import { createCa, inspectCertificate, issueCertificate } from "../../src/pki/x509.js";
import type { CertificateAndKey } from "../../src/pki/pem.js";
import { MEMBER_API_HEADER, MEMBER_API_VERSION } from "../../src/version.js";

interface Reply {
  status: number;
  serverSerial?: string;
  /** The member API version the answer names (MEMBER_API_HEADER). */
  memberApi?: string;
  body: { peer?: string; error?: { code: string; message: string } };
}

function call(
  port: number,
  path: string,
  ca: string,
  client?: CertificateAndKey,
  agent?: Agent,
  /** What to add to the reply besides status and body. */
  extra: { serial?: boolean; memberApi?: boolean } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: `/1.0${path}`,
        method: "GET",
        ca,
        ...(client ? { key: client.keyPem, cert: client.certPem } : {}),
        // Our certificates name members, not the address dialled; the pinned CA is what counts.
        checkServerIdentity: () => undefined,
        // A fresh connection unless one is given (the global agent would reuse old ones).
        agent: agent ?? false,
      },
      (res) => {
        const serverSerial = extra.serial
          ? (res.socket as TLSSocket).getPeerCertificate().serialNumber
          : undefined;
        const memberApi = extra.memberApi ? res.headers[MEMBER_API_HEADER] : undefined;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Reply["body"],
            ...(serverSerial !== undefined ? { serverSerial } : {}),
            ...(typeof memberApi === "string" ? { memberApi } : {}),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("member API", () => {
  let server: MemberServer;
  let ca: CertificateAndKey;
  let tls: MemberTls;
  const certs: Record<string, CertificateAndKey> = {};
  const members = new Set<string>();

  before(async () => {
    ca = await createCa();
    const serverCert = await issueCertificate({
      ca,
      member: "m1",
      service: "microovn",
      addresses: ["127.0.0.1"],
    });
    for (const name of ["m2", "m3"]) {
      certs[name] = await issueCertificate({ ca, member: name, service: "microovn" });
    }
    const otherCa = await createCa({ commonName: "Another CA" });
    certs.stranger = await issueCertificate({ ca: otherCa, member: "m2", service: "microovn" });
    for (const name of ["m1", "m2"]) {
      members.add(
        (await inspectCertificate(name === "m1" ? serverCert.certPem : certs[name]!.certPem))
          .fingerprint,
      );
    }
    const routes: Route[] = [
      {
        method: "GET",
        path: "/whoami",
        handler: ({ peer }) => Promise.resolve({ peer: peer?.name }),
      },
      {
        method: "GET",
        path: "/join",
        public: true,
        handler: ({ peer }) => Promise.resolve({ peer: peer?.name ?? "" }),
      },
    ];
    tls = { key: serverCert.keyPem, cert: serverCert.certPem, ca: ca.certPem };
    server = new MemberServer(routes, { tls, isMember: (p) => members.has(p.fingerprint) });
    await server.listen("127.0.0.1", 0);
  });

  after(async () => {
    await server?.close();
  });

  it("lets a current member through and names it", async () => {
    const r = await call(server.port, "/whoami", ca.certPem, certs.m2);
    assert.deepEqual(r, { status: 200, body: { peer: "m2" } });
  });

  it("names its version on every answer, refusals included", async () => {
    const options = { memberApi: true };
    const ok = await call(server.port, "/whoami", ca.certPem, certs.m2, undefined, options);
    const refused = await call(server.port, "/whoami", ca.certPem, undefined, undefined, options);
    assert.equal(refused.status, 403);
    assert.deepEqual([ok.memberApi, refused.memberApi], [MEMBER_API_VERSION, MEMBER_API_VERSION]);
  });

  it("refuses a caller without a certificate", async () => {
    const r = await call(server.port, "/whoami", ca.certPem);
    assert.equal(r.status, 403);
    assert.equal(r.body.error?.code, "MEMBER_CERTIFICATE_REQUIRED");
  });

  it("refuses a certificate from another CA", async () => {
    const r = await call(server.port, "/whoami", ca.certPem, certs.stranger);
    assert.equal(r.status, 403);
    assert.equal(r.body.error?.code, "MEMBER_CERTIFICATE_REFUSED");
    assert.match(r.body.error?.message ?? "", /not issued by this cluster's CA/);
  });

  it("refuses a certificate of the right CA that names no current member", async () => {
    const r = await call(server.port, "/whoami", ca.certPem, certs.m3);
    assert.equal(r.status, 403);
    assert.equal(r.body.error?.code, "NOT_A_MEMBER");
    assert.match(r.body.error?.message ?? "", /"m3" does not belong to a current member/);
  });

  it("refuses a member removed while it holds a connection, on its next request", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await call(server.port, "/whoami", ca.certPem, certs.m2, agent);
      assert.equal(first.status, 200);
      const fingerprint = (await inspectCertificate(certs.m2!.certPem)).fingerprint;
      members.delete(fingerprint);
      const second = await call(server.port, "/whoami", ca.certPem, certs.m2, agent);
      assert.equal(second.status, 403);
      assert.equal(second.body.error?.code, "NOT_A_MEMBER");
      members.add(fingerprint);
    } finally {
      agent.destroy();
    }
  });

  it("opens public routes to callers without a certificate", async () => {
    assert.deepEqual(await call(server.port, "/join", ca.certPem), {
      status: 200,
      body: { peer: "" },
    });
    assert.deepEqual(await call(server.port, "/join", ca.certPem, certs.m2), {
      status: 200,
      body: { peer: "m2" },
    });
  });

  it("takes a new server certificate for the next handshakes", async () => {
    const renewed = await issueCertificate({ ca, member: "m1", service: "microovn" });
    server.setTls({ ...tls, key: renewed.keyPem, cert: renewed.certPem });
    const r = await call(server.port, "/whoami", ca.certPem, certs.m2, undefined, {
      serial: true,
    });
    assert.equal(r.status, 200);
    const serial = (await inspectCertificate(renewed.certPem)).serial;
    assert.equal(r.serverSerial?.toLowerCase(), serial.toLowerCase());
  });
});
