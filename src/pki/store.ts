/**
 * The certificates of one member on disk, in MicroOVN's layout:
 * DIR/data/pki/cacert.pem, <service>-cert.pem and <service>-privkey.pem.
 * Private keys are 0600; every file is replaced atomically (write, then
 * rename), so a process reading it never sees half a file.
 */
import { mkdir, readFile, rename, rm } from "node:fs/promises";
import { MicroOvnError } from "../errors.js";
import { join } from "node:path";
import type { TlsFiles } from "../ovsdb/client/connection.js";
import { pathExists, writeAtomically } from "../util/fs.js";
import {
  certificateExpiry,
  certificateFingerprint,
  splitCertificates,
  certificateNames,
  type CertificateAndKey,
  type CertificateNames,
} from "./pem.js";

/** Services that get a certificate, with the titles `certificates list` shows. */
export const CERTIFICATE_SERVICES = {
  ovnnb: "OVN Northbound Service",
  ovnsb: "OVN Southbound Service",
  "ovn-northd": "OVN Northd Service",
  "ovn-controller": "OVN Chassis Service",
  client: "OVN Client Tools",
  microovn: "MicroOVN Member API",
  "openstack-api": "OpenStack API Service",
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
  cert: CertificateFileStatus & { notAfter?: Date; problem?: string } & Partial<CertificateNames>;
  /** Absent for the CA on members that do not hold its key. */
  key?: CertificateFileStatus;
}

export type CaOrigin = "generated" | "external";

function sameCertificate(a: string, b: string): boolean {
  try {
    return certificateFingerprint(a) === certificateFingerprint(b);
  } catch {
    return false;
  }
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
      // While the CA changes, the file holds the old and the new CA: the first signs.
      const [certPem] = splitCertificates(await readFile(this.caCertPath, "utf8"));
      if (certPem === undefined) return undefined;
      return { certPem, keyPem: await readFile(this.caKeyPath, "utf8") };
    } catch {
      return undefined;
    }
  }

  /** Where a new CA's key waits (voters only) while the cluster moves to that CA. */
  get stagedCaKeyPath(): string {
    return join(this.dir, "cacert-privkey.pem.next");
  }

  /** Whether the cluster CA was made by the cluster ("generated") or brought in ("external"). */
  get caOriginPath(): string {
    return join(this.dir, "ca-origin");
  }

  /** Every CA certificate this member trusts (more than one while the CA changes). */
  async trustedCas(): Promise<string[]> {
    const pem = await this.readCert(this.caCertPath);
    return pem === undefined ? [] : splitCertificates(pem);
  }

  /** Whether `certPem` is among the CAs this member trusts. */
  async trusts(certPem: string): Promise<boolean> {
    return (await this.trustedCas()).some((c) => sameCertificate(c, certPem));
  }

  /**
   * Trusts `certPem` besides the CAs trusted now (the current one stays
   * first, so it keeps signing); a voter also keeps the new CA's key aside.
   */
  async addTrustedCa(certPem: string, keyPem?: string): Promise<void> {
    const current = await this.trustedCas();
    const bundle = (await this.trusts(certPem))
      ? current
      : [...current, ...splitCertificates(certPem)];
    if (keyPem !== undefined) await writeAtomically(this.stagedCaKeyPath, keyPem, 0o600);
    await writeAtomically(this.caCertPath, bundle.join(""), 0o644);
  }

  /**
   * Makes `certPem` the only CA (it must be trusted already), with the key
   * kept aside for it, if this member got one.
   */
  async commitCa(certPem: string, origin: CaOrigin): Promise<void> {
    if (!(await this.trusts(certPem))) {
      throw new MicroOvnError(
        "CA_NOT_STAGED",
        "this member was not told to trust the new CA first; run the CA change again",
      );
    }
    if (await pathExists(this.stagedCaKeyPath)) {
      await rename(this.stagedCaKeyPath, this.caKeyPath);
    }
    await writeAtomically(this.caCertPath, splitCertificates(certPem).join(""), 0o644);
    await writeAtomically(this.caOriginPath, `${origin}\n`, 0o644);
  }

  async caOrigin(): Promise<CaOrigin> {
    const text = await this.readCert(this.caOriginPath);
    return text?.trim() === "external" ? "external" : "generated";
  }

  /** Marks a service certificate an operator brought, which the cluster leaves alone. */
  serviceOriginPath(service: CertificateService): string {
    return join(this.dir, `${service}-origin`);
  }

  /** Whether the service's certificate came from the cluster CA or from the operator. */
  async serviceOrigin(service: CertificateService): Promise<CaOrigin> {
    const text = await this.readCert(this.serviceOriginPath(service));
    return text?.trim() === "external" ? "external" : "generated";
  }

  async writeService(
    service: CertificateService,
    pair: CertificateAndKey,
    origin: CaOrigin = "generated",
  ): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    // Certificate first. The OVS programs (ovsdb-server, ovn-northd,
    // ovn-controller) look at the key's mtime first and at the certificate's
    // only when the key changed: if they looked between a new key and its
    // certificate, they would take neither and keep serving the old pair for
    // good. A new certificate next to the old key is just skipped until the
    // key follows (in the recover test, NB's ovsdb-server went on presenting
    // its old-CA certificate after the CA change, now and then).
    await writeAtomically(this.certPath(service), pair.certPem, 0o644);
    await writeAtomically(this.keyPath(service), pair.keyPem, 0o600);
    if (origin === "external") {
      await writeAtomically(this.serviceOriginPath(service), "external\n", 0o644);
    } else {
      await rm(this.serviceOriginPath(service), { force: true });
    }
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
        return { path, present: true, notAfter: certificateExpiry(pem), ...certificateNames(pem) };
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
