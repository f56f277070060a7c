/**
 * This member's row in the cluster state database (name, address, role, API
 * certificate fingerprint, services, chassis settings, versions, heartbeat),
 * and connecting to that database as this member: voters through their own
 * server's unix socket, other members over TLS to the voters.
 */
import { normalizeLayout } from "../cluster/layout.js";
import { schemaRecordsService, type MemberRow } from "../cluster/members.js";
import { VERSION_KEYS } from "../cluster/member-versions.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import { readShippedStateSchema } from "../cluster/state-schema.js";
import { MicroOvnError } from "../errors.js";
import { formatBridgeMappings, type MemberConfig } from "../member/config.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import type { MicroOVNDatabase } from "../ovsdb/models/microovn.js";
import { certificateFingerprint } from "../pki/pem.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MEMBER_API_VERSION, VERSION } from "../version.js";

/**
 * A client of the cluster state database. Writes sent to a follower are
 * passed on to the Raft leader by the server itself, so any voter will do.
 */
export function connectStateDb(
  rt: MemberRuntime,
  remotes: readonly string[] = rt.stateDbRemotes(),
): Promise<OvsdbClient<MicroOVNDatabase>> {
  return OvsdbClient.connect<MicroOVNDatabase>({
    remotes,
    database: STATE_DATABASE,
    leaderOnly: false,
    tls: rt.pki.tlsFiles("microovn"),
    waitForConnectionMs: 10_000,
    requestTimeoutMs: 10_000,
  });
}

function chassisMap(config: MemberConfig): Map<string, string> {
  const map = new Map<string, string>();
  const mappings = formatBridgeMappings(config.chassis.bridgeMappings);
  if (mappings !== "") map.set("bridge-mappings", mappings);
  if (config.chassis.gateway) map.set("gateway", "true");
  if (config.chassis.availabilityZones?.length) {
    map.set("availability-zones", config.chassis.availabilityZones.join(":"));
  }
  if (config.chassis.encapIp) map.set("encap-ip", config.chassis.encapIp);
  if (config.chassis.underlay) map.set("underlay-interface", config.chassis.underlay.interface);
  return map;
}

/** This member's row as it should be now. */
async function memberRow(rt: MemberRuntime): Promise<Omit<MemberRow, "_uuid" | "_version">> {
  const config = rt.requireConfig();
  const certificate = await rt.pki.readCert(rt.pki.certPath("microovn"));
  return {
    name: config.name,
    address: config.address,
    role: rt.self()?.role ?? "voter",
    fingerprint: certificate ? certificateFingerprint(certificate) : "",
    heartbeat: Date.now(),
    services: [...config.services],
    chassis: chassisMap(config),
    versions: new Map([
      [VERSION_KEYS.microovn, VERSION],
      [VERSION_KEYS.stateSchema, (await readShippedStateSchema()).version],
      [VERSION_KEYS.memberApi, MEMBER_API_VERSION],
    ]),
  };
}

/**
 * Inserts or updates this member's row (and its own entry in the layout,
 * so the member's view follows at once).
 */
export async function recordMember(rt: MemberRuntime): Promise<void> {
  const row = await memberRow(rt);
  const others = rt.layout.members.filter((m) => m.name !== row.name);
  await rt.saveLayout(
    normalizeLayout(
      [...others, { name: row.name, address: row.address, role: row.role, services: row.services }],
      rt.layout.config,
    ),
  );
  const client = await connectStateDb(rt);
  try {
    const [existing] = await client.select("Member", [["name", "==", row.name]], ["name"]);
    // Only what the running schema has: during an upgrade the state database
    // may still run an older one than this member ships (the rest is written
    // when the watcher sees the conversion and this member records itself again).
    const written = client.codec("Member").knownColumns(row);
    const txn = client.transaction();
    if (existing) txn.update("Member", [["_uuid", "==", existing._uuid]], written);
    else txn.insert("Member", written);
    await txn.commit();
  } finally {
    client.close();
  }
}

/**
 * Refuses, before anything changes, a service that the cluster state
 * database's running schema cannot record in this member's row.
 */
export async function checkStateDbRecords(rt: MemberRuntime, service: string): Promise<void> {
  const client = await connectStateDb(rt);
  let schema;
  try {
    schema = await client.getSchema(STATE_DATABASE);
  } finally {
    client.close();
  }
  if (!schemaRecordsService(schema, service)) {
    throw new MicroOvnError(
      "STATE_DB_SCHEMA_TOO_OLD",
      `the cluster state database runs schema ${schema.version}, made before the ${service} ` +
        `service existed, so no member row can name it; nothing was changed. It is converted ` +
        `to the schema this version installs once every member runs this version ` +
        "(`microovn cluster list` shows NEEDS UPGRADE on those that do not yet)",
    );
  }
}
