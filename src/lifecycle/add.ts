/**
 * The cluster's side of adding a member. `cluster add NAME` issues a
 * single-use join token: its secret's hash goes into the state database
 * with the name and expiry. When the new member comes with the token
 * (member API, no certificate yet), `admitMember` checks the secret in
 * constant time, the expiry and the name, places the member, signs its
 * certificate requests, and records it — the token is gone in the same
 * transaction. Nothing is written until every check has passed.
 */
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import { checkAddress, checkMemberName } from "../member/config.js";
import { certificateFingerprint } from "../pki/pem.js";
import type { CertificateService } from "../pki/store.js";
import {
  encodeJoinToken,
  hashSecret,
  newSecret,
  secretMatches,
  tokenExpired,
  wrongName,
  type JoinToken,
} from "../cluster/join-token.js";
import { normalizeLayout, type ClusterLayout, type LayoutMember } from "../cluster/layout.js";
import { MEMBER_API_PORT, joinHostPort } from "../cluster/member-client.js";
import { layoutFromRows, type MemberRow } from "../cluster/members.js";
import { connectStateDb } from "../membership/member-row.js";
import { placeNewMember } from "../cluster/placement.js";
import { certificateServices, parsePemsByService, signForMember } from "./certificates.js";

export const DEFAULT_TOKEN_LIFETIME_S = 3 * 60 * 60;
const MAX_TOKEN_LIFETIME_S = 30 * 24 * 60 * 60;

/** `--timeout`: seconds, or a number with s, m, h or d. */
export function parseLifetime(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  const seconds = m ? Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? ""]! : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_TOKEN_LIFETIME_S) {
    throw new MicroOvnError(
      "BAD_TIMEOUT",
      `"${text}" is not a token lifetime; give a number of seconds, or e.g. 30m, 3h, 2d ` +
        `(at most 30d)`,
    );
  }
  return seconds;
}

function memberExists(name: string): MicroOvnError {
  return new MicroOvnError(
    "MEMBER_EXISTS",
    `"${name}" is already a member of this cluster; choose another name, or remove that ` +
      "member first (`microovn cluster remove NAME`)",
  );
}

/** `cluster add NAME`: a token for a new member (replacing an earlier one for that name). */
export async function issueJoinToken(
  rt: MemberRuntime,
  members: readonly MemberRow[],
  request: { name: string; lifetimeSeconds?: number },
): Promise<{ token: string; expiresAt: string }> {
  const config = rt.requireConfig();
  const name = checkMemberName(request.name);
  if (members.some((m) => m.name === name)) throw memberExists(name);
  if (!(await rt.pki.readCa())) {
    const voters = members.filter((m) => m.role === "voter").map((m) => m.name);
    throw new MicroOvnError(
      "NOT_A_VOTER",
      `only members that hold the cluster CA can admit new members; run this on one of ` +
        `${voters.join(", ")}`,
    );
  }
  const apiCert = await rt.pki.readCert(rt.pki.certPath("microovn"));
  if (!apiCert) {
    throw new MicroOvnError(
      "CERTIFICATE_MISSING",
      `${rt.pki.certPath("microovn")} is missing; run \`microovn certificates reissue microovn\``,
    );
  }
  const lifetime = request.lifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_S;
  const expiresAt = new Date(Date.now() + lifetime * 1000);
  const token: JoinToken = {
    name,
    secret: newSecret(),
    fingerprint: certificateFingerprint(apiCert),
    addresses: [joinHostPort(config.address, MEMBER_API_PORT)],
    expiresAt: expiresAt.toISOString(),
  };
  const client = await connectStateDb(rt);
  try {
    const txn = client.transaction();
    txn.delete("Join_Token", [["name", "==", name]]);
    txn.insert("Join_Token", {
      name,
      secret_hash: hashSecret(token.secret),
      expires_at: expiresAt.getTime(),
      issued_by: config.name,
    });
    await txn.commit();
  } finally {
    client.close();
  }
  return { token: encodeJoinToken(token), expiresAt: token.expiresAt };
}

/** What a joining member sends (with the secret from its token). */
export interface JoinRequest {
  name: string;
  secret: string;
  address: string;
  /** A PEM certificate request for each certificate it may need. */
  requests: Partial<Record<CertificateService, string>>;
}

/** What it gets back. */
export interface JoinAnswer {
  member: LayoutMember;
  layout: ClusterLayout;
  caCert: string;
  /** Only for voters: they sign certificates for others. */
  caKey?: string;
  certificates: Partial<Record<CertificateService, string>>;
}

export function parseJoinRequest(body: Record<string, unknown>): JoinRequest {
  const text = (key: string): string => {
    const v = body[key];
    if (typeof v !== "string" || v === "") {
      throw new MicroOvnError("BAD_REQUEST", `"${key}" must be a non-empty string`);
    }
    return v;
  };
  return {
    name: text("name"),
    secret: text("secret"),
    address: text("address"),
    requests: parsePemsByService(body, "requests"),
  };
}

const UNKNOWN_TOKEN =
  "this token is not known to the cluster: it was used already, replaced by a newer token " +
  "for the same name, or never issued; ask for a new one (`microovn cluster add NAME`)";

/** The cluster's side of `cluster join`; nothing changes unless every check passes. */
export async function admitMember(rt: MemberRuntime, request: JoinRequest): Promise<JoinAnswer> {
  const ca = await rt.pki.readCa();
  if (!ca) {
    throw new MicroOvnError("NOT_A_VOTER", "this member does not hold the cluster CA");
  }
  const client = await connectStateDb(rt);
  try {
    const tokens = await client.select("Join_Token", []);
    // Every stored hash is compared, each in constant time.
    let token: (typeof tokens)[number] | undefined;
    for (const t of tokens) if (secretMatches(request.secret, t.secret_hash)) token = t;
    if (!token) throw new MicroOvnError("TOKEN_UNKNOWN", UNKNOWN_TOKEN);
    if (token.expires_at <= Date.now()) {
      throw tokenExpired(token.name, new Date(token.expires_at));
    }
    if (token.name !== request.name) throw wrongName(token.name, request.name);
    const name = checkMemberName(request.name);
    const address = checkAddress(request.address);
    const rows = await client.select("Member", []);
    if (rows.some((m) => m.name === name)) throw memberExists(name);
    const sameAddress = rows.find((m) => m.address === address);
    if (sameAddress) {
      throw new MicroOvnError(
        "ADDRESS_IN_USE",
        `${address} is already the address of member "${sameAddress.name}"; join with another ` +
          "--address",
      );
    }
    const placement = placeNewMember(rows);
    const needed = certificateServices(placement.services);
    const missing = needed.filter((s) => request.requests[s] === undefined);
    if (missing.length > 0) {
      throw new MicroOvnError(
        "BAD_REQUEST",
        `certificate requests are missing for ${missing.join(", ")}`,
      );
    }
    const certificates = await signForMember(
      ca,
      { name, address },
      Object.fromEntries(needed.map((service) => [service, request.requests[service]!])),
    );
    const member: LayoutMember = { name, address, ...placement };
    const current = layoutFromRows(rows, await client.select("Config", []));
    const txn = client.transaction();
    txn.delete("Join_Token", [["_uuid", "==", token._uuid]]);
    txn.insert("Member", {
      ...member,
      fingerprint: certificateFingerprint(certificates.microovn!),
      heartbeat: Date.now(),
      chassis: new Map(),
      versions: new Map(),
    });
    await txn.commit();
    const answer: JoinAnswer = {
      member,
      layout: normalizeLayout([...current.members, member], current.config),
      caCert: ca.certPem,
      certificates,
    };
    if (placement.role === "voter") answer.caKey = ca.keyPem;
    return answer;
  } finally {
    client.close();
  }
}
