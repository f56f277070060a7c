/**
 * The identity store in the cluster state database: projects, users, the
 * fixed roles and who holds which role on which project. Every change is one
 * transaction. The schema does the guarding: unique names (indexes), and an
 * assignment refers strongly to its user, project and role, so a grant
 * racing a delete on another member fails instead of leaving a stray row.
 * What the indexes cannot say (the last administrator stays) is checked
 * with a `wait` on the rows the decision was made from.
 */
import { MicroOvnError } from "../errors.js";
import type { OvsdbClient } from "../ovsdb/client/client.js";
import type { Condition } from "../ovsdb/client/transaction.js";
import type { DatabaseSchema } from "../ovsdb/schema/schema.js";
import { TransactionError } from "../ovsdb/errors.js";
import type {
  IdentityAssignment,
  IdentityProject,
  IdentityUser,
  MicroOVNDatabase,
} from "../ovsdb/models/microovn.js";
import { DEFAULT_DOMAIN, ROLES, checkName, checkRole, newId, type RoleName } from "./names.js";
import { checkPassword, hashPassword } from "./password.js";

export type IdentityDb = OvsdbClient<MicroOVNDatabase>;

export interface ProjectView {
  id: string;
  name: string;
  description: string;
  domain: string;
  enabled: boolean;
}

export interface RoleAssignmentView {
  project: string;
  role: string;
}

/** A user as listed and shown: everything but the password hash. */
export interface UserView {
  id: string;
  name: string;
  enabled: boolean;
  defaultProject: string | undefined;
  createdAt: string;
  passwordChangedAt: string;
  roles: RoleAssignmentView[];
}

/** The bootstrap's result: what a first enable created, with the one-time password. */
export interface IdentityBootstrap {
  project: string;
  user: string;
  role: RoleName;
  password: string;
}

export const ADMIN = "admin";

/** Attempts of a change whose `wait` found the rows changed by another member meanwhile. */
const ATTEMPTS = 5;

/** Refuses, before anything changes, a state database whose schema predates the identity store. */
export function checkIdentitySchema(schema: DatabaseSchema): void {
  if (!schema.tables.has("Identity_User")) {
    throw new MicroOvnError(
      "STATE_DB_SCHEMA_TOO_OLD",
      `the cluster state database runs schema ${schema.version}, made before the identity ` +
        "store existed; nothing was changed. It is converted to the schema this version " +
        "installs once every member runs this version (`microovn cluster list` shows NEEDS " +
        "UPGRADE on those that do not yet)",
    );
  }
}

function serverError(e: unknown): string | undefined {
  return e instanceof TransactionError ? e.serverError : undefined;
}

function unknown(kind: "user" | "project", name: string): MicroOvnError {
  return new MicroOvnError(
    kind === "user" ? "UNKNOWN_USER" : "UNKNOWN_PROJECT",
    `there is no ${kind} "${name}"; see \`microovn ${kind} list\``,
  );
}

function duplicate(kind: "user" | "project", name: string): MicroOvnError {
  return new MicroOvnError(
    kind === "user" ? "USER_EXISTS" : "PROJECT_EXISTS",
    `a ${kind} named "${name}" exists already; choose another name, or see ` +
      `\`microovn ${kind} list\``,
  );
}

/** Runs `attempt` again while its `wait` finds that another member changed the rows it read. */
async function retryOnRace<R>(attempt: () => Promise<R>): Promise<R> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (serverError(e) !== "timed out" || i >= ATTEMPTS) throw e;
    }
  }
}

async function findProject(db: IdentityDb, name: string): Promise<IdentityProject> {
  const [row] = await db.select("Identity_Project", [["name", "==", checkName("project", name)]]);
  if (!row) throw unknown("project", name);
  return row;
}

async function findUser(db: IdentityDb, name: string): Promise<IdentityUser> {
  const [row] = await db.select("Identity_User", [["name", "==", checkName("user", name)]]);
  if (!row) throw unknown("user", name);
  return row;
}

/**
 * The fixed roles' row UUIDs by name, creating those that are missing. Two
 * members creating them at once collide on the name index; the loser reads
 * the winner's rows.
 */
async function roleUuids(db: IdentityDb): Promise<Map<RoleName, string>> {
  const read = async () =>
    new Map(
      (await db.select("Identity_Role", [], ["name"])).map((r) => [r.name as RoleName, r._uuid]),
    );
  const roles = await read();
  const missing = ROLES.filter((r) => !roles.has(r));
  if (missing.length === 0) return roles;
  const txn = db.transaction();
  for (const name of missing) txn.insert("Identity_Role", { name, role_id: newId() });
  try {
    await txn.commit();
  } catch (e) {
    if (serverError(e) !== "constraint violation") throw e;
  }
  return read();
}

export async function listProjects(db: IdentityDb): Promise<ProjectView[]> {
  checkIdentitySchema(db.schema);
  const rows = await db.select("Identity_Project");
  return rows.map(projectView).sort((a, b) => a.name.localeCompare(b.name));
}

function projectView(row: IdentityProject): ProjectView {
  const { project_id: id, name, description, domain, enabled } = row;
  return { id, name, description, domain, enabled };
}

export async function addProject(
  db: IdentityDb,
  name: string,
  description = "",
  enabled = true,
): Promise<ProjectView> {
  checkIdentitySchema(db.schema);
  const row = {
    project_id: newId(),
    name: checkName("project", name),
    description,
    domain: DEFAULT_DOMAIN,
    enabled,
  };
  const txn = db.transaction();
  txn.insert("Identity_Project", row);
  try {
    await txn.commit();
  } catch (e) {
    if (serverError(e) === "constraint violation") throw duplicate("project", name);
    throw e;
  }
  return projectView({ _uuid: "", _version: "", ...row });
}

/**
 * Deletes a project that no one holds a role on. Refused otherwise, naming
 * the holders: revoking is a decision of its own, not a side effect.
 */
export async function deleteProject(db: IdentityDb, name: string): Promise<void> {
  checkIdentitySchema(db.schema);
  const project = await findProject(db, name);
  const holders = await assignmentViews(db, [["project", "==", project._uuid]]);
  if (holders.length === 0) {
    const txn = db.transaction();
    txn.delete("Identity_Project", [["_uuid", "==", project._uuid]]);
    try {
      await txn.commit();
      return;
    } catch (e) {
      // A grant on another member won the race: the strong reference refuses the delete.
      if (serverError(e) !== "referential integrity violation") throw e;
    }
  }
  const now = await assignmentViews(db, [["project", "==", project._uuid]]);
  throw new MicroOvnError(
    "PROJECT_IN_USE",
    `project "${name}" still has role assignments (${now.map((a) => `${a.user}: ${a.role}`).join(", ")}); ` +
      `revoke them first with \`microovn user revoke USER --project ${name} --role ROLE\``,
  );
}

interface AssignmentNames {
  user: string;
  project: string;
  role: string;
}

/** Assignments matching `where`, with names instead of row UUIDs. */
async function assignmentViews(
  db: IdentityDb,
  where: readonly Condition<IdentityAssignment>[] = [],
): Promise<(AssignmentNames & { row: IdentityAssignment })[]> {
  const [assignments, users, projects, roles] = await Promise.all([
    db.select("Identity_Assignment", where),
    db.select("Identity_User", [], ["name"]),
    db.select("Identity_Project", [], ["name"]),
    db.select("Identity_Role", [], ["name"]),
  ]);
  const names = (rows: { _uuid: string; name: string }[]) =>
    new Map(rows.map((r) => [r._uuid, r.name]));
  const [user, project, role] = [names(users), names(projects), names(roles)];
  return assignments.map((row) => ({
    row,
    user: user.get(row.user) ?? row.user,
    project: project.get(row.project) ?? row.project,
    role: role.get(row.role) ?? row.role,
  }));
}

export async function listUsers(db: IdentityDb): Promise<UserView[]> {
  checkIdentitySchema(db.schema);
  const [users, projects, assignments] = await Promise.all([
    db.select("Identity_User"),
    db.select("Identity_Project", [], ["name"]),
    assignmentViews(db),
  ]);
  const projectName = new Map(projects.map((p) => [p._uuid, p.name]));
  return users
    .map((u) => userView(u, projectName, assignments))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function userView(
  row: IdentityUser,
  projectName: ReadonlyMap<string, string>,
  assignments: readonly (AssignmentNames & { row: IdentityAssignment })[],
): UserView {
  return {
    id: row.user_id,
    name: row.name,
    enabled: row.enabled,
    defaultProject:
      row.default_project === undefined ? undefined : projectName.get(row.default_project),
    createdAt: new Date(row.created_at).toISOString(),
    passwordChangedAt: new Date(row.password_changed_at).toISOString(),
    roles: assignments
      .filter((a) => a.row.user === row._uuid)
      .map(({ project, role }) => ({ project, role }))
      .sort((a, b) => `${a.project}:${a.role}`.localeCompare(`${b.project}:${b.role}`)),
  };
}

export async function showUser(db: IdentityDb, name: string): Promise<UserView> {
  checkIdentitySchema(db.schema);
  await findUser(db, name);
  return (await listUsers(db)).find((u) => u.name === name)!;
}

export interface NewUser {
  name: string;
  password: string;
  /** The user's default project, on which it is granted `role`. */
  project?: string;
  role?: string;
  /** A default project without a role on it (Keystone's default_project_id); not with `project`. */
  defaultProject?: string;
  /** Created disabled when false. */
  enabled?: boolean;
}

/** Adds a user (and its role on its default project) in one transaction. */
export async function addUser(db: IdentityDb, user: NewUser): Promise<UserView> {
  checkIdentitySchema(db.schema);
  checkName("user", user.name);
  checkPassword(user.password);
  if ((user.project === undefined) !== (user.role === undefined)) {
    throw new MicroOvnError(
      "BAD_REQUEST",
      "--project and --role go together: give both to grant the new user a role, or neither",
    );
  }
  const role = user.role === undefined ? undefined : checkRole(user.role);
  const projectName = user.project ?? user.defaultProject;
  const project = projectName === undefined ? undefined : await findProject(db, projectName);
  const roles = role === undefined ? undefined : await roleUuids(db);
  const now = Date.now();
  const txn = db.transaction();
  const userRow = txn.insert("Identity_User", {
    user_id: newId(),
    name: user.name,
    password_hash: await hashPassword(user.password),
    enabled: user.enabled ?? true,
    default_project: project?._uuid,
    created_at: now,
    password_changed_at: now,
  });
  if (project && role && roles) {
    txn.insert("Identity_Assignment", {
      user: userRow,
      project: project._uuid,
      role: roles.get(role)!,
    });
  }
  try {
    await txn.commit();
  } catch (e) {
    if (serverError(e) === "constraint violation") throw duplicate("user", user.name);
    if (serverError(e) === "referential integrity violation" && projectName !== undefined) {
      throw unknown("project", projectName);
    }
    throw e;
  }
  return showUser(db, user.name);
}

export async function setPassword(db: IdentityDb, name: string, password: string): Promise<void> {
  checkIdentitySchema(db.schema);
  checkPassword(password);
  const user = await findUser(db, name);
  const txn = db.transaction();
  const updated = txn.update("Identity_User", [["_uuid", "==", user._uuid]], {
    password_hash: await hashPassword(password),
    password_changed_at: Date.now(),
  });
  const result = await txn.commit();
  if (result.count(updated) === 0) throw unknown("user", name);
}

/**
 * Removes admin-role assignments matched by `where` (and whatever `more`
 * adds to the transaction), refused if no administrator would be left. The
 * `wait` makes a concurrent change to the administrators fail this attempt,
 * which then decides again on fresh rows.
 */
async function withoutAdmins(
  db: IdentityDb,
  removes: (a: IdentityAssignment) => boolean,
  refusal: string,
  change: (txn: ReturnType<IdentityDb["transaction"]>) => void,
): Promise<void> {
  await retryOnRace(async () => {
    const adminRole = (await db.select("Identity_Role", [["name", "==", ADMIN]], ["name"]))[0];
    const admins = adminRole
      ? await db.select("Identity_Assignment", [["role", "==", adminRole._uuid]])
      : [];
    const removed = admins.filter(removes);
    if (removed.length > 0 && removed.length === admins.length) {
      throw new MicroOvnError("LAST_ADMIN", refusal);
    }
    const txn = db.transaction();
    if (adminRole) {
      txn.wait("Identity_Assignment", {
        where: [["role", "==", adminRole._uuid]],
        columns: ["user", "project"],
        until: "==",
        rows: admins.map(({ user, project }) => ({ user, project })),
        timeoutMs: 0,
      });
    }
    change(txn);
    await txn.commit();
  });
}

/** Deletes a user and its role assignments; never the last user holding the admin role. */
export async function deleteUser(db: IdentityDb, name: string): Promise<void> {
  checkIdentitySchema(db.schema);
  const user = await findUser(db, name);
  await withoutAdmins(
    db,
    (a) => a.user === user._uuid,
    `"${name}" is the last user with the admin role; grant it to another user first ` +
      "(`microovn user grant NAME --project admin --role admin`)",
    (txn) => {
      txn.delete("Identity_Assignment", [["user", "==", user._uuid]]);
      txn.delete("Identity_User", [["_uuid", "==", user._uuid]]);
    },
  );
}

interface GrantTarget {
  user: IdentityUser;
  project: IdentityProject;
  role: RoleName;
  roleUuid: string;
}

/** A role on a project for a user, all by name, as `user grant|revoke` give them. */
export interface RoleGrant {
  user: string;
  project: string;
  role: string;
}

async function grantTarget(
  db: IdentityDb,
  { user: name, project: projectName, role: roleName }: RoleGrant,
): Promise<GrantTarget> {
  checkIdentitySchema(db.schema);
  const role = checkRole(roleName);
  const user = await findUser(db, name);
  const project = await findProject(db, projectName);
  const roleUuid = (await roleUuids(db)).get(role)!;
  return { user, project, role, roleUuid };
}

/** Grants a role on a project; returns false if the user held it already. */
export async function grantRole(db: IdentityDb, grant: RoleGrant): Promise<boolean> {
  const t = await grantTarget(db, grant);
  const txn = db.transaction();
  txn.insert("Identity_Assignment", {
    user: t.user._uuid,
    project: t.project._uuid,
    role: t.roleUuid,
  });
  try {
    await txn.commit();
    return true;
  } catch (e) {
    if (serverError(e) === "constraint violation") return false;
    if (serverError(e) === "referential integrity violation") {
      // Deleted on another member since we looked: say which.
      await findUser(db, grant.user);
      await findProject(db, grant.project);
    }
    throw e;
  }
}

/** Revokes a role on a project; returns false if the user did not hold it. */
export async function revokeRole(db: IdentityDb, grant: RoleGrant): Promise<boolean> {
  const t = await grantTarget(db, grant);
  const held = (a: { user: string; project: string; role: string }) =>
    a.user === t.user._uuid && a.project === t.project._uuid && a.role === t.roleUuid;
  const where: Condition<IdentityAssignment>[] = [
    ["user", "==", t.user._uuid],
    ["project", "==", t.project._uuid],
    ["role", "==", t.roleUuid],
  ];
  if ((await db.select("Identity_Assignment", where)).length === 0) return false;
  await withoutAdmins(
    db,
    held,
    `"${grant.user}" holds the last admin role assignment; grant the admin role to another user ` +
      "first (`microovn user grant NAME --project admin --role admin`)",
    (txn) => txn.delete("Identity_Assignment", where),
  );
  return true;
}

/**
 * What the first `enable openstack-api` of a cluster creates, while no user
 * holds the admin role: the roles, the `admin` project, the `admin` user
 * with `password`, and its admin role on the admin project. Returns
 * undefined when the cluster has an administrator already (also when another
 * member's bootstrap won the race), so enabling again creates nothing.
 */
export async function bootstrapIdentity(
  db: IdentityDb,
  password: string,
): Promise<IdentityBootstrap | undefined> {
  checkIdentitySchema(db.schema);
  const roles = await roleUuids(db);
  const adminRole = roles.get(ADMIN)!;
  if ((await db.select("Identity_Assignment", [["role", "==", adminRole]])).length > 0) {
    return undefined;
  }
  const [existing] = await db.select("Identity_Project", [["name", "==", ADMIN]]);
  const now = Date.now();
  const txn = db.transaction();
  txn.wait("Identity_Assignment", {
    where: [["role", "==", adminRole]],
    columns: ["user"],
    until: "==",
    rows: [],
    timeoutMs: 0,
  });
  const project =
    existing?._uuid ??
    txn.insert("Identity_Project", {
      project_id: newId(),
      name: ADMIN,
      description: "The cluster's administrators",
      domain: DEFAULT_DOMAIN,
      enabled: true,
    });
  const user = txn.insert("Identity_User", {
    user_id: newId(),
    name: ADMIN,
    password_hash: await hashPassword(password),
    enabled: true,
    default_project: project,
    created_at: now,
    password_changed_at: now,
  });
  txn.insert("Identity_Assignment", { user, project, role: adminRole });
  try {
    await txn.commit();
  } catch (e) {
    if (serverError(e) === "timed out") return undefined;
    if (serverError(e) === "constraint violation") {
      // Another member's bootstrap may have committed between our reads and this transaction.
      if ((await db.select("Identity_Assignment", [["role", "==", adminRole]])).length > 0) {
        return undefined;
      }
      throw new MicroOvnError(
        "ADMIN_USER_EXISTS",
        'no user holds the admin role, but a user named "admin" exists, so none could be ' +
          "created; grant it the role with `microovn user grant admin --project admin --role " +
          "admin` (after `microovn project add admin` if needed)",
      );
    }
    throw e;
  }
  return { project: ADMIN, user: ADMIN, role: ADMIN, password };
}

/** What `updateProject` may change; absent fields stay. */
export interface ProjectChange {
  name?: string;
  description?: string;
  enabled?: boolean;
}

/** Renames, describes, enables or disables a project, in one transaction. */
export async function updateProject(
  db: IdentityDb,
  name: string,
  change: ProjectChange,
): Promise<ProjectView> {
  checkIdentitySchema(db.schema);
  const project = await findProject(db, name);
  if (change.name !== undefined) checkName("project", change.name);
  const txn = db.transaction();
  txn.update("Identity_Project", [["_uuid", "==", project._uuid]], {
    ...(change.name !== undefined ? { name: change.name } : {}),
    ...(change.description !== undefined ? { description: change.description } : {}),
    ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
  });
  try {
    await txn.commit();
  } catch (e) {
    if (serverError(e) === "constraint violation") throw duplicate("project", change.name ?? name);
    throw e;
  }
  return projectView({ ...project, ...change });
}

/** What `updateUser` may change; absent fields stay (`defaultProject: null` clears it). */
export interface UserChange {
  name?: string;
  enabled?: boolean;
  defaultProject?: string | null;
  password?: string;
}

/**
 * Renames, enables or disables a user, sets its default project or its
 * password, in one transaction. A new password also ends every token issued
 * before it (they carry their issue time; password_changed_at is later).
 */
export async function updateUser(db: IdentityDb, name: string, change: UserChange): Promise<void> {
  checkIdentitySchema(db.schema);
  const user = await findUser(db, name);
  if (change.name !== undefined) checkName("user", change.name);
  const project =
    typeof change.defaultProject === "string"
      ? await findProject(db, change.defaultProject)
      : undefined;
  const password =
    change.password === undefined
      ? {}
      : {
          password_hash: await hashPassword(checkPassword(change.password)),
          password_changed_at: Date.now(),
        };
  const update = (txn: ReturnType<IdentityDb["transaction"]>) =>
    txn.update("Identity_User", [["_uuid", "==", user._uuid]], {
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.enabled !== undefined ? { enabled: change.enabled } : {}),
      ...(change.defaultProject !== undefined ? { default_project: project?._uuid } : {}),
      ...password,
    });
  try {
    if (change.enabled === false) {
      // A disabled administrator administers nothing: one enabled one must stay.
      const disabled = await db.select("Identity_User", [["enabled", "==", false]], ["name"]);
      const off = new Set([user._uuid, ...disabled.map((u) => u._uuid)]);
      await withoutAdmins(
        db,
        (a) => off.has(a.user),
        `"${name}" is the last enabled user with the admin role; grant the role to another ` +
          "user first (`microovn user grant NAME --project admin --role admin`)",
        (txn) => void update(txn),
      );
    } else {
      const txn = db.transaction();
      update(txn);
      await txn.commit();
    }
  } catch (e) {
    if (serverError(e) === "constraint violation") throw duplicate("user", change.name ?? name);
    throw e;
  }
}
