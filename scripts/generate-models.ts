/**
 * Regenerates src/ovsdb/models/*.ts from the schemas of the installed OVN and
 * Open vSwitch packages and our own (schemas/), plus `_Server`, which ovsdb-server builds in and
 * which is read here from a short-lived ovsdb-server.
 *
 *   npm run generate:models
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OvsdbClient } from "../src/ovsdb/client/client.js";
import { generateModels } from "../src/ovsdb/schema/generate.js";
import { INSTALLED_SCHEMAS, MODEL_SOURCES } from "../src/ovsdb/schema/installed.js";
import { parseSchema, type DatabaseSchema } from "../src/ovsdb/schema/schema.js";
import { startStandalone } from "../test/helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";

const OUT = new URL("../src/ovsdb/models/", import.meta.url).pathname;

async function serverSchema(): Promise<DatabaseSchema> {
  const dir = await makeTempDir("gen");
  const server = await startStandalone({ dir, schemaFile: INSTALLED_SCHEMAS.northbound.file });
  try {
    const client = await OvsdbClient.connect({ remotes: server.unixRemote });
    try {
      return await client.getSchema("_Server");
    } finally {
      client.close();
    }
  } finally {
    await server.stop();
    await removeDir(dir);
  }
}

for (const { file, label, model } of MODEL_SOURCES) {
  const schema = parseSchema(JSON.parse(await readFile(file, "utf8")));
  await writeFile(join(OUT, model), generateModels(schema, `${label} (version ${schema.version})`));
  console.log(`${model}: ${schema.name} ${schema.version}, ${schema.tables.size} tables`);
}
const server = await serverSchema();
await writeFile(
  join(OUT, "server.ts"),
  generateModels(server, "ovsdb-server's built-in _Server database"),
);
console.log(`server.ts: ${server.name} ${server.version}, ${server.tables.size} tables`);
