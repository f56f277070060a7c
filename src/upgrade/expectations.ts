/**
 * Which NB and SB schema versions each member expects: this member's from
 * its own OVN schema files, the others' over the member API
 * (`GET /1.0/ovn/schemas`, answered from theirs). Every member is asked,
 * whatever its services: a chassis-only member's ovn-controller reads SB,
 * and its NB tools read NB.
 */
import { callMember, joinHostPort } from "../cluster/member-client.js";
import type { LayoutMember } from "../cluster/layout.js";
import { expectedSchemaVersions, type CentralDatabase } from "../ovn/schemas.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import type { MemberExpectation } from "./decision.js";
import { replacedPrograms } from "./replaced-programs.js";

/** The member API path a member serves its expected versions on. */
export const SCHEMAS_PATH = "/ovn/schemas";

/** The member API's answer. */
export interface SchemasAnswer {
  expected: Record<CentralDatabase, string>;
  /** This member's programs that still run a binary replaced since they started. */
  restartPending?: string[];
}

/** What this member answers on SCHEMAS_PATH. */
export async function schemasAnswer(rt: MemberRuntime): Promise<SchemasAnswer> {
  const [expected, pending] = await Promise.all([
    expectedSchemaVersions(),
    replacedPrograms(rt.supervisor.status()),
  ]);
  return { expected, ...(pending.length > 0 ? { restartPending: pending } : {}) };
}

/** How long one member may take to answer before it counts as unreachable. */
const ASK_TIMEOUT_MS = 5_000;

async function ask(
  rt: MemberRuntime,
  member: Pick<LayoutMember, "name" | "address">,
): Promise<SchemasAnswer> {
  if (member.name === rt.config?.name) return schemasAnswer(rt);
  return callMember<SchemasAnswer>(
    joinHostPort(member.address),
    "GET",
    SCHEMAS_PATH,
    undefined,
    { pki: rt.pki },
    ASK_TIMEOUT_MS,
  );
}

/** Every member's expectation for NB and SB, asked at once, in the members' order. */
export async function gatherExpectations(
  rt: MemberRuntime,
  members: readonly Pick<LayoutMember, "name" | "address">[],
): Promise<Record<CentralDatabase, MemberExpectation[]>> {
  const answers = await Promise.all(
    members.map(async (m) => {
      try {
        const { expected, restartPending } = await ask(rt, m);
        return { name: m.name, nb: expected.nb, sb: expected.sb, restartPending };
      } catch (e) {
        return { name: m.name, error: (e as Error).message };
      }
    }),
  );
  const pick = (db: CentralDatabase): MemberExpectation[] =>
    answers.map((a) =>
      "error" in a
        ? { name: a.name, error: a.error }
        : typeof a[db] === "string"
          ? {
              name: a.name,
              expected: a[db],
              ...(a.restartPending?.length ? { restartPending: a.restartPending } : {}),
            }
          : { name: a.name, error: "its answer names no schema version" },
    );
  return { nb: pick("nb"), sb: pick("sb") };
}
