/**
 * The state database schema this member ships: schemas/microovn.ovsschema
 * of its installation, or the file `MICROOVN_STATE_SCHEMA` names (for
 * packagers that install it elsewhere, and for tests that make a member
 * ship a newer schema). Its version is what the member reports in its row;
 * the state database is created from it and, once every member reports the
 * same newer version, converted to it.
 */
import { readFile } from "node:fs/promises";
import { MicroOvnError } from "../errors.js";
import { PROJECT_SCHEMAS } from "../ovsdb/schema/installed.js";
import { parseSchema } from "../ovsdb/schema/schema.js";

export const STATE_SCHEMA_ENV = "MICROOVN_STATE_SCHEMA";

/** The schema file to use: `MICROOVN_STATE_SCHEMA` when set, else the installed one. */
export function stateSchemaFile(env: NodeJS.ProcessEnv = process.env): string {
  const chosen = env[STATE_SCHEMA_ENV];
  return chosen === undefined || chosen === "" ? PROJECT_SCHEMAS.microovn.file : chosen;
}

export interface ShippedSchema {
  file: string;
  version: string;
}

/**
 * Reads the shipped schema and checks that it is one of the MicroOVN state
 * database; a file that is not is refused with what to do, before anything
 * uses it.
 */
export async function readShippedStateSchema(
  env: NodeJS.ProcessEnv = process.env,
): Promise<ShippedSchema> {
  const file = stateSchemaFile(env);
  const fix =
    env[STATE_SCHEMA_ENV] === undefined || env[STATE_SCHEMA_ENV] === ""
      ? "reinstall MicroOVN (`./scripts/setup.sh`)"
      : `point ${STATE_SCHEMA_ENV} at a schema file of database ` +
        `${PROJECT_SCHEMAS.microovn.database}, or unset it to use ${PROJECT_SCHEMAS.microovn.file}`;
  let version: string;
  try {
    const schema = parseSchema(JSON.parse(await readFile(file, "utf8")));
    if (schema.name !== PROJECT_SCHEMAS.microovn.database) {
      throw new Error(`it is the schema of database ${schema.name}`);
    }
    version = schema.version;
  } catch (e) {
    throw new MicroOvnError(
      "STATE_SCHEMA_UNUSABLE",
      `the state database schema ${file} cannot be used (${(e as Error).message}); ${fix}`,
    );
  }
  return { file, version };
}
