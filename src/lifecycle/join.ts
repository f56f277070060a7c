/**
 * `cluster join TOKEN`: this machine becomes a member of the cluster that
 * issued the token. It checks what it can on its own first (the token reads,
 * has not expired, names this member; programs and ports), makes a key pair
 * and a certificate request for each certificate it may need, and calls the
 * member API at the token's address — checking that member's certificate
 * against the token's fingerprint before the secret leaves. The answer
 * brings the CA certificate (and key, for voters), the signed certificates
 * and the layout. Then it joins the Raft clusters it has a place in, starts
 * its services and records itself. Until the cluster has admitted it,
 * nothing is written here; if a later step fails, this member asks the
 * cluster to forget it and removes what it wrote, so it can try again.
 */
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import {
  SETUP_SERVICES,
  checkAddress,
  checkMemberName,
  defaultChassisSettings,
  type MemberConfig,
} from "../member/config.js";
import type { CertificateService } from "../pki/store.js";
import {
  decodeJoinToken,
  isExpired,
  tokenExpired,
  wrongName,
  type JoinToken,
} from "../cluster/join-token.js";
import { callMember, isUnreachable } from "../cluster/member-client.js";
import { recordMember } from "../membership/member-row.js";
import { waitForClusterMember } from "../ovn/raft.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import type { JoinAnswer, JoinRequest } from "./add.js";
import { checkNewMember, defaultAddress } from "./bootstrap.js";
import { certificateServices, installCertificates, makeRequests } from "./certificates.js";
import { waitForCentralRaft } from "./services.js";
import { startServices } from "./start.js";
import { undoNewMember } from "./stop.js";

const RAFT_JOIN_TIMEOUT_MS = 30_000;

export interface JoinOptions {
  token: string;
  /** Must be the token's name when given. */
  name?: string;
  /** Default: see defaultAddress (bootstrap.ts). */
  address?: string;
  /** Go ahead although another Open vSwitch/OVN runs here. */
  allowForeignOvs?: boolean;
}

/** Asks the members in the token, in turn, to admit this one. */
async function askToJoin(token: JoinToken, request: JoinRequest): Promise<JoinAnswer> {
  const failures: string[] = [];
  for (const target of token.addresses) {
    try {
      return await callMember<JoinAnswer>(target, "POST", "/cluster/join", request, {
        fingerprint: token.fingerprint,
      });
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      failures.push(`${target}: ${(e as Error).message}`);
    }
  }
  throw new MicroOvnError(
    "CLUSTER_UNREACHABLE",
    `could not reach the cluster at ${failures.join("; ")}. Check that the address is right ` +
      "and reachable from here and that microovnd runs there; nothing was changed",
  );
}

export async function join(rt: MemberRuntime, options: JoinOptions): Promise<MemberConfig> {
  const token = decodeJoinToken(options.token);
  if (options.name !== undefined && options.name !== token.name) {
    throw wrongName(token.name, options.name);
  }
  if (isExpired(token)) throw tokenExpired(token.name, new Date(token.expiresAt));
  const name = checkMemberName(token.name);
  const address = checkAddress(options.address ?? defaultAddress());
  // Where this member fits is the cluster's choice: be ready for everything.
  await checkNewMember(rt, address, SETUP_SERVICES, { allowForeignOvs: options.allowForeignOvs });

  // Certificates for every set-up service; an optional one gets its own when enabled.
  const { requests, keys } = await makeRequests(name, certificateServices(SETUP_SERVICES));
  const answer = await askToJoin(token, { name, secret: token.secret, address, requests });

  const config: MemberConfig = {
    name,
    address,
    services: [...answer.member.services],
    chassis: defaultChassisSettings(),
    createdAt: new Date().toISOString(),
  };
  rt.config = config;
  rt.layout = answer.layout;
  try {
    await rt.pki.writeCa({
      certPem: answer.caCert,
      ...(answer.caKey !== undefined ? { keyPem: answer.caKey } : {}),
    });
    const placed = Object.keys(answer.certificates) as CertificateService[];
    await installCertificates(
      rt,
      Object.fromEntries(placed.map((s) => [s, keys[s]])),
      answer.certificates,
    );
    await rt.saveLayout(answer.layout);
    await startServices(rt);
    await waitForRaft(rt);
    await recordMember(rt);
    await rt.save(config);
    return config;
  } catch (e) {
    // Admitted, but could not finish: let the cluster forget this member.
    await callMember(token.addresses[0]!, "POST", "/cluster/forget", {}, { pki: rt.pki }).catch(
      () => undefined,
    );
    await undoNewMember(rt);
    throw e;
  }
}

/** Waits until this member's servers are full members of their Raft clusters. */
async function waitForRaft(rt: MemberRuntime): Promise<void> {
  await Promise.all([
    rt.isVoter()
      ? waitForClusterMember(rt.stateDb().controlSocket, STATE_DATABASE, RAFT_JOIN_TIMEOUT_MS)
      : undefined,
    rt.requireConfig().services.includes("central") ? waitForCentralRaft(rt) : undefined,
  ]);
}
