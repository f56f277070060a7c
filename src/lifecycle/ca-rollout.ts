/**
 * Changing the cluster CA (`certificates regenerate-ca`, `certificates
 * set-ca`, and the automatic renewal of a CA the cluster made) without
 * stopping anything. A voter coordinates; every member goes through three
 * steps, each finished on all members before the next begins:
 *
 *  1. trust: the new CA is added to the member's CA file (old and new both
 *     trusted); voters also get the new CA key, kept aside.
 *  2. reissue: the member makes a key pair and a request per certificate,
 *     the coordinator signs them with the new CA, the member installs them
 *     and records its new API fingerprint.
 *  3. commit: the new CA becomes the only one trusted (the old CA is refused
 *     from then on), voters swap in the new key, and the member's OVSDB
 *     servers drop their client connections so every client reconnects at
 *     once with the new files.
 *
 * ovsdb-server, ovn-northd and ovn-controller read their key, certificate
 * and CA files again for every new connection, and a change of files never
 * ends a connection, so nothing is restarted and the data plane forwards
 * throughout. Because every member trusts both CAs before any member
 * presents a new certificate, a connection made at any moment in between
 * succeeds. A step that fails stops the change with the member and step
 * named; running the command again starts over with a new CA.
 */
import { setTimeout as delay } from "node:timers/promises";
import { voters } from "../cluster/layout.js";
import { callAnyVoter, callMember, joinHostPort } from "../cluster/member-client.js";
import { memberStatus, type MemberRow } from "../cluster/members.js";
import { recordMember } from "../membership/member-row.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import { run } from "../process/run.js";
import type { CaOrigin, CertificateService } from "../pki/store.js";
import type { CertificateAndKey } from "../pki/pem.js";
import {
  certificateServices,
  clusterIssued,
  installCertificates,
  makeRequests,
  signForMember,
  type CertificateRequests,
  type SignedCertificates,
} from "./certificates.js";

/** Calls to a member that just changed its certificate may be refused until its row is seen. */
const REFUSED_RETRY_MS = 15_000;

export interface RolloutResult {
  /** The new CA's subject and expiry. */
  subject: string;
  notAfter: string;
  origin: CaOrigin;
  /** Members in the order they were moved to the new CA. */
  members: string[];
}

/** How long a whole CA change may take (every member, three steps). */
export const CA_CHANGE_TIMEOUT_MS = 300_000;

/** Keys made for step 2, until the signed certificates come back. */
const pendingKeys = new WeakMap<MemberRuntime, Partial<Record<CertificateService, string>>>();

// ---- A member's side of each step ----

/** Step 1: trust the new CA besides the current one. */
export async function trustNewCa(
  rt: MemberRuntime,
  certPem: string,
  keyPem: string | undefined,
): Promise<void> {
  const { inspectCertificate } = await import("../pki/x509.js");
  if (!(await inspectCertificate(certPem)).isCa) {
    throw new MicroOvnError("PKI_NOT_A_CA", "the certificate to trust is not a CA certificate");
  }
  await rt.pki.addTrustedCa(certPem, rt.isVoter() ? keyPem : undefined);
  await rt.tlsChanged();
}

/** Step 2a: a request for every certificate this member uses (keys stay here). */
export async function requestCertificates(rt: MemberRuntime): Promise<CertificateRequests> {
  const config = rt.requireConfig();
  const { requests, keys } = await makeRequests(
    config.name,
    await clusterIssued(rt, certificateServices(config.services)),
  );
  pendingKeys.set(rt, keys);
  return requests;
}

/** Step 2b: installs what the coordinator signed, checked against the CA named. */
export async function installReissued(
  rt: MemberRuntime,
  signed: SignedCertificates,
  caPem: string,
): Promise<void> {
  const keys = pendingKeys.get(rt);
  if (!keys) {
    throw new MicroOvnError(
      "NO_PENDING_REQUESTS",
      "this member has no certificate requests waiting; run the CA change again",
    );
  }
  const { isIssuedBy } = await import("../pki/x509.js");
  if (!(await rt.pki.trusts(caPem))) {
    throw new MicroOvnError("CA_NOT_STAGED", "the new CA is not trusted here yet (step 1 missing)");
  }
  for (const pem of Object.values(signed)) {
    if (!(await isIssuedBy(pem, caPem))) {
      throw new MicroOvnError(
        "BAD_SIGNED_CERTIFICATE",
        "a certificate was not issued by the new CA",
      );
    }
  }
  await installCertificates(rt, keys, signed);
  pendingKeys.delete(rt);
  await rt.tlsChanged();
  await recordMember(rt);
}

/** Step 3: the new CA only; clients of this member's OVSDB servers reconnect with new files. */
export async function commitNewCa(
  rt: MemberRuntime,
  certPem: string,
  origin: CaOrigin,
): Promise<void> {
  await rt.pki.commitCa(certPem, origin);
  await rt.tlsChanged();
  const servers: [process: string, controlSocket: string][] = [];
  if (rt.isVoter()) servers.push(["ovsdb-server-state", rt.stateDb().controlSocket]);
  if (rt.requireConfig().services.includes("central")) {
    const central = rt.central();
    servers.push(["ovsdb-server-nb", central.controlSocket("nb")]);
    servers.push(["ovsdb-server-sb", central.controlSocket("sb")]);
  }
  for (const [process, socket] of servers) {
    if (!rt.supervisor.get(process)) continue;
    await run("ovs-appctl", ["-T", "5", "-t", socket, "ovsdb-server/reconnect"], {
      allowFailure: true,
    });
  }
}

// ---- The coordinator ----

/**
 * Moves every member to `ca` (see the top of this file). Runs on a voter;
 * every member must be online, so that none is left trusting only the old
 * CA.
 */
export async function rolloutCa(
  rt: MemberRuntime,
  rows: readonly MemberRow[],
  ca: CertificateAndKey,
  origin: CaOrigin,
  log: (message: string) => void,
): Promise<RolloutResult> {
  const self = rt.requireConfig().name;
  if (!(await rt.pki.readCa())) {
    throw new MicroOvnError(
      "NOT_A_VOTER",
      "this member holds no CA key, and a CA key may only be given to a voter; run this on " +
        `one of ${voters(rt.layout)
          .map((v) => v.name)
          .join(", ")}`,
    );
  }
  const offline = rows.filter((r) => memberStatus(r) === "OFFLINE").map((r) => r.name);
  if (offline.length > 0) {
    throw new MicroOvnError(
      "MEMBERS_OFFLINE",
      `${offline.join(", ")} ${offline.length === 1 ? "is" : "are"} offline and would be left ` +
        "with the old CA; bring them back or remove them (`microovn cluster remove NAME " +
        "--force`), then run this again. Nothing was changed",
    );
  }
  const others = rows.filter((r) => r.name !== self);
  const step = async (what: string, member: string, action: () => Promise<unknown>) => {
    try {
      await action();
    } catch (e) {
      throw new MicroOvnError(
        "CA_CHANGE_FAILED",
        `the CA change stopped at "${what}" on ${member}: ${(e as Error).message}. ` +
          "Members trust both CAs until it completes; run the command again to start over",
      );
    }
  };

  log("CA change: every member trusts the new CA");
  await Promise.all([
    step("trust", self, () => trustNewCa(rt, ca.certPem, ca.keyPem)),
    ...others.map((r) =>
      step("trust", r.name, () =>
        call(rt, r, "/pki/ca/trust", {
          certPem: ca.certPem,
          ...(r.role === "voter" ? { keyPem: ca.keyPem } : {}),
        }),
      ),
    ),
  ]);

  log("CA change: every member gets new certificates");
  for (const r of others) {
    await step("reissue", r.name, async () => {
      const { requests } = await call<{ requests: CertificateRequests }>(
        rt,
        r,
        "/pki/requests",
        {},
      );
      const certificates = await signForMember(ca, r, requests);
      await call(rt, r, "/pki/install", { certificates, caPem: ca.certPem });
    });
  }
  await step("reissue", self, async () => {
    const requests = await requestCertificates(rt);
    await installReissued(rt, await signForMember(ca, rt.requireConfig(), requests), ca.certPem);
  });

  log("CA change: the old CA is dropped everywhere");
  for (const r of others) {
    await step("commit", r.name, () =>
      call(rt, r, "/pki/ca/commit", { certPem: ca.certPem, origin }),
    );
  }
  await step("commit", self, () => commitNewCa(rt, ca.certPem, origin));

  const { inspectCertificate } = await import("../pki/x509.js");
  const info = await inspectCertificate(ca.certPem);
  const notAfter = info.notAfter.toISOString();
  log(`CA change done: ${info.subject}, valid until ${notAfter}`);
  return { subject: info.subject, notAfter, origin, members: [...others.map((r) => r.name), self] };
}

/**
 * A member API call from the coordinator, tried again for a while when the
 * other member does not know the coordinator's new certificate yet.
 */
async function call<T>(rt: MemberRuntime, row: MemberRow, path: string, body: unknown): Promise<T> {
  const deadline = Date.now() + REFUSED_RETRY_MS;
  for (;;) {
    try {
      return await callMember<T>(joinHostPort(row.address), "POST", path, body, { pki: rt.pki });
    } catch (e) {
      const refused = e instanceof MicroOvnError && e.code === "NOT_A_MEMBER";
      if (!refused || Date.now() > deadline) throw e;
      await delay(200);
    }
  }
}

// ---- A new CA made by the cluster ----

/**
 * `certificates regenerate-ca` (and the renewal of a CA the cluster made):
 * a voter makes the new CA, where CA keys live, and rolls it out; other
 * members hand the job to a voter. Unlike other steps, this one takes the
 * member's turn (`rt.exclusive`) itself, and only for the rollout: the voter
 * it hands the job to calls back into this member meanwhile. `members` is
 * read only on a voter, whose watcher has the rows.
 */
export async function regenerateCa(
  rt: MemberRuntime,
  members: () => readonly MemberRow[],
  log: (message: string) => void,
): Promise<RolloutResult> {
  if (!(await rt.pki.readCa())) {
    return callAnyVoter<RolloutResult>(
      rt.layout,
      rt.requireConfig().name,
      "/pki/ca/regenerate",
      {},
      rt.pki,
      "change the CA",
      CA_CHANGE_TIMEOUT_MS,
    );
  }
  const { createCa } = await import("../pki/x509.js");
  const ca = await createCa();
  const rows = members();
  return rt.exclusive(() => rolloutCa(rt, rows, ca, "generated", log));
}
