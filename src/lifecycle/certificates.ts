/**
 * Issuing this member's certificates from the cluster CA: at bootstrap, on
 * `certificates reissue`, on `enable`, and from the daemon's daily renewal
 * check. Voters hold the CA key and sign for themselves and for the others,
 * who send certificate requests over the member API; private keys never
 * leave the member they belong to.
 * Running programs pick new files up on their next connection; existing
 * connections keep working.
 */
import { callAnyVoter } from "../cluster/member-client.js";
import { memberStatus, type MemberRow } from "../cluster/members.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import type { ServiceName } from "../member/config.js";
import {
  CERTIFICATE_SERVICES,
  isCertificateService,
  type CaOrigin,
  type CertificateService,
} from "../pki/store.js";
import { certificateMatchesKey, type CertificateAndKey } from "../pki/pem.js";
import { OPENSTACK_API_PROCESS } from "../openstack/service.js";

/** The certificates a member running `services` needs. */
export function certificateServices(services: readonly ServiceName[]): CertificateService[] {
  const out: CertificateService[] = [];
  if (services.includes("central")) out.push("ovnnb", "ovnsb", "ovn-northd");
  if (services.includes("chassis")) out.push("ovn-controller");
  out.push("client", "microovn");
  if (services.includes("openstack-api")) out.push("openstack-api");
  return out;
}

/**
 * The OpenStack API service reads its certificate and key again on SIGHUP,
 * keeping its ports open; the OVN programs need nothing, they read theirs
 * on each new connection.
 */
export function certificatesChanged(
  rt: MemberRuntime,
  services: readonly CertificateService[],
): void {
  if (services.includes("openstack-api")) rt.supervisor.signal(OPENSTACK_API_PROCESS, "SIGHUP");
}

/**
 * Those of `services` whose certificate the cluster issues: renewal, `reissue
 * all` and CA changes leave a certificate an operator brought alone.
 */
export async function clusterIssued(
  rt: MemberRuntime,
  services: readonly CertificateService[],
): Promise<CertificateService[]> {
  const origins = await Promise.all(services.map((s) => rt.pki.serviceOrigin(s)));
  return services.filter((_, i) => origins[i] === "generated");
}

export type CertificateRequests = Partial<Record<CertificateService, string>>;
export type SignedCertificates = Partial<Record<CertificateService, string>>;

/**
 * `{ "ovnnb": "-----BEGIN …", … }` from a request body's `field`: PEM
 * certificate requests or certificates, by certificate name.
 */
export function parsePemsByService(
  body: Record<string, unknown>,
  field: string,
): Partial<Record<CertificateService, string>> {
  const given = body[field];
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new MicroOvnError("BAD_REQUEST", `"${field}" must map certificate names to PEM`);
  }
  const pems: Partial<Record<CertificateService, string>> = {};
  for (const [service, pem] of Object.entries(given)) {
    if (!isCertificateService(service) || typeof pem !== "string") {
      throw new MicroOvnError("BAD_REQUEST", `"${field}" has a bad entry "${service}"`);
    }
    pems[service] = pem;
  }
  return pems;
}

/**
 * The signer's side (a voter, holding the CA key): certificates for
 * `member`, whose name and address come from the cluster, never from the
 * requests.
 */
export async function signForMember(
  ca: CertificateAndKey,
  member: { name: string; address: string },
  requests: CertificateRequests,
): Promise<SignedCertificates> {
  const { signRequest } = await import("../pki/x509.js");
  const signed: SignedCertificates = {};
  for (const [service, csrPem] of Object.entries(requests) as [CertificateService, string][]) {
    signed[service] = await signRequest({
      ca,
      csrPem,
      member: member.name,
      service,
      addresses: [member.address],
    });
  }
  return signed;
}

/** A key pair and a CSR per service; the keys never leave this member. */
export async function makeRequests(
  member: string,
  services: readonly CertificateService[],
): Promise<{ requests: CertificateRequests; keys: Partial<Record<CertificateService, string>> }> {
  const { createSigningRequest } = await import("../pki/x509.js");
  const made = await Promise.all(services.map((s) => createSigningRequest(member, s)));
  const requests: CertificateRequests = {};
  const keys: Partial<Record<CertificateService, string>> = {};
  for (const [i, service] of services.entries()) {
    requests[service] = made[i]!.csrPem;
    keys[service] = made[i]!.keyPem;
  }
  return { requests, keys };
}

/**
 * Stores signed certificates with their keys, after checking that each
 * certificate is for its key: a signer cannot slip in a certificate for a
 * key this member does not hold.
 */
export async function installCertificates(
  rt: MemberRuntime,
  keys: Partial<Record<CertificateService, string>>,
  signed: SignedCertificates,
): Promise<CertificateService[]> {
  const services = Object.keys(keys) as CertificateService[];
  for (const service of services) {
    const certPem = signed[service];
    if (certPem === undefined || !certificateMatchesKey(certPem, keys[service]!)) {
      throw new MicroOvnError(
        "BAD_SIGNED_CERTIFICATE",
        `the signer gave back no certificate for this member's ${service} key`,
      );
    }
  }
  for (const service of services) {
    await rt.pki.writeService(service, { certPem: signed[service]!, keyPem: keys[service]! });
  }
  certificatesChanged(rt, services);
  return services;
}

/**
 * New certificates for this member's `services`: signed here when this
 * member holds the CA key (a voter), else by a voter over the member API.
 */
export async function issueCertificates(
  rt: MemberRuntime,
  services: readonly CertificateService[],
): Promise<void> {
  const config = rt.requireConfig();
  const ca = await rt.pki.readCa();
  if (!ca && rt.layout.members.length <= 1) {
    throw new MicroOvnError(
      "CA_KEY_MISSING",
      `the CA key ${rt.pki.caKeyPath} is missing, so certificates cannot be issued here`,
    );
  }
  if (ca) {
    const { issueCertificate } = await import("../pki/x509.js");
    const issued = await Promise.all(
      services.map((service) =>
        issueCertificate({ ca, member: config.name, service, addresses: [config.address] }),
      ),
    );
    for (const [i, service] of services.entries()) await rt.pki.writeService(service, issued[i]!);
    certificatesChanged(rt, services);
    return;
  }
  const { requests, keys } = await makeRequests(config.name, services);
  const { certificates } = await callAnyVoter<{ certificates: SignedCertificates }>(
    rt.layout,
    config.name,
    "/pki/sign",
    { requests },
    rt.pki,
    "sign this member's certificates",
  );
  await installCertificates(rt, keys, certificates);
}

/** `certificates reissue SERVICE|all`: returns what was reissued. */
export async function reissueCertificates(
  rt: MemberRuntime,
  which: string,
): Promise<CertificateService[]> {
  const used = certificateServices(rt.requireConfig().services);
  let services: CertificateService[];
  if (which === "all") {
    services = await clusterIssued(rt, used);
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

/** Certificates (and a CA the cluster made) are replaced this long before they expire. */
export const RENEWAL_DAYS = 10;

/** Reissues whatever is missing or expires within `withinDays`; returns what was renewed. */
export async function renewDueCertificates(
  rt: MemberRuntime,
  withinDays = RENEWAL_DAYS,
  now = new Date(),
): Promise<CertificateService[]> {
  if (!rt.config) return [];
  const due = (
    await rt.pki.renewalsDue(
      await clusterIssued(rt, certificateServices(rt.config.services)),
      withinDays,
      now,
    )
  ).filter((name): name is CertificateService => name !== "ca");
  if (due.length > 0) await issueCertificates(rt, due);
  return due;
}

/** What the daily check does about the cluster CA. */
export type CaRenewal = "none" | "regenerate" | "warn";

/**
 * A CA that expires within the renewal window is replaced only when the
 * cluster made it, and then by one member only: the first online voter by
 * name. An external CA is the operator's to replace; members warn.
 */
export function caRenewal(
  due: boolean,
  origin: CaOrigin,
  self: string,
  members: readonly Pick<MemberRow, "name" | "role" | "heartbeat">[],
  now = Date.now(),
): CaRenewal {
  if (!due) return "none";
  if (origin === "external") return "warn";
  const first = members
    .filter((m) => m.role === "voter" && memberStatus(m, now) === "ONLINE")
    .map((m) => m.name)
    .sort()[0];
  return first === self ? "regenerate" : "none";
}
