/**
 * Regenerates src/ovsdb/models/*.ts from the schemas of the installed OVN and
 * Open vSwitch packages, plus `_Server`, which ovsdb-server builds in and
 * which is read here from a short-lived ovsdb-server.
 *
 *   npm run generate:models
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OvsdbClient } from "../src/ovsdb/client/client.js";
import { generateModels } from "../src/ovsdb/schema/generate.js";
import { parseSchema, type DatabaseSchema } from "../src/ovsdb/schema/schema.js";
import { run, spawnDetached } from "../src/process/run.js";

const OUT = new URL("../src/ovsdb/models/", import.meta.url).pathname;

const INSTALLED = [
  { file: "/usr/share/ovn/ovn-nb.ovsschema", out: "ovn-northbound.ts" },
  { file: "/usr/share/ovn/ovn-sb.ovsschema", out: "ovn-southbound.ts" },
  { file: "/usr/share/openvswitch/vswitch.ovsschema", out: "open-vswitch.ts" },
];

async function serverSchema(): Promise<DatabaseSchema> {
  const dir = await mkdtemp(join(tmpdir(), "gen-"));
  const db = join(dir, "nb.db");
  const sock = join(dir, "db.sock");
  await run("ovsdb-tool", ["create", db, INSTALLED[0]!.file]);
  const server = await spawnDetached(
    "ovsdb-server",
    [
      db,
      `--remote=punix:${sock}`,
      `--unixctl=${join(dir, "ctl")}`,
      `--pidfile=${join(dir, "pid")}`,
    ],
    { logFile: join(dir, "log"), env: { OVS_RUNDIR: dir, OVS_DBDIR: dir } },
  );
  try {
    const client = await OvsdbClient.connect({
      remotes: `unix:${sock}`,
      waitForConnectionMs: 10_000,
    });
    try {
      return await client.getSchema("_Server");
    } finally {
      client.close();
    }
  } finally {
    process.kill(server.pid, "SIGTERM");
    await server.exited;
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (const { file, out } of INSTALLED) {
    const schema = parseSchema(JSON.parse(await readFile(file, "utf8")));
    await writeFile(join(OUT, out), generateModels(schema, `${file} (version ${schema.version})`));
    console.log(`${out}: ${schema.name} ${schema.version}, ${schema.tables.size} tables`);
  }
  const server = await serverSchema();
  await writeFile(
    join(OUT, "server.ts"),
    generateModels(server, "ovsdb-server's built-in _Server database"),
  );
  console.log(`server.ts: ${server.name} ${server.version}, ${server.tables.size} tables`);
}

await main();
