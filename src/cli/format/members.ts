/**
 * `microovn cluster list -f table|compact|json|yaml|csv`: one row per member
 * with NAME, ADDRESS, ROLE, FINGERPRINT and STATUS, as MicroOVN shows them.
 */
import { joinHostPort } from "../../cluster/member-client.js";
import type { ListedStatus } from "../../cluster/members.js";
import { formatList, type ListFormat } from "./table.js";

export interface MemberRow {
  name: string;
  address: string;
  role: string;
  fingerprint: string;
  status: ListedStatus;
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

export function formatMembers(members: readonly MemberRow[], format: ListFormat): string {
  const sorted = [...members].sort((a, b) => a.name.localeCompare(b.name));
  return formatList(sorted, HEADERS, cells, format);
}
