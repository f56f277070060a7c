/**
 * `microovn cluster list -f table|compact|json|yaml|csv`: one row per member
 * with NAME, ADDRESS, ROLE, FINGERPRINT and STATUS, as MicroOVN shows them.
 */
import { stringify as toYaml } from "yaml";
import { joinHostPort } from "../../cluster/member-client.js";
import { MicroOvnError } from "../../errors.js";

export interface MemberRow {
  name: string;
  address: string;
  role: string;
  fingerprint: string;
  status: "ONLINE" | "OFFLINE";
}

export const LIST_FORMATS = ["table", "compact", "json", "yaml", "csv"] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export function checkListFormat(format: string): ListFormat {
  if (!(LIST_FORMATS as readonly string[]).includes(format)) {
    throw new MicroOvnError(
      "BAD_FORMAT",
      `"${format}" is not an output format; choose one of ${LIST_FORMATS.join(", ")}`,
    );
  }
  return format as ListFormat;
}

/**
 * A member as listed: ADDRESS is where its member API listens (IP:PORT, as
 * MicroOVN shows its cluster API address), the one address to open between
 * members and the one a join token names.
 */
export function listedMember(m: MemberRow): MemberRow {
  const { name, address, role, fingerprint, status } = m;
  return { name, address: joinHostPort(address), role, fingerprint, status };
}

const HEADERS = ["NAME", "ADDRESS", "ROLE", "FINGERPRINT", "STATUS"] as const;

function cells(row: MemberRow): string[] {
  return [row.name, row.address, row.role, row.fingerprint, row.status];
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function boxed(rows: readonly string[][]): string {
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const rule = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const line = (r: readonly string[]) =>
    `|${r.map((c, i) => ` ${c.padEnd(widths[i]!)} `).join("|")}|`;
  return [rule, line(HEADERS), rule, ...rows.map(line), rule].join("\n") + "\n";
}

function compact(rows: readonly string[][]): string {
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(HEADERS), ...rows.map(line)].join("\n") + "\n";
}

export function formatMembers(members: readonly MemberRow[], format: ListFormat): string {
  const sorted = [...members].sort((a, b) => a.name.localeCompare(b.name));
  switch (format) {
    case "json":
      return JSON.stringify(sorted, null, 2) + "\n";
    case "yaml":
      return toYaml(sorted);
    case "csv":
      return (
        [HEADERS.join(","), ...sorted.map((m) => cells(m).map(csvField).join(","))].join("\n") +
        "\n"
      );
    case "compact":
      return compact(sorted.map(cells));
    case "table":
      return boxed(sorted.map(cells));
  }
}
