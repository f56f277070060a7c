/**
 * The certificates of one member on disk, in MicroOVN's layout:
 * DIR/data/pki/cacert.pem, <service>-cert.pem and <service>-privkey.pem.
 * Private keys are 0600; every file is replaced atomically (write, then
 * rename), so a process reading it never sees half a file.
 */
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { TlsFiles } from "../ovsdb/client/connection.js";
import { pathExists, writeAtomically } from "../util/fs.js";
import { X509Certificate } from "node:crypto";
import type { CertificateAndKey } from "./x509.js";

/** Services that get a certificate, with the titles `certificates list` shows. */
export const CERTIFICATE_SERVICES = {
  ovnnb: "OVN Northbound Service",
  ovnsb: "OVN Southbound Service",
  "ovn-northd": "OVN Northd Service",
  "ovn-controller": "OVN Chassis Service",
  client: "OVN Client Tools",
  microovn: "MicroOVN Member API",
} as const;

export type CertificateService = keyof typeof CERTIFICATE_SERVICES;

export function isCertificateService(name: string): name is CertificateService {
  return Object.hasOwn(CERTIFICATE_SERVICES, name);
}

export interface CertificateFileStatus {
  path: string;
  present: boolean;
}

export interface CertificateStatus {
  /** "ca" or a service name. */
  name: "ca" | CertificateService;
  title: string;
  cert: CertificateFileStatus & { notAfter?: Date; problem?: string };
  /** Absent for the CA on members that do not hold its key. */
  key?: CertificateFileStatus;
}

/**
 * When a PEM certificate expires. Node's own parser is enough here, which
 * keeps the X.509 library (and its memory) out of a daemon that only checks.
 */
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

export class PkiStore {
  constructor(readonly dir: string) {}

  get caCertPath(): string {
    return join(this.dir, "cacert.pem");
  }

  get caKeyPath(): string {
    return join(this.dir, "cacert-privkey.pem");
  }

  certPath(service: CertificateService): string {
    return join(this.dir, `${service}-cert.pem`);
  }

  keyPath(service: CertificateService): string {
    return join(this.dir, `${service}-privkey.pem`);
  }

  /** The files an OVSDB client or server of `service` is given. */
  tlsFiles(service: CertificateService): TlsFiles {
    return {
      privateKey: this.keyPath(service),
      certificate: this.certPath(service),
      caCert: this.caCertPath,
    };
  }

  /** Stores the CA certificate, and its key when given (voters only). */
  async writeCa(ca: { certPem: string; keyPem?: string }): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    if (ca.keyPem !== undefined) await writeAtomically(this.caKeyPath, ca.keyPem, 0o600);
    await writeAtomically(this.caCertPath, ca.certPem, 0o644);
  }

  /** The CA with its key, or undefined when this member does not hold the key. */
  async readCa(): Promise<CertificateAndKey | undefined> {
    try {
      return {
        certPem: await readFile(this.caCertPath, "utf8"),
        keyPem: await readFile(this.caKeyPath, "utf8"),
      };
    } catch {
      return undefined;
    }
  }

  async writeService(service: CertificateService, pair: CertificateAndKey): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    // Key first: a new certificate must never sit next to an old key.
    await writeAtomically(this.keyPath(service), pair.keyPem, 0o600);
    await writeAtomically(this.certPath(service), pair.certPem, 0o644);
  }

  async readCert(path: string): Promise<string | undefined> {
    try {
      return await readFile(path, "utf8");
    } catch {
      return undefined;
    }
  }

  /** Presence and expiry of the CA and the given services' files. */
  async status(services: readonly CertificateService[]): Promise<CertificateStatus[]> {
    const out: CertificateStatus[] = [];
    const describe = async (path: string) => {
      const pem = await this.readCert(path);
      if (pem === undefined) return { path, present: false };
      try {
        return { path, present: true, notAfter: certificateExpiry(pem) };
      } catch (e) {
        return { path, present: true, problem: (e as Error).message };
      }
    };
    const ca: CertificateStatus = {
      name: "ca",
      title: "OVN CA",
      cert: await describe(this.caCertPath),
    };
    if (await pathExists(this.caKeyPath)) ca.key = { path: this.caKeyPath, present: true };
    out.push(ca);
    for (const service of services) {
      out.push({
        name: service,
        title: CERTIFICATE_SERVICES[service],
        cert: await describe(this.certPath(service)),
        key: { path: this.keyPath(service), present: await pathExists(this.keyPath(service)) },
      });
    }
    return out;
  }

  /** Names whose certificate is missing, unreadable, or expires within `withinDays`. */
  async renewalsDue(
    services: readonly CertificateService[],
    withinDays = 10,
    now = new Date(),
  ): Promise<("ca" | CertificateService)[]> {
    const limit = now.getTime() + withinDays * 24 * 60 * 60 * 1000;
    return (await this.status(services))
      .filter(
        (s) => !s.cert.present || s.cert.problem || (s.cert.notAfter?.getTime() ?? 0) <= limit,
      )
      .map((s) => s.name);
  }
}
