/**
 * The NB and SB schemas of the OVN installed on this machine: where their
 * files are (Debian's /usr/share/ovn, or `MICROOVN_OVN_SCHEMA_DIR` for an OVN
 * installed elsewhere), the version each one ships (what this member
 * expects the clustered databases to run), and converting a running
 * clustered database to one of them online.
 *
 * src/ovsdb/schema/installed.ts names Debian's files for model generation
 * only; everything that runs uses the directory chosen here.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { join } from "node:path";
import { MicroOvnError } from "../errors.js";
import { run } from "../process/run.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";

/** NB or SB. */
export type CentralDatabase = "nb" | "sb";

/** Read by microovnd and the CLI alike. */
export const OVN_SCHEMA_DIR_VARIABLE = "MICROOVN_OVN_SCHEMA_DIR";
export const DEFAULT_OVN_SCHEMA_DIR = "/usr/share/ovn";

const SCHEMA_FILES: Record<CentralDatabase, string> = {
  nb: "ovn-nb.ovsschema",
  sb: "ovn-sb.ovsschema",
};

/** The directory the OVN schemas are read from, as this process's environment says. */
export function ovnSchemaDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[OVN_SCHEMA_DIR_VARIABLE];
  return dir === undefined || dir === "" ? DEFAULT_OVN_SCHEMA_DIR : dir;
}

/** The schema file of `db` in the schema directory (not checked). */
export function ovnSchemaFile(db: CentralDatabase, env: NodeJS.ProcessEnv = process.env): string {
  return join(ovnSchemaDir(env), SCHEMA_FILES[db]);
}

function badSchema(file: string, why: string, env: NodeJS.ProcessEnv): MicroOvnError {
  const dir = env[OVN_SCHEMA_DIR_VARIABLE];
  const where =
    dir === undefined || dir === ""
      ? `Debian's OVN schema directory ${DEFAULT_OVN_SCHEMA_DIR} (install ovn-common, or set ` +
        `${OVN_SCHEMA_DIR_VARIABLE} to the directory of the OVN you run)`
      : `${OVN_SCHEMA_DIR_VARIABLE}=${dir} (point it at the directory holding ` +
        `${Object.values(SCHEMA_FILES).join(" and ")}, or unset it for ${DEFAULT_OVN_SCHEMA_DIR})`;
  return new MicroOvnError("OVN_SCHEMA_UNUSABLE", `${file} ${why}: check ${where}`);
}

/**
 * The schema file of `db`, checked to be readable: creating a database
 * from it or reporting its version must not fail halfway.
 */
export async function readableOvnSchemaFile(
  db: CentralDatabase,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const file = ovnSchemaFile(db, env);
  try {
    await access(file, constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw badSchema(file, code === "ENOENT" ? "does not exist" : `cannot be read (${code})`, env);
  }
  return file;
}

/**
 * Versions read, by file, with the file's change time and size then: every
 * central asks every member every few seconds, and a package upgrade that
 * replaces the file changes both.
 */
const versionCache = new Map<string, { stamp: string; version: string }>();

/** The version the schema file of `db` ships (`ovsdb-tool schema-version`). */
export async function expectedSchemaVersion(
  db: CentralDatabase,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const file = await readableOvnSchemaFile(db, env);
  const info = await stat(file);
  const stamp = `${info.ino}:${info.ctimeMs}:${info.size}`;
  const cached = versionCache.get(file);
  if (cached?.stamp === stamp) return cached.version;
  const result = await run("ovsdb-tool", ["schema-version", file], {
    allowFailure: true,
    timeoutMs: 10_000,
  });
  const version = result.stdout.trim();
  if (result.exitCode !== 0 || !/^\d+\.\d+\.\d+$/.test(version)) {
    throw badSchema(file, `is not an OVSDB schema (${result.stderr.trim() || version})`, env);
  }
  versionCache.set(file, { stamp, version });
  return version;
}

/** The NB and SB versions this member's OVN ships. */
export async function expectedSchemaVersions(
  env: NodeJS.ProcessEnv = process.env,
): Promise<Record<CentralDatabase, string>> {
  const [nb, sb] = await Promise.all([
    expectedSchemaVersion("nb", env),
    expectedSchemaVersion("sb", env),
  ]);
  return { nb, sb };
}

const DATABASE_NAMES: Record<CentralDatabase, string> = {
  nb: INSTALLED_SCHEMAS.northbound.database,
  sb: INSTALLED_SCHEMAS.southbound.database,
};

/** The schema version the server behind the unix socket `socket` runs `db` with. */
export async function activeSchemaVersion(socket: string, db: CentralDatabase): Promise<string> {
  const client = await OvsdbClient.connect({
    remotes: `unix:${socket}`,
    leaderOnly: false,
    waitForConnectionMs: 5_000,
  });
  try {
    return (await client.getSchema(DATABASE_NAMES[db])).version;
  } finally {
    client.close();
  }
}

/**
 * Converts the clustered database behind `socket` (this member's server,
 * follower or leader: a follower hands the conversion to the leader through
 * Raft, measured on OVS 3.1) to the schema of `schemaFile`, online: clients
 * stay connected and are sent the new schema.
 */
export async function convertOnline(
  socket: string,
  schemaFile: string,
  timeoutMs: number,
): Promise<void> {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  await run("ovsdb-client", [`--timeout=${seconds}`, "convert", `unix:${socket}`, schemaFile], {
    timeoutMs: timeoutMs + 5_000,
  });
}
