/**
 * A member whose MicroOVN is newer or older than the state database's
 * running schema, on real ovsdb-servers: the client reads and writes
 * through the schema the server reports, never the generated model. Against
 * an older schema the replica monitors only the columns the server has, a
 * write naming a column the server lacks is refused before anything is
 * sent, and a whole row can be cut down to what the server has; against a
 * newer one, rows come with the columns the model does not know and writes
 * from the model still go in.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { MicroOVNDatabase } from "../../src/ovsdb/models/microovn.js";
import { Replica } from "../../src/ovsdb/replica/replica.js";
import { PROJECT_SCHEMAS } from "../../src/ovsdb/schema/installed.js";
import { startStandalone, type OvsdbServerHandle } from "../helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

type RawSchema = {
  version: string;
  tables: Record<string, { columns: Record<string, unknown>; isRoot?: boolean }>;
};

let dir: string;
const servers: OvsdbServerHandle[] = [];
let older: OvsdbServerHandle;
let newer: OvsdbServerHandle;

async function derive(name: string, change: (s: RawSchema) => void): Promise<string> {
  const schema = JSON.parse(await readFile(PROJECT_SCHEMAS.microovn.file, "utf8")) as RawSchema;
  change(schema);
  const file = join(dir, `${name}.ovsschema`);
  await writeFile(file, JSON.stringify(schema));
  return file;
}

function connect(server: OvsdbServerHandle): Promise<OvsdbClient<MicroOVNDatabase>> {
  return OvsdbClient.connect<MicroOVNDatabase>({
    remotes: server.unixRemote,
    database: "MicroOVN",
    leaderOnly: false,
  });
}

/** A whole Member row as this version's model has it. */
const ROW = {
  name: "m1",
  address: "10.0.0.1",
  role: "voter" as const,
  fingerprint: "aa",
  heartbeat: 1,
  services: ["central" as const],
  chassis: new Map<string, string>(),
  versions: new Map([["state-schema", "1.2.0"]]),
};

before(async () => {
  dir = await makeTempDir("schemasafe");
  const olderFile = await derive("older", (s) => {
    s.version = "1.0.0";
    delete s.tables.Member!.columns.versions;
    delete s.tables.Identity_Revoked_Token;
  });
  const newerFile = await derive("newer", (s) => {
    s.version = "9.0.0";
    s.tables.Member!.columns.upgrade_note = { type: { key: "string", min: 0, max: 1 } };
  });
  older = await startStandalone({ dir: join(dir, "old"), schemaFile: olderFile });
  servers.push(older);
  newer = await startStandalone({ dir: join(dir, "new"), schemaFile: newerFile });
  servers.push(newer);
});

after(async () => {
  for (const s of servers) await s.stop();
  await removeDir(dir);
});

describe("a client newer than the running schema", () => {
  it("uses the server's schema, not the generated model", async () => {
    const client = await connect(older);
    try {
      assert.equal(client.schema.version, "1.0.0");
      assert.equal(client.schema.tables.get("Member")?.columns.has("versions"), false);
    } finally {
      client.close();
    }
  });

  it("refuses a write naming a column the server lacks, sending nothing", async () => {
    const client = await connect(older);
    try {
      const txn = client.transaction();
      assert.throws(
        () => txn.insert("Member", ROW),
        (e: Error & { code?: string }) =>
          e.code === "OVSDB_SCHEMA" && /table Member has no column "versions"/.test(e.message),
      );
      assert.equal(txn.size, 0);
      assert.equal((await client.select("Member")).length, 0, "nothing reached the server");
    } finally {
      client.close();
    }
  });

  it("writes a whole row cut down to the server's columns", async () => {
    const client = await connect(older);
    try {
      const known = client.codec("Member").knownColumns(ROW);
      assert.equal("versions" in known, false);
      assert.equal(known.name, "m1");
      const txn = client.transaction();
      txn.insert("Member", known);
      await txn.commit();
      const [row] = await client.select("Member", [["name", "==", "m1"]]);
      assert.equal(row?.address, "10.0.0.1");
    } finally {
      client.close();
    }
  });

  it("monitors only the server's columns and refuses ones it lacks by name", async () => {
    const client = await connect(older);
    try {
      // The server would refuse a monitor naming "versions": this one works.
      const replica = await Replica.start(client, { Member: true });
      const row = replica.table("Member").lookup({ name: "m1" });
      assert.equal(row?.address, "10.0.0.1");
      assert.equal("versions" in (row ?? {}), false);
      replica.close();
      await assert.rejects(
        Replica.start(client, { Member: { columns: ["name", "versions"] } }),
        /table Member has no column "versions"/,
      );
      await assert.rejects(
        Replica.start(client, { Identity_Revoked_Token: true }),
        /database MicroOVN has no table "Identity_Revoked_Token" \(schema version 1\.0\.0\)/,
      );
    } finally {
      client.close();
    }
  });
});

describe("a client older than the running schema", () => {
  it("writes rows from its model and reads the columns it does not know", async () => {
    const client = await connect(newer);
    try {
      const txn = client.transaction();
      txn.insert("Member", ROW);
      await txn.commit();
      const replica = await Replica.start(client, { Member: true });
      const row = replica.table("Member").lookup({ name: "m1" }) as unknown as Record<
        string,
        unknown
      >;
      assert.equal(row.address, "10.0.0.1");
      assert.equal(row.upgrade_note, undefined);
      assert.ok("upgrade_note" in row, "the newer column is monitored");
      replica.close();
    } finally {
      client.close();
    }
  });
});
