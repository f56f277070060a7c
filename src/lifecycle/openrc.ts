/**
 * `microovn openstack-api openrc [--user NAME]`: what the `openstack` CLI
 * needs to reach this cluster's OpenStack API, nothing else to set: the
 * Identity URL of a member running the service (this one if it does), the
 * cluster CA that signs its certificate, the user and the project to scope
 * to. The admin password is included where it is known: on the member whose
 * `enable openstack-api` created it, and only while it is still the
 * password (a changed one is not guessed).
 */
import { readFile } from "node:fs/promises";
import { MicroOvnError } from "../errors.js";
import { verifyPassword } from "../identity/password.js";
import { ADMIN, showUser } from "../identity/store.js";
import { joinHostPort } from "../cluster/member-client.js";
import { IDENTITY_PORTS } from "../openstack/service.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { withIdentityStore } from "./identity.js";

export interface Openrc {
  authUrl: string;
  caCert: string;
  userName: string;
  projectName: string;
  /** The admin password, when this member knows it and it is still valid. */
  password?: string;
  /** Why there is no password, for the user to read. */
  passwordNote: string;
}

function serviceAddress(rt: MemberRuntime): string {
  const config = rt.requireConfig();
  if (config.services.includes("openstack-api")) return config.address;
  const other = [...rt.layout.members]
    .sort((a, b) => a.name.localeCompare(b.name))
    .find((m) => m.services.includes("openstack-api"));
  if (!other) {
    throw new MicroOvnError(
      "OPENSTACK_API_NOT_ENABLED",
      "no member runs the OpenStack API; start it with `microovn enable openstack-api`",
    );
  }
  return other.address;
}

async function storedAdminPassword(rt: MemberRuntime): Promise<string | undefined> {
  try {
    return (await readFile(rt.state.openstackAdminPasswordPath, "utf8")).replace(/\r?\n$/, "");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

export async function openrc(rt: MemberRuntime, userName = ADMIN): Promise<Openrc> {
  const address = serviceAddress(rt);
  const stored = userName === ADMIN ? await storedAdminPassword(rt) : undefined;
  const { user, hash } = await withIdentityStore(rt, async (db) => {
    const user = await showUser(db, userName);
    const [row] = await db.select("Identity_User", [["name", "==", userName]], ["password_hash"]);
    return { user, hash: row?.password_hash ?? "" };
  });
  const projects = [...new Set(user.roles.map((r) => r.project))].sort();
  const projectName =
    user.defaultProject !== undefined && projects.includes(user.defaultProject)
      ? user.defaultProject
      : projects[0];
  if (projectName === undefined) {
    throw new MicroOvnError(
      "USER_WITHOUT_PROJECT",
      `user "${userName}" holds no role on any project, so no token could be scoped; grant one ` +
        `first: \`microovn user grant ${userName} --project PROJECT --role member\``,
    );
  }
  let password: string | undefined;
  let passwordNote: string;
  if (userName !== ADMIN) {
    passwordNote = `set OS_PASSWORD to ${userName}'s password`;
  } else if (stored === undefined) {
    passwordNote =
      "this member does not know the admin password (the first `enable openstack-api` " +
      "printed it where it ran); set OS_PASSWORD";
  } else if (!(await verifyPassword(stored, hash))) {
    passwordNote = "the admin password was changed since the first enable; set OS_PASSWORD";
  } else {
    password = stored;
    passwordNote = "";
  }
  return {
    authUrl: `https://${joinHostPort(address, IDENTITY_PORTS[0])}/v3`,
    caCert: rt.pki.caCertPath,
    userName,
    projectName,
    ...(password !== undefined ? { password } : {}),
    passwordNote,
  };
}
