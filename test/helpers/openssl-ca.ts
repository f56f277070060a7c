/**
 * CAs made with the openssl command, independent of our own X.509 code: an
 * "external" CA as an operator would bring to `certificates set-ca`.
 */
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type KeyKind = "rsa" | "ecdsa" | "ed25519";

const NEW_KEY: Record<KeyKind, string[]> = {
  rsa: ["-newkey", "rsa:2048"],
  ecdsa: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  ed25519: ["-newkey", "ed25519"],
};

export interface OpensslCa {
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
}

/**
 * A self-signed certificate in `dir` as `NAME.crt` and `NAME.key`. By default
 * a proper CA; `extensions` replaces its basicConstraints/keyUsage lines.
 */
export async function makeOpensslCa(
  dir: string,
  name: string,
  kind: KeyKind,
  extensions = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
): Promise<OpensslCa> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await run("openssl", [
    "req",
    "-x509",
    ...NEW_KEY[kind],
    "-nodes",
    "-days",
    "30",
    "-subj",
    `/O=Example/CN=${name}`,
    "-keyout",
    keyPath,
    "-out",
    certPath,
    ...extensions.flatMap((e) => ["-addext", e]),
  ]);
  return {
    certPath,
    keyPath,
    certPem: await readFile(certPath, "utf8"),
    keyPem: await readFile(keyPath, "utf8"),
  };
}

/** `openssl verify -CAfile CA CERT`: resolves true when the certificate chains to the CA. */
export async function opensslVerifies(
  caPem: string,
  certPem: string,
  dir: string,
): Promise<boolean> {
  const caFile = join(dir, `verify-ca-${process.hrtime.bigint()}.pem`);
  const certFile = `${caFile}.leaf`;
  await writeFile(caFile, caPem);
  await writeFile(certFile, certPem);
  try {
    await run("openssl", ["verify", "-CAfile", caFile, certFile]);
    return true;
  } catch {
    return false;
  }
}
