/**
 * Runs inside a surviving member's namespace during the cluster benchmark
 * (`node --import tsx bench/lib/failover-probe.ts NB_REMOTES SB_REMOTES
 * PKI_DIR CHASSIS…`). Connects to NB and SB with the member's client
 * certificate, prints "ready", and waits for a line on stdin: the wall-clock
 * time (ms) at which the leader was killed. From then on it tries, through
 * our own OVSDB client, to add an ACL and bump NB_Global.nb_cfg (what
 * `ovn-nbctl --wait=hv` does) until a transaction succeeds, then watches
 * Chassis_Private until every named chassis reports that nb_cfg. Prints one
 * JSON line: {"nb_write_s", "acl_all_chassis_s"} measured from the kill.
 */
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import type { OvnSouthboundDatabase } from "../../src/ovsdb/models/ovn-southbound.js";

const [nbRemotes, sbRemotes, pkiDir, ...chassis] = process.argv.slice(2);
const tls = {
  privateKey: `${pkiDir}/client-privkey.pem`,
  certificate: `${pkiDir}/client-cert.pem`,
  caCert: `${pkiDir}/cacert.pem`,
};
const backoff = { initialMs: 20, maxMs: 200 };
const nb = await OvsdbClient.connect<OvnNorthboundDatabase>({
  remotes: nbRemotes!.split(","),
  database: "OVN_Northbound",
  tls,
  backoff,
  waitForConnectionMs: 30_000,
  requestTimeoutMs: 500,
});
const sb = await OvsdbClient.connect<OvnSouthboundDatabase>({
  remotes: sbRemotes!.split(","),
  database: "OVN_Southbound",
  tls,
  backoff,
  leaderOnly: false,
  waitForConnectionMs: 30_000,
  requestTimeoutMs: 500,
});
const [sw] = await nb.select("Logical_Switch", [["name", "==", "bench-sw"]], ["name"]);
if (!sw) throw new Error("the logical switch bench-sw is missing");
process.stdout.write("ready\n");

const lines = createInterface({ input: process.stdin });
const killedAt = Number(await new Promise<string>((resolve) => lines.once("line", resolve)));
lines.close();

let target = 0;
for (let attempt = 0; ; attempt++) {
  try {
    const [global] = await nb.select("NB_Global", [], ["nb_cfg"]);
    target = (global?.nb_cfg ?? 0) + 1;
    const txn = nb.transaction();
    const acl = txn.insert("ACL", {
      direction: "to-lport",
      priority: 1000 + (attempt % 1000),
      match: `ip4.src == 192.0.2.${1 + (attempt % 250)}`,
      action: "drop",
    });
    txn.mutate("Logical_Switch", [["_uuid", "==", sw._uuid]], [["acls", "insert", [acl]]]);
    txn.update("NB_Global", [["_uuid", "==", global!._uuid]], { nb_cfg: target });
    await txn.commit();
    break;
  } catch {
    await delay(20);
  }
}
const writtenAt = Date.now();

for (;;) {
  try {
    const rows = await sb.select("Chassis_Private", [], ["name", "nb_cfg"]);
    const done = chassis.every(
      (name) => (rows.find((r) => r.name === name)?.nb_cfg ?? 0) >= target,
    );
    if (done) break;
  } catch {
    /* reconnecting */
  }
  await delay(20);
}
const appliedAt = Date.now();
process.stdout.write(
  `${JSON.stringify({
    nb_write_s: (writtenAt - killedAt) / 1000,
    acl_all_chassis_s: (appliedAt - killedAt) / 1000,
  })}\n`,
);
nb.close();
sb.close();
