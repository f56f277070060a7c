/**
 * X.509 for the cluster's own PKI: a self-signed CA (ECDSA P-384, 10 years)
 * and certificates for OVN services and members (2 years), with the member's
 * name and address in subjectAltName and proper key usages. Pure crypto in
 * memory; writing files is store.ts's job, reading PEM pem.ts's.
 */
import "reflect-metadata";
import { createPrivateKey, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";
import { MicroOvnError } from "../errors.js";
import { certificateMatchesKey, splitCertificates, type CertificateAndKey } from "./pem.js";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

export const CA_VALID_DAYS = 3650;
export const SERVICE_VALID_DAYS = 730;

export class PkiError extends MicroOvnError {}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive, as DER integers for serials must be
  return bytes.toString("hex");
}

function toPem(label: string, der: ArrayBuffer): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

async function newKeys(): Promise<CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
}

async function exportKey(key: CryptoKey): Promise<string> {
  return toPem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", key));
}

/** The signature algorithm for a key type, as WebCrypto names it. */
type SigningAlgorithm =
  | webcrypto.RsaHashedImportParams
  | (webcrypto.EcKeyImportParams & { hash: string })
  | webcrypto.Algorithm;

/** A CA's private key, ready to sign, with the algorithm its type calls for. */
interface SigningKey {
  key: CryptoKey;
  algorithm: SigningAlgorithm;
}

/**
 * Imports a CA private key of any type the cluster accepts (ours are ECDSA
 * P-384; an external CA may be RSA, ECDSA P-256/384/521 or Ed25519), in
 * PKCS#8 or the older RSA/EC PEM forms.
 */
async function importSigningKey(keyPem: string): Promise<SigningKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new PkiError("PKI_BAD_KEY", `not a PEM private key: ${(e as Error).message}`);
  }
  const algorithm = signingAlgorithm(key);
  const der = key.export({ type: "pkcs8", format: "der" });
  try {
    return {
      key: await webcrypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]),
      algorithm,
    };
  } catch (e) {
    throw new PkiError("PKI_BAD_KEY", `the private key cannot sign: ${(e as Error).message}`);
  }
}

const EC_HASHES: Record<string, string> = {
  prime256v1: "SHA-256",
  secp384r1: "SHA-384",
  secp521r1: "SHA-512",
};
const EC_CURVES: Record<string, string> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

function signingAlgorithm(key: KeyObject): SigningAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === "rsa") return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  if (type === "ed25519") return { name: "Ed25519" };
  if (type === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
    const namedCurve = EC_CURVES[curve];
    if (namedCurve) return { name: "ECDSA", namedCurve, hash: EC_HASHES[curve]! };
    throw new PkiError(
      "PKI_BAD_KEY",
      `ECDSA keys on curve ${curve || "(unknown)"} are not supported; use P-256, P-384 or P-521`,
    );
  }
  throw new PkiError(
    "PKI_BAD_KEY",
    `${type ?? "unknown"} keys are not supported; use an RSA, ECDSA or Ed25519 key`,
  );
}

/** Quotes a value for an X.500 name (commas, plus signs and the like). */
function rdn(value: string): string {
  return /[,+"\\<>;=]/.test(value) ? `"${value.replace(/["\\]/g, "\\$&")}"` : value;
}

/** Makes a new self-signed CA. */
export async function createCa(
  options: { commonName?: string; validDays?: number; now?: Date } = {},
): Promise<CertificateAndKey> {
  const now = options.now ?? new Date();
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${rdn(options.commonName ?? "MicroOVN CA")}, O=MicroOVN`,
    notBefore: now,
    notAfter: new Date(now.getTime() + (options.validDays ?? CA_VALID_DAYS) * DAY_MS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKey(keys.privateKey) };
}

export interface IssueOptions {
  ca: CertificateAndKey;
  /** The member the certificate belongs to (CN, and a DNS name in subjectAltName). */
  member: string;
  /** The service, e.g. "ovnnb" (OU). */
  service: string;
  /** Addresses of the member, put in subjectAltName (IPs as IP entries, names as DNS). */
  addresses?: readonly string[];
  validDays?: number;
  now?: Date;
}

/** Issues a certificate usable for TLS as server and client (OVSDB and Raft need both). */
export async function issueCertificate(options: IssueOptions): Promise<CertificateAndKey> {
  const keys = await newKeys();
  const certPem = await certify(options, keys.publicKey);
  return { certPem, keyPem: await exportKey(keys.privateKey) };
}

/** A certificate signing request and the private key it was made for, both PEM. */
export interface SigningRequest {
  csrPem: string;
  keyPem: string;
}

/** Makes a key pair and a CSR for it (the private key never leaves the member that made it). */
export async function createSigningRequest(
  member: string,
  service: string,
): Promise<SigningRequest> {
  const keys = await newKeys();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${rdn(member)}, OU=${rdn(service)}, O=MicroOVN`,
    keys,
    signingAlgorithm: ALGORITHM,
  });
  return { csrPem: csr.toString("pem"), keyPem: await exportKey(keys.privateKey) };
}

/**
 * Signs a CSR's public key once the CSR proves possession of the private
 * key. Subject and subjectAltName come from `options`, never from the CSR:
 * the signer decides what the certificate says.
 */
export async function signRequest(options: IssueOptions & { csrPem: string }): Promise<string> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(options.csrPem);
  } catch (e) {
    throw new PkiError("PKI_BAD_CSR", `not a PEM certificate request: ${(e as Error).message}`);
  }
  if (!(await csr.verify().catch(() => false))) {
    throw new PkiError("PKI_BAD_CSR", "the certificate request's signature does not verify");
  }
  return certify(options, csr.publicKey);
}

async function certify(
  options: IssueOptions,
  publicKey: CryptoKey | x509.PublicKey,
): Promise<string> {
  const now = options.now ?? new Date();
  const ca = new x509.X509Certificate(options.ca.certPem);
  const signer = await importSigningKey(options.ca.keyPem);
  const names: x509.JsonGeneralName[] = [{ type: "dns", value: options.member }];
  for (const address of options.addresses ?? []) {
    names.push(isIP(address) ? { type: "ip", value: address } : { type: "dns", value: address });
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${rdn(options.member)}, OU=${rdn(options.service)}, O=MicroOVN`,
    issuer: ca.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + (options.validDays ?? SERVICE_VALID_DAYS) * DAY_MS),
    publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return cert.toString("pem");
}

export interface CertificateInfo {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  dnsNames: string[];
  ipAddresses: string[];
  /** SHA-256 of the DER encoding, lowercase hex. */
  fingerprint: string;
}

export async function inspectCertificate(certPem: string): Promise<CertificateInfo> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (e) {
    throw new PkiError("PKI_BAD_PEM", `not a PEM certificate: ${(e as Error).message}`);
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  const json = san?.names.toJSON() ?? [];
  const digest = await cert.getThumbprint("SHA-256");
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: basic?.ca ?? false,
    dnsNames: json.filter((n) => n.type === "dns").map((n) => n.value),
    ipAddresses: json.filter((n) => n.type === "ip").map((n) => n.value),
    fingerprint: Buffer.from(digest).toString("hex"),
  };
}

/** Whether `certPem` was signed by the CA and is valid at `now`. */
export async function isIssuedBy(
  certPem: string,
  caPem: string,
  now = new Date(),
): Promise<boolean> {
  const cert = new x509.X509Certificate(certPem);
  const ca = new x509.X509Certificate(caPem);
  if (cert.issuer !== ca.subject) return false;
  return cert.verify({ publicKey: ca.publicKey, date: now });
}

/** A CA given from outside (`certificates set-ca`), checked and ready to store. */
export interface ExternalCa extends CertificateAndKey {
  subject: string;
  notAfter: Date;
  keyType: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[^-]+-----END \1-----/g;

/** Splits one PEM text (`set-ca --combined`) into its certificate and private key. */
export function splitCombinedPem(text: string): { certPem: string; keyPem: string } {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const certs = blocks.filter((b) => b[1] === "CERTIFICATE");
  const keys = blocks.filter((b) => b[1]!.endsWith("PRIVATE KEY"));
  if (certs.length !== 1 || keys.length !== 1) {
    throw new PkiError(
      "PKI_BAD_PEM",
      `expected one CERTIFICATE and one PRIVATE KEY block, found ${certs.length} ` +
        `certificate(s) and ${keys.length} private key(s)`,
    );
  }
  return { certPem: `${certs[0]![0]}\n`, keyPem: `${keys[0]![0]}\n` };
}

/**
 * Checks a CA certificate and key before the cluster uses them: one
 * certificate, a CA (basicConstraints CA:TRUE) allowed to sign certificates
 * (keyUsage keyCertSign), valid now, whose public key belongs to the
 * private key, of a type we can sign with. Every refusal says why.
 */
export async function checkExternalCa(
  ca: { certPem: string; keyPem: string },
  now = new Date(),
): Promise<ExternalCa> {
  const certBlocks = splitCertificates(ca.certPem);
  if (certBlocks.length !== 1) {
    throw new PkiError(
      "PKI_BAD_PEM",
      `the certificate file must hold exactly one PEM CERTIFICATE, it holds ${certBlocks.length}`,
    );
  }
  const certPem = certBlocks[0]!;
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (e) {
    throw new PkiError("PKI_BAD_PEM", `not a PEM certificate: ${(e as Error).message}`);
  }
  const basic = cert.getExtension(x509.BasicConstraintsExtension);
  if (!basic?.ca) {
    throw new PkiError(
      "PKI_NOT_A_CA",
      `${cert.subject} is not a CA certificate (basicConstraints CA:TRUE is missing)`,
    );
  }
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  if (!usage || (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new PkiError(
      "PKI_NOT_A_CA",
      `${cert.subject} may not sign certificates (keyUsage keyCertSign is missing)`,
    );
  }
  if (cert.notAfter.getTime() <= now.getTime() || cert.notBefore.getTime() > now.getTime()) {
    throw new PkiError(
      "PKI_CA_NOT_VALID_NOW",
      `${cert.subject} is valid from ${cert.notBefore.toISOString()} to ` +
        `${cert.notAfter.toISOString()}, not now`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(ca.keyPem);
  } catch (e) {
    throw new PkiError("PKI_BAD_KEY", `not a PEM private key: ${(e as Error).message}`);
  }
  if (!certificateMatchesKey(certPem, ca.keyPem)) {
    throw new PkiError(
      "PKI_KEY_MISMATCH",
      `the private key does not belong to ${cert.subject}: their public keys differ`,
    );
  }
  await importSigningKey(ca.keyPem);
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return {
    certPem,
    keyPem,
    subject: cert.subject,
    notAfter: cert.notAfter,
    keyType: privateKey.asymmetricKeyType ?? "unknown",
  };
}
