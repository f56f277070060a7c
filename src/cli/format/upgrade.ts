/**
 * The NB or SB lines of `microovn status` while members expect a schema
 * other than the one the database runs, in MicroOVN's layout: the active
 * schema, then each member's expected one (or that it could not be asked),
 * then what happens next.
 */
import { schemaVerdict, type MemberExpectation } from "../../upgrade/decision.js";

/** MicroOVN's words for a member that did not answer. */
export const MEMBER_NOT_CONTACTED = "Error. Failed to contact member";

function pending(m: MemberExpectation): string {
  return m.restartPending?.length ? ` (restart pending: ${m.restartPending.join(", ")})` : "";
}

/** The lines for `title`, or undefined when every member expects the active schema. */
export function upgradeLines(
  title: string,
  active: string,
  members: readonly MemberExpectation[],
  raft = "",
): string[] | undefined {
  const verdict = schemaVerdict(active, members);
  if (verdict.kind === "ok") return undefined;
  return [
    `${title}: Upgrade or attention required!${raft}`,
    `Currently active schema: ${active}`,
    "Cluster report (expected schema versions):",
    ...members.map((m) => `\t${m.name}: ${m.expected ?? MEMBER_NOT_CONTACTED}${pending(m)}`),
    verdict.kind === "convert"
      ? `Every member expects ${verdict.to}: the member whose server leads it converts it shortly.`
      : `Held back: ${verdict.reason}.`,
  ];
}
