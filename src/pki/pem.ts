/**
 * What a PEM text holds, read with Node's own parser: expiry, fingerprint,
 * the certificates of a bundle. The files (store.ts) and the X.509 side
 * (x509.ts) both need it; apart from both, it keeps the X.509 library (and
 * its memory) out of a daemon that only checks certificates.
 */
import { X509Certificate } from "node:crypto";

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
