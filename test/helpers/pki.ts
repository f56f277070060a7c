/**
 * Throw-away certificates for TLS tests, made with the openssl command line
 * tool (OpenSSL 3.0 or newer: `req -x509 -CA` signs in a single call).
 *
 * Layout made by makeTestPki(dir):
 *   ca.crt / ca.key                   test CA, trusted by servers and clients
 *   server.crt / server.key           signed by the CA; SAN IP:127.0.0.1, DNS:localhost;
 *                                     usable for both TLS roles (raft members
 *                                     connect to each other with it)
 *   client.crt / client.key           signed by the CA
 *   other-ca.crt / other-ca.key       an unrelated CA
 *   rogue-client.crt / rogue-client.key  signed by the unrelated CA, so a server
 *                                     trusting only ca.crt must refuse it
 */
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "../../src/process/run.js";

/** Paths of a certificate (PEM) and its private key (PEM, mode 0600). */
export interface CertPair {
  cert: string;
  key: string;
}

export interface TestPki {
  dir: string;
  /** The CA that signed `server` and `client`. */
  caCert: string;
  server: CertPair;
  client: CertPair;
  /** A second CA that has nothing to do with `caCert`. */
  otherCaCert: string;
  /** A client certificate signed by the other CA. */
  rogueClient: CertPair;
}

/**
 * Our own openssl configuration, so the system's openssl.cnf (whose default
 * extensions would mark every certificate as a CA) plays no part.
 */
const OPENSSL_CONFIG = `# Written by test/helpers/pki.ts
[req]
distinguished_name = req_dn
prompt = no

[req_dn]
CN = unused

[ca_ext]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[client_ext]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

interface CertRequest {
  /** File name stem: <name>.crt and <name>.key. */
  name: string;
  commonName: string;
  /** Section of OPENSSL_CONFIG with the certificate's extensions. */
  extensions: "ca_ext" | "server_ext" | "client_ext";
  /** Issuer; absent for a self-signed CA. */
  issuer?: CertPair;
}

/**
 * Makes a fresh ECDSA P-384 key and a certificate for it in one openssl call:
 * self-signed, or signed by `issuer`.
 */
async function makeCert(dir: string, config: string, rq: CertRequest): Promise<CertPair> {
  const pair: CertPair = { cert: join(dir, `${rq.name}.crt`), key: join(dir, `${rq.name}.key`) };
  const args = [
    "req",
    "-config",
    config,
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-384",
    "-noenc",
    "-sha384",
    "-days",
    "30",
    "-subj",
    `/O=microovn tests/CN=${rq.commonName}`,
    "-extensions",
    rq.extensions,
    "-keyout",
    pair.key,
    "-out",
    pair.cert,
  ];
  if (rq.issuer) args.push("-CA", rq.issuer.cert, "-CAkey", rq.issuer.key);
  await run("openssl", args, { timeoutMs: 20_000 });
  // openssl already creates keys owner-only; make sure of it.
  await chmod(pair.key, 0o600);
  return pair;
}

/**
 * Writes a complete test PKI into `dir` (which must exist) and returns the
 * file paths. Takes a few tens of milliseconds.
 */
export async function makeTestPki(dir: string): Promise<TestPki> {
  const config = join(dir, "openssl.cnf");
  await writeFile(config, OPENSSL_CONFIG);

  // The two CAs first, then every leaf certificate in parallel.
  const [ca, otherCa] = await Promise.all([
    makeCert(dir, config, { name: "ca", commonName: "microovn test CA", extensions: "ca_ext" }),
    makeCert(dir, config, {
      name: "other-ca",
      commonName: "unrelated test CA",
      extensions: "ca_ext",
    }),
  ]);
  const [server, client, rogueClient] = await Promise.all([
    makeCert(dir, config, {
      name: "server",
      commonName: "localhost",
      extensions: "server_ext",
      issuer: ca,
    }),
    makeCert(dir, config, {
      name: "client",
      commonName: "test client",
      extensions: "client_ext",
      issuer: ca,
    }),
    makeCert(dir, config, {
      name: "rogue-client",
      commonName: "rogue client",
      extensions: "client_ext",
      issuer: otherCa,
    }),
  ]);

  return { dir, caCert: ca.cert, server, client, otherCaCert: otherCa.cert, rogueClient };
}
