/**
 * When the clustered NB or SB may be converted to a newer schema, and what
 * `microovn status` says about it: pure decisions on what the members
 * reported, so they can be tested without a cluster.
 *
 * The rule is MicroOVN's: a database runs the schema it has until every
 * member (chassis-only ones included, since their ovn-controller reads SB)
 * has said it expects the same newer one; only then is it converted.
 */

/** What one member said about the schema version it expects for a database. */
export interface MemberExpectation {
  name: string;
  /** The version its installed OVN ships, when it answered. */
  expected?: string;
  /** Why it could not be asked. */
  error?: string;
  /**
   * Its programs that still run a binary replaced since they started (an
   * OVN package installed, the programs not yet restarted onto it).
   */
  restartPending?: string[];
}

export type Verdict =
  /** Every member expects the version the database runs. */
  | { kind: "ok" }
  /** Every member expects `to`, newer than the database's: convert. */
  | { kind: "convert"; to: string }
  /** Nothing to do until an operator acts (or a member comes back); `reason` says what. */
  | { kind: "hold"; reason: string };

/** Compares "X.Y.Z" versions numerically (7.10.0 is newer than 7.9.0). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function names(members: readonly MemberExpectation[]): string {
  return members.map((m) => m.name).join(", ");
}

/** What to do about a database running `active`, given every member's report. */
export function schemaVerdict(active: string, members: readonly MemberExpectation[]): Verdict {
  if (members.length === 0) return { kind: "hold", reason: "no member is known yet" };
  const silent = members.filter((m) => m.expected === undefined);
  const versions = [...new Set(members.flatMap((m) => (m.expected ? [m.expected] : [])))];
  if (silent.length === 0 && versions.length === 1 && versions[0] === active) return { kind: "ok" };
  if (silent.length > 0) {
    return {
      kind: "hold",
      reason:
        `no conversion while ${names(silent)} cannot be asked which schema ${silent.length === 1 ? "it expects" : "they expect"}: ` +
        "start its daemon again (`microovn waitready` there), or remove it (`microovn cluster remove`)",
    };
  }
  const pending = members.filter((m) => m.restartPending && m.restartPending.length > 0);
  if (pending.length > 0) {
    return {
      kind: "hold",
      reason:
        "a newer OVN is installed but older programs still run on " +
        pending.map((m) => `${m.name} (${m.restartPending!.join(", ")})`).join(", ") +
        ": restart them onto the new binaries",
    };
  }
  if (versions.length > 1) {
    const newest = versions.reduce((a, b) => (compareVersions(a, b) >= 0 ? a : b));
    const behind = members.filter((m) => m.expected !== newest);
    return {
      kind: "hold",
      reason:
        `members expect different schemas: ${names(behind)} still ${behind.length === 1 ? "runs" : "run"} an older OVN; ` +
        `install the new OVN there too and the database is converted to ${newest}`,
    };
  }
  const target = versions[0]!;
  if (compareVersions(target, active) > 0) return { kind: "convert", to: target };
  return {
    kind: "hold",
    reason:
      `every member expects ${target}, older than the schema the database runs (${active}); ` +
      "a database is never converted back: install the OVN that ships it",
  };
}
