/**
 * The cluster state database on a real ovsdb-server: a one-member Raft
 * cluster of our MicroOVN schema, served over TLS with the member API
 * certificate, written and read with our typed client, and closed to
 * clients without a certificate from the cluster CA.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StateDb, STATE_DATABASE } from "../../src/cluster/state-db.js";
import { StateDir } from "../../src/member/state-dir.js";
import { readClusterStatus } from "../../src/ovn/raft.js";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { MicroOVNDatabase } from "../../src/ovsdb/models/microovn.js";
import { PkiStore } from "../../src/pki/store.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { Supervisor } from "../../src/supervisor/supervisor.js";
import { trackPid } from "../helpers/processes.js";
import { freePort, makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

let dir: string;
let stateDb: StateDb;
let pki: PkiStore;
const supervisor = new Supervisor({ initialBackoffMs: 50 });
supervisor.on("started", (s) => s.pid !== undefined && trackPid(s.pid));

before(async () => {
  dir = await makeTempDir("statedb");
  const state = new StateDir(dir);
  pki = new PkiStore(state.pkiDir);
  const ca = await createCa();
  await pki.writeCa(ca);
  for (const service of ["microovn", "client"] as const) {
    await pki.writeService(
      service,
      await issueCertificate({ ca, member: "m1", service, addresses: ["127.0.0.1"] }),
    );
  }
  stateDb = new StateDb(state, pki, "127.0.0.1", {
    client: await freePort(),
    raft: await freePort(),
  });
  await stateDb.createDb();
  await stateDb.createDb(); // an existing database is kept
  await supervisor.start(stateDb.serverSpec());
});

after(async () => {
  await supervisor.stopAll(2000);
  await removeDir(dir);
});

describe("cluster state database", () => {
  it("is a one-member Raft cluster with an ssl address", async () => {
    const status = await waitFor("cluster/status", () =>
      readClusterStatus(stateDb.controlSocket, STATE_DATABASE),
    );
    assert.equal(status.role, "leader");
    assert.equal(status.address, `ssl:127.0.0.1:${stateDb.ports.raft}`);
  });

  it("stores members over TLS through the typed client", async () => {
    const client = await OvsdbClient.connect<MicroOVNDatabase>({
      remotes: stateDb.clientRemote,
      database: STATE_DATABASE,
      tls: pki.tlsFiles("client"),
    });
    try {
      const txn = client.transaction();
      txn.insert("Member", {
        name: "m1",
        address: "127.0.0.1",
        role: "voter",
        fingerprint: "ab".repeat(32),
        heartbeat: Date.now(),
        services: ["central", "switch", "chassis"],
      });
      await txn.commit();
      const [member] = await client.select("Member", [["name", "==", "m1"]]);
      assert.equal(member?.role, "voter");
      assert.deepEqual([...(member?.services ?? [])].sort(), ["central", "chassis", "switch"]);
      const duplicate = client.transaction();
      duplicate.insert("Member", { name: "m1", address: "127.0.0.2", role: "spare" });
      await assert.rejects(duplicate.commit(), /constraint violation|duplicate/i);
    } finally {
      client.close();
    }
  });

  it("refuses clients without a certificate from the cluster CA", async () => {
    const other = await createCa({ commonName: "Other CA" });
    const strangerDir = await makeTempDir("stranger");
    try {
      const strangerPki = new PkiStore(strangerDir);
      await strangerPki.writeCa(other);
      await strangerPki.writeService(
        "client",
        await issueCertificate({ ca: other, member: "x", service: "client" }),
      );
      await assert.rejects(
        OvsdbClient.connect({
          remotes: stateDb.clientRemote,
          database: STATE_DATABASE,
          tls: strangerPki.tlsFiles("client"),
          waitForConnectionMs: 1_500,
        }),
      );
    } finally {
      await removeDir(strangerDir);
    }
  });
});
