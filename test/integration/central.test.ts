/**
 * The central service on real programs: NB and SB as one-member Raft
 * clusters over TLS with our PKI, ovn-northd translating a logical switch
 * from NB into SB, and no plain-TCP access.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StateDir } from "../../src/member/state-dir.js";
import { Central } from "../../src/ovn/central.js";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { OvsdbError } from "../../src/ovsdb/errors.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import type { OvnSouthboundDatabase } from "../../src/ovsdb/models/ovn-southbound.js";
import { PkiStore, type CertificateService } from "../../src/pki/store.js";
import { run } from "../../src/process/run.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { Supervisor } from "../../src/supervisor/supervisor.js";
import { trackPid } from "../helpers/processes.js";
import { freePort, makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

let dir: string;
let central: Central;
let pki: PkiStore;
const supervisor = new Supervisor({ initialBackoffMs: 50 });
supervisor.on("started", (s) => s.pid !== undefined && trackPid(s.pid));
const clients: OvsdbClient[] = [];

before(async () => {
  dir = await makeTempDir("central");
  const state = new StateDir(dir);
  pki = new PkiStore(state.pkiDir);
  const ca = await createCa();
  await pki.writeCa(ca);
  for (const service of ["ovnnb", "ovnsb", "ovn-northd", "client"] as CertificateService[]) {
    await pki.writeService(
      service,
      await issueCertificate({ ca, member: "m1", service, addresses: ["127.0.0.1"] }),
    );
  }
  central = new Central(state, pki, "127.0.0.1", {
    nb: await freePort(),
    nbRaft: await freePort(),
    sb: await freePort(),
    sbRaft: await freePort(),
  });
  for (const db of ["nb", "sb"] as const) {
    await central.createDb(db);
    await supervisor.start(central.dbServerSpec(db));
  }
  await supervisor.start(
    central.northdSpec([central.clientRemote("nb")], [central.clientRemote("sb")]),
  );
});

after(async () => {
  for (const c of clients) c.close();
  await supervisor.stopAll(2000);
  await removeDir(dir);
});

describe("central: NB, SB and ovn-northd over TLS", () => {
  it("creates both databases as Raft clusters with ssl addresses", async () => {
    for (const db of ["nb", "sb"] as const) {
      // The server makes its control socket a moment after it starts: ask until it answers.
      const status = await waitFor(`${db}'s cluster/status`, async () =>
        run("ovs-appctl", [
          "-t",
          central.controlSocket(db),
          "cluster/status",
          central.databaseName(db),
        ]).then(
          (r) => r.stdout,
          () => undefined,
        ),
      );
      assert.match(status, /Role: leader/);
      assert.match(status, new RegExp(`Address: ssl:127\\.0\\.0\\.1:${central.raftPort(db)}`));
    }
  });

  it("lets ovn-northd turn a logical switch in NB into a datapath in SB", async () => {
    const tls = pki.tlsFiles("client");
    const nb = await OvsdbClient.connect<OvnNorthboundDatabase>({
      remotes: central.clientRemote("nb"),
      database: "OVN_Northbound",
      tls,
    });
    const sb = await OvsdbClient.connect<OvnSouthboundDatabase>({
      remotes: central.clientRemote("sb"),
      database: "OVN_Southbound",
      tls,
    });
    clients.push(nb, sb);
    const txn = nb.transaction();
    txn.insert("Logical_Switch", { name: "sw0" });
    await txn.commit();
    const datapath = await waitFor("the datapath in SB", async () => {
      const rows = await sb.select("Datapath_Binding", [], ["external_ids", "tunnel_key"]);
      return rows.find((r) => r.external_ids.get("name") === "sw0");
    });
    assert.ok(datapath.tunnel_key > 0);
    // The listener is on the command line, not in the replicated connections table.
    const [global] = await nb.select("NB_Global", [], ["connections"]);
    assert.equal(global?.connections.length, 0);
  });

  it("offers no plain TCP", async () => {
    await assert.rejects(
      OvsdbClient.connect({
        remotes: `tcp:127.0.0.1:${central.ports.nb}`,
        database: "OVN_Northbound",
        waitForConnectionMs: 1000,
      }),
      (e: OvsdbError) => e.code === "OVSDB_NOT_CONNECTED",
    );
  });
});
