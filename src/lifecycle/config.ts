/**
 * `microovn config set|get|list|delete KEY`: cluster-wide settings in the
 * state database. A change reaches every member through its watcher, which
 * refreshes what the setting drives (ovn.central-ips: every chassis's
 * ovn-remote, and the client tools' databases).
 */
import { centrals } from "../cluster/layout.js";
import {
  CENTRAL_IPS,
  CONVERSION_LEASE_PREFIX,
  PROJECT_QUOTA_PREFIX,
  RECOVERY_MARKER,
  configKey,
} from "../cluster/config-keys.js";
import { connectStateDb } from "../membership/member-row.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";

export interface ConfigEntry {
  key: string;
  value: string;
}

/** Every setting, by key. */
export async function listConfig(rt: MemberRuntime): Promise<ConfigEntry[]> {
  rt.requireConfig();
  const client = await connectStateDb(rt);
  try {
    const rows = await client.select("Config", [], ["key", "value"]);
    return rows
      .filter(
        (r) =>
          r.key !== RECOVERY_MARKER &&
          !r.key.startsWith(PROJECT_QUOTA_PREFIX) &&
          !r.key.startsWith(CONVERSION_LEASE_PREFIX),
      )
      .map((r) => ({ key: r.key, value: r.value }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  } finally {
    client.close();
  }
}

export async function getConfig(rt: MemberRuntime, key: string): Promise<ConfigEntry> {
  configKey(key);
  const entry = (await listConfig(rt)).find((e) => e.key === key);
  if (!entry) throw notSet(key);
  return entry;
}

function notSet(key: string): MicroOvnError {
  return new MicroOvnError("CONFIG_NOT_SET", `${key} is not set; see \`microovn config list\``);
}

/** Stores a checked value; returns it with warnings about what it means for this cluster. */
export async function setConfig(
  rt: MemberRuntime,
  key: string,
  value: string,
): Promise<ConfigEntry & { warnings: string[] }> {
  const definition = configKey(key);
  const canonical = definition.check(value);
  rt.requireConfig();
  definition.checkMembers?.(
    canonical,
    rt.layout.members.map((m) => m.address),
  );
  const client = await connectStateDb(rt);
  try {
    const txn = client.transaction();
    txn.delete("Config", [["key", "==", key]]);
    txn.insert("Config", { key, value: canonical });
    await txn.commit();
  } finally {
    client.close();
  }
  const warnings: string[] = [];
  const running = centrals(rt.layout).map((m) => m.name);
  if (key === CENTRAL_IPS && running.length > 0) {
    warnings.push(
      `${running.join(", ")} still run${running.length === 1 ? "s" : ""} central; chassis now ` +
        "use the external central instead (`microovn disable central --node NAME` stops them)",
    );
  }
  return { key, value: canonical, warnings };
}

export async function deleteConfig(rt: MemberRuntime, key: string): Promise<void> {
  configKey(key);
  rt.requireConfig();
  const client = await connectStateDb(rt);
  try {
    const [row] = await client.select("Config", [["key", "==", key]], ["key"]);
    if (!row) throw notSet(key);
    const txn = client.transaction();
    txn.delete("Config", [["key", "==", key]]);
    await txn.commit();
  } finally {
    client.close();
  }
}
