/**
 * `microovn certificates list [-f FORMAT]`: by default in MicroOVN's layout
 * (a block per certificate) with the expiry added; for machines, one record
 * per certificate in a stable shape (docs/observability.md, "Machine-readable
 * output"), as JSON, YAML, or the list formats' columns.
 */
import { MicroOvnError } from "../../errors.js";
import type { CertificateStatus } from "../../pki/store.js";
import { LIST_FORMATS, formatList } from "./table.js";

/** `text` is MicroOVN's layout; the rest are those of every list command. */
export const CERTIFICATE_FORMATS = ["text", ...LIST_FORMATS] as const;
export type CertificateFormat = (typeof CERTIFICATE_FORMATS)[number];

export function checkCertificateFormat(format: string): CertificateFormat {
  if (!(CERTIFICATE_FORMATS as readonly string[]).includes(format)) {
    throw new MicroOvnError(
      "BAD_FORMAT",
      `"${format}" is not an output format of certificates list; choose one of ` +
        CERTIFICATE_FORMATS.join(", "),
    );
  }
  return format as CertificateFormat;
}

/** ok; expiring (within the renewal window); expired; missing (certificate or key); unreadable. */
export type CertificateState = "ok" | "expiring" | "expired" | "missing" | "unreadable";

/** One certificate as machines read it: every field always there, null where unknown. */
export interface CertificateRecord {
  service: string;
  title: string;
  status: CertificateState;
  certificate: { path: string; present: boolean };
  /** null for the CA on members that do not hold its key. */
  key: { path: string; present: boolean } | null;
  /** ISO 8601 UTC, and the same as Unix seconds. */
  expiry: string | null;
  expirySeconds: number | null;
  subject: string | null;
  issuer: string | null;
  sans: string[];
  fingerprint: string | null;
  problem: string | null;
}

function stateOf(c: CertificateStatus, now: number, renewalDays: number): CertificateState {
  if (!c.cert.present || (c.key !== undefined && !c.key.present)) return "missing";
  if (c.cert.problem !== undefined || c.cert.notAfter === undefined) return "unreadable";
  const expiry = new Date(c.cert.notAfter).getTime();
  if (expiry <= now) return "expired";
  return expiry <= now + renewalDays * 86_400_000 ? "expiring" : "ok";
}

export function certificateRecord(
  c: CertificateStatus,
  now: number,
  renewalDays: number,
): CertificateRecord {
  // Over the control API the expiry arrives as an ISO string.
  const expiry = c.cert.notAfter !== undefined ? new Date(c.cert.notAfter) : undefined;
  return {
    service: c.name,
    title: c.title,
    status: stateOf(c, now, renewalDays),
    certificate: { path: c.cert.path, present: c.cert.present },
    key: c.key ? { path: c.key.path, present: c.key.present } : null,
    expiry: expiry ? expiry.toISOString() : null,
    expirySeconds: expiry ? Math.floor(expiry.getTime() / 1000) : null,
    subject: c.cert.subject ?? null,
    issuer: c.cert.issuer ?? null,
    sans: c.cert.sans ?? [],
    fingerprint: c.cert.fingerprint ?? null,
    problem: c.cert.problem ?? null,
  };
}

function fileLine(path: string, present: boolean, extra = ""): string {
  return `${path} (${present ? "OK: Present" : "Error: Missing"}${extra})`;
}

function textLayout(certificates: readonly CertificateStatus[]): string {
  const blocks = certificates.map((c) => {
    const expiry = c.cert.problem
      ? `; unreadable: ${c.cert.problem}`
      : c.cert.notAfter
        ? `; expires ${new Date(c.cert.notAfter).toISOString().slice(0, 10)}`
        : "";
    const lines = [`[${c.title}]`, fileLine(c.cert.path, c.cert.present, expiry)];
    if (c.key) lines.push(fileLine(c.key.path, c.key.present));
    return lines.join("\n");
  });
  return blocks.join("\n\n") + "\n";
}

const HEADERS = ["SERVICE", "STATUS", "EXPIRY", "SUBJECT", "PATH"] as const;

function cells(r: CertificateRecord): string[] {
  return [r.service, r.status, r.expiry ?? "", r.subject ?? "", r.certificate.path];
}

export function formatCertificates(
  certificates: readonly CertificateStatus[],
  format: CertificateFormat = "text",
  options: { now?: number; renewalDays?: number } = {},
): string {
  if (format === "text") return textLayout(certificates);
  const now = options.now ?? Date.now();
  // 10 days is the daemon's renewal window; it says so itself (renewalDays) when asked.
  const records = certificates.map((c) => certificateRecord(c, now, options.renewalDays ?? 10));
  return formatList(records, HEADERS, cells, format);
}
