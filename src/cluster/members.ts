/**
 * This member's row in the cluster state database: name, address, role,
 * API certificate fingerprint, services, chassis settings and versions,
 * written when it becomes a member and whenever those change.
 */
import type { MemberRuntime } from "../daemon/runtime.js";
import { formatBridgeMappings, type MemberConfig } from "../member/config.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import type { MicroOVNDatabase } from "../ovsdb/models/microovn.js";
import { certificateFingerprint } from "../pki/store.js";
import { VERSION } from "../version.js";
import { STATE_DATABASE } from "./state-db.js";

function chassisMap(config: MemberConfig): Map<string, string> {
  const map = new Map<string, string>();
  const mappings = formatBridgeMappings(config.chassis.bridgeMappings);
  if (mappings !== "") map.set("bridge-mappings", mappings);
  if (config.chassis.gateway) map.set("gateway", "true");
  if (config.chassis.encapIp) map.set("encap-ip", config.chassis.encapIp);
  return map;
}

/** Inserts or updates this member's row, through the local state database server. */
export async function recordMember(rt: MemberRuntime): Promise<void> {
  const config = rt.requireConfig();
  const certificate = await rt.pki.readCert(rt.pki.certPath("microovn"));
  const client = await OvsdbClient.connect<MicroOVNDatabase>({
    remotes: `unix:${rt.stateDb().unixSocket}`,
    database: STATE_DATABASE,
  });
  try {
    const row = {
      name: config.name,
      address: config.address,
      role: "voter" as const,
      fingerprint: certificate ? certificateFingerprint(certificate) : "",
      heartbeat: Date.now(),
      services: [...config.services],
      chassis: chassisMap(config),
      versions: new Map([["microovn", VERSION]]),
    };
    const [existing] = await client.select("Member", [["name", "==", config.name]], ["name"]);
    const txn = client.transaction();
    if (existing) txn.update("Member", [["_uuid", "==", existing._uuid]], row);
    else txn.insert("Member", row);
    await txn.commit();
  } finally {
    client.close();
  }
}
