/**
 * What a PEM text holds, read with Node's own parser: expiry, fingerprint,
 * the certificates of a bundle. The files (store.ts) and the X.509 side
 * (x509.ts) both need it; apart from both, it keeps the X.509 library (and
 * its memory) out of a daemon that only checks certificates.
 */
import { X509Certificate, createPrivateKey } from "node:crypto";
import { MicroOvnError } from "../errors.js";

/** A certificate and its private key, both PEM. */
export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

/** When a PEM certificate expires. */
export function certificateExpiry(pem: string): Date {
  const notAfter = new Date(new X509Certificate(pem).validTo);
  if (Number.isNaN(notAfter.getTime())) throw new Error("the certificate has no readable expiry");
  return notAfter;
}

/** Who a certificate names and who signed it, as `certificates list -f json` shows them. */
export interface CertificateNames {
  /** "CN=name, O=org": the subject's fields, in their order. */
  subject: string;
  issuer: string;
  /** subjectAltName entries: "DNS:name", "IP:address". */
  sans: string[];
  /** SHA-256 of the DER encoding, lowercase hex. */
  fingerprint: string;
}

export function certificateNames(pem: string): CertificateNames {
  const cert = new X509Certificate(pem);
  const oneLine = (name: string) => name.split("\n").filter(Boolean).join(", ");
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    sans: (cert.subjectAltName ?? "")
      .split(", ")
      .filter(Boolean)
      .map((san) => san.replace(/^IP Address:/, "IP:")),
    fingerprint: hexFingerprint(cert.fingerprint256),
  };
}

/** "AB:CD:…", as Node prints certificate fingerprints → "abcd…", as we store them. */
export function hexFingerprint(fingerprint: string): string {
  return fingerprint.replaceAll(":", "").toLowerCase();
}

/** SHA-256 of a PEM certificate's DER encoding, lowercase hex. */
export function certificateFingerprint(pem: string): string {
  return hexFingerprint(new X509Certificate(pem).fingerprint256);
}

/** The PEM certificates in a text, each with its own trailing newline. */
export function splitCertificates(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)].map(
    (m) => `${m[0]}\n`,
  );
}

/** Whether the PEM certificate is for the PEM private key. */
export function certificateMatchesKey(certPem: string, keyPem: string): boolean {
  try {
    return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
  } catch {
    return false;
  }
}

/** What an operator's server certificate says, once checked. */
export interface OperatorCertificate {
  subject: string;
  subjectAltName: string | undefined;
  notAfter: Date;
}

/**
 * Checks a server certificate an operator brings (the service's certificate
 * first, then any intermediates) and its private key: readable, the key is
 * the certificate's, valid now, and not a CA.
 */
export function checkOperatorCertificate(
  { certPem, keyPem }: CertificateAndKey,
  now = new Date(),
): OperatorCertificate {
  const bad = (what: string) =>
    new MicroOvnError("BAD_CERTIFICATE", `${what}; nothing was changed`);
  const [first] = splitCertificates(certPem);
  if (first === undefined) {
    throw bad("the certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(first);
  } catch (e) {
    throw bad(`the certificate cannot be read (${(e as Error).message}); give it as PEM`);
  }
  try {
    createPrivateKey(keyPem);
  } catch (e) {
    throw bad(`the key cannot be read (${(e as Error).message}); give an unencrypted PEM key`);
  }
  if (!certificateMatchesKey(first, keyPem)) {
    throw bad(
      "the key is not the certificate's (the first certificate in the file); give its pair",
    );
  }
  if (cert.ca) {
    throw bad("the certificate is a CA certificate; give the server's own certificate first");
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now < notBefore) {
    throw bad(`the certificate is not valid before ${notBefore.toISOString()}`);
  }
  if (now > notAfter) {
    throw bad(`the certificate expired on ${notAfter.toISOString()}; give a current one`);
  }
  return {
    subject: cert.subject.replaceAll("\n", ", "),
    subjectAltName: cert.subjectAltName,
    notAfter,
  };
}
