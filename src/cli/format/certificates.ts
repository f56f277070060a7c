/** `microovn certificates list`, in MicroOVN's layout with the expiry added. */
import type { CertificateStatus } from "../../pki/store.js";

function fileLine(path: string, present: boolean, extra = ""): string {
  return `${path} (${present ? "OK: Present" : "Error: Missing"}${extra})`;
}

export function formatCertificates(certificates: readonly CertificateStatus[]): string {
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
