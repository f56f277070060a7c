/**
 * `microovn user …` and `microovn project …`: the identity store (see
 * src/identity/) through this member's connection to the cluster state
 * database, and its bootstrap on the cluster's first `enable openstack-api`.
 */
import { generatePassword } from "../identity/password.js";
import { writeAtomically } from "../util/fs.js";
import {
  bootstrapIdentity,
  checkIdentitySchema,
  type IdentityBootstrap,
  type IdentityDb,
} from "../identity/store.js";
import { checkTokenSchema } from "../identity/token-keys.js";
import { connectStateDb } from "../membership/member-row.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";

/** Runs `operation` on the identity store, with a connection of its own. */
export async function withIdentityStore<R>(
  rt: MemberRuntime,
  operation: (db: IdentityDb) => Promise<R>,
): Promise<R> {
  rt.requireConfig();
  const db = await connectStateDb(rt);
  try {
    return await operation(db);
  } finally {
    db.close();
  }
}

/**
 * The cluster's administrator, created with a new random password when no
 * user holds the admin role yet; undefined otherwise.
 */
export async function bootstrapAdministrator(
  rt: MemberRuntime,
): Promise<IdentityBootstrap | undefined> {
  const created = await withIdentityStore(rt, (db) => bootstrapIdentity(db, generatePassword()));
  // Kept for `openstack-api openrc` on this member; root only, like the keys in data/pki.
  if (created)
    await writeAtomically(rt.state.openstackAdminPasswordPath, `${created.password}\n`, 0o600);
  return created;
}

/**
 * Refuses, before anything changes, a cluster whose state database cannot
 * hold what the OpenStack API service needs (users, token keys, revocations).
 */
export function checkOpenstackApiSchema(rt: MemberRuntime): Promise<void> {
  return withIdentityStore(rt, async (db) => {
    checkIdentitySchema(db.schema);
    checkTokenSchema(db.schema);
  });
}
