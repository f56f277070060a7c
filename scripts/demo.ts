/**
 * A short tour of the OVSDB client against a real OVN Northbound database:
 * starts a single-member Raft NB ovsdb-server in a temporary directory,
 * writes a logical switch with ports in one transaction, watches it through a
 * replica, and stops the server again. Run with `npm run demo`.
 */
import { OvsdbClient } from "../src/ovsdb/client/client.js";
import type { OvnNorthboundDatabase } from "../src/ovsdb/models/ovn-northbound.js";
import { Replica } from "../src/ovsdb/replica/replica.js";
import { INSTALLED_SCHEMAS } from "../src/ovsdb/schema/installed.js";
import { startRaftCluster } from "../test/helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";

const started = performance.now();
const dir = await makeTempDir("demo");
const cluster = await startRaftCluster({
  dir,
  schemaFile: INSTALLED_SCHEMAS.northbound.file,
  size: 1,
});

try {
  const nb = await OvsdbClient.connect<OvnNorthboundDatabase>({
    remotes: cluster.members[0]!.unixRemote,
    database: "OVN_Northbound",
  });
  console.log(
    `connected to ${nb.currentRemote} (${nb.schema.name} ${nb.schema.version}, Raft leader)`,
  );

  const replica = await Replica.start(nb, {
    Logical_Switch: { columns: ["name", "ports"] },
    Logical_Switch_Port: { columns: ["name", "addresses"] },
  });
  replica.on("change", (changes) => {
    for (const c of changes) console.log(`  replica: ${c.kind} ${c.table} ${c.row.name as string}`);
  });

  const txn = nb.transaction();
  const ports = ["vm1", "vm2", "vm3"].map((name, i) =>
    txn.insert("Logical_Switch_Port", {
      name,
      addresses: [`00:00:00:00:00:0${i + 1} 10.0.0.${i + 1}`],
    }),
  );
  txn.insert("Logical_Switch", { name: "sw0", ports, external_ids: { purpose: "demo" } });
  await txn.commit();

  const sw = replica.table("Logical_Switch").filter((s) => s.name === "sw0")[0]!;
  console.log(`sw0 has ${sw.ports.length} ports:`);
  for (const uuid of sw.ports) {
    const port = replica.table("Logical_Switch_Port").get(uuid)!;
    console.log(`  ${port.name}  ${port.addresses.join(", ")}`);
  }
  console.log(
    `done in ${((performance.now() - started) / 1000).toFixed(2)} s (server start included)`,
  );
  replica.close();
  nb.close();
} finally {
  await cluster.stop();
  await removeDir(dir);
}
