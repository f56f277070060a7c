/**
 * Issuing this member's certificates from the cluster CA: at bootstrap, on
 * `certificates reissue`, and from the daemon's daily renewal check.
 * Running programs pick new files up on their next connection; existing
 * connections keep working.
 */
import type { MemberRuntime } from "../daemon/runtime.js";
import { MicroOvnError } from "../errors.js";
import type { ServiceName } from "../member/config.js";
import {
  CERTIFICATE_SERVICES,
  isCertificateService,
  type CertificateService,
} from "../pki/store.js";

/** The certificates a member running `services` needs. */
export function certificateServices(services: readonly ServiceName[]): CertificateService[] {
  const out: CertificateService[] = [];
  if (services.includes("central")) out.push("ovnnb", "ovnsb", "ovn-northd");
  if (services.includes("chassis")) out.push("ovn-controller");
  out.push("client", "microovn");
  return out;
}

export async function issueCertificates(
  rt: MemberRuntime,
  services: readonly CertificateService[],
): Promise<void> {
  const config = rt.requireConfig();
  const ca = await rt.pki.readCa();
  if (!ca) {
    throw new MicroOvnError(
      "CA_KEY_MISSING",
      `the CA key ${rt.pki.caKeyPath} is missing, so certificates cannot be issued here`,
    );
  }
  // Loaded on first use: an idle daemon does not need the X.509 library in memory.
  const { issueCertificate } = await import("../pki/x509.js");
  const issued = await Promise.all(
    services.map((service) =>
      issueCertificate({ ca, member: config.name, service, addresses: [config.address] }),
    ),
  );
  for (const [i, service] of services.entries()) await rt.pki.writeService(service, issued[i]!);
}

/** `certificates reissue SERVICE|all`: returns what was reissued. */
export async function reissueCertificates(
  rt: MemberRuntime,
  which: string,
): Promise<CertificateService[]> {
  const used = certificateServices(rt.requireConfig().services);
  let services: CertificateService[];
  if (which === "all") {
    services = used;
  } else if (!isCertificateService(which)) {
    throw new MicroOvnError(
      "UNKNOWN_CERTIFICATE",
      `"${which}" is not a certificate; choose one of ${Object.keys(CERTIFICATE_SERVICES).join(", ")} or all`,
    );
  } else if (!used.includes(which)) {
    throw new MicroOvnError(
      "SERVICE_NOT_ENABLED",
      `this member does not run the service that uses the ${which} certificate ` +
        `(it uses ${used.join(", ")})`,
    );
  } else {
    services = [which];
  }
  await issueCertificates(rt, services);
  return services;
}

/** Reissues whatever is missing or expires within `withinDays`; returns what was renewed. */
export async function renewDueCertificates(
  rt: MemberRuntime,
  withinDays = 10,
  now = new Date(),
): Promise<CertificateService[]> {
  if (!rt.config) return [];
  const due = (
    await rt.pki.renewalsDue(certificateServices(rt.config.services), withinDays, now)
  ).filter((name): name is CertificateService => name !== "ca");
  if (due.length > 0) await issueCertificates(rt, due);
  return due;
}
