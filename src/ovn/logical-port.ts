/**
 * A logical switch port as the chassis side needs it: whether NB has it,
 * the MAC its `addresses` give a VM, and the MTU its switch announces
 * (Neutron's ML2/OVN driver keeps a network's MTU in the switch's
 * `external_ids:neutron:mtu`). Read once from NB over TLS, as a client.
 */
import { MicroOvnError } from "../errors.js";
import { OvsdbClient } from "../ovsdb/client/client.js";
import type { TlsFiles } from "../ovsdb/client/connection.js";
import { OvsdbError, type OvsdbErrorCode } from "../ovsdb/errors.js";
import type { OvnNorthboundDatabase } from "../ovsdb/models/ovn-northbound.js";
import { INSTALLED_SCHEMAS } from "../ovsdb/schema/installed.js";

/** How long a lookup waits for NB to answer. */
export const NB_LOOKUP_TIMEOUT_MS = 5_000;

/** What NB not answering looks like to the client. */
const UNANSWERED: readonly OvsdbErrorCode[] = [
  "OVSDB_NOT_CONNECTED",
  "OVSDB_DISCONNECTED",
  "OVSDB_TIMEOUT",
  "OVSDB_OUTCOME_UNKNOWN",
];

export const NEUTRON_MTU = "neutron:mtu";

export interface LogicalPort {
  name: string;
  /** The logical switch that holds it. */
  switchName?: string;
  /** NB's `type`: "" for a VM's port (a VIF), else "router", "localnet", … */
  type: string;
  addresses: string[];
  /** The MAC of its first address (or of its dynamic one), if it has one. */
  mac?: string;
  /** Its switch's MTU (neutron:mtu), if set. */
  mtu?: number;
  /** NB's `up`: ovn-northd has seen a chassis bind it. */
  up: boolean;
  /**
   * options:requested-chassis, split: the chassis (names or hostnames)
   * that may bind it, the first the main one; empty when any may.
   */
  requestedChassis: string[];
}

/**
 * Where a plug on chassis `chassis` (its name, which is also its hostname
 * here) leaves the port: bound here as usual (`here`: no chassis or this
 * one requested), here beside the main chassis while it migrates here
 * (`migrating-here`: second of two, ovn-nb(5)), or not bound here until NB
 * names this chassis (`elsewhere`).
 */
export type PlugPlacement = "here" | "migrating-here" | "elsewhere";

export function plugPlacement(requestedChassis: readonly string[], chassis: string): PlugPlacement {
  if (requestedChassis.length === 0 || requestedChassis[0] === chassis) return "here";
  return requestedChassis.slice(1).includes(chassis) ? "migrating-here" : "elsewhere";
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * The MAC of a port's addresses: the first word of the first entry that
 * starts with one ("fa:16:3e:… 10.0.0.5"), else of `dynamic_addresses` when
 * the port asks for "dynamic".
 */
export function portMac(addresses: readonly string[], dynamic?: string): string | undefined {
  const fromEntry = (entry: string) => {
    const first = entry.trim().split(/\s+/)[0] ?? "";
    return MAC.test(first) ? first.toLowerCase() : undefined;
  };
  for (const entry of addresses) {
    const mac = fromEntry(entry);
    if (mac) return mac;
  }
  return dynamic === undefined ? undefined : fromEntry(dynamic);
}

/**
 * Refuses a port that ovn-controller never binds to a local interface:
 * only ports of type "" (VIFs) are bound through an iface-id.
 */
export function checkVifPort(port: Pick<LogicalPort, "name" | "type">): void {
  if (port.type !== "") {
    throw new MicroOvnError(
      "NOT_A_VIF_PORT",
      `port ${port.name} is a "${port.type}" port in NB, which ovn-controller never binds to ` +
        "an interface; give a VM's port (type empty)",
    );
  }
}

/** A switch's neutron:mtu, when it is a whole number an Ethernet link can take. */
export function switchMtu(externalIds: ReadonlyMap<string, string>): number | undefined {
  const text = externalIds.get(NEUTRON_MTU);
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const mtu = Number(text);
  return mtu >= 68 && mtu <= 65535 ? mtu : undefined;
}

/**
 * Port `name` as NB has it, undefined if NB has no such port; throws
 * NB_UNREACHABLE when NB does not answer in time.
 */
export async function readLogicalPort(
  remotes: readonly string[],
  tls: TlsFiles,
  name: string,
): Promise<LogicalPort | undefined> {
  let client: OvsdbClient<OvnNorthboundDatabase> | undefined;
  try {
    client = await OvsdbClient.connect<OvnNorthboundDatabase>({
      remotes: [...remotes],
      database: INSTALLED_SCHEMAS.northbound.database,
      tls,
      waitForConnectionMs: NB_LOOKUP_TIMEOUT_MS,
      requestTimeoutMs: NB_LOOKUP_TIMEOUT_MS,
    });
    const [port] = await client.select(
      "Logical_Switch_Port",
      [["name", "==", name]],
      ["type", "addresses", "dynamic_addresses", "up", "options"],
    );
    if (!port) return undefined;
    const [sw] = await client.select(
      "Logical_Switch",
      [["ports", "includes", port._uuid]],
      ["name", "external_ids"],
    );
    const mac = portMac(port.addresses, port.dynamic_addresses);
    const mtu = sw ? switchMtu(sw.external_ids) : undefined;
    return {
      name,
      ...(sw ? { switchName: sw.name } : {}),
      type: port.type,
      addresses: port.addresses,
      ...(mac !== undefined ? { mac } : {}),
      ...(mtu !== undefined ? { mtu } : {}),
      up: port.up === true,
      requestedChassis: (port.options.get("requested-chassis") ?? "")
        .split(",")
        .map((c) => c.trim())
        .filter((c) => c !== ""),
    };
  } catch (e) {
    if (e instanceof OvsdbError && UNANSWERED.includes(e.code)) {
      throw new MicroOvnError(
        "NB_UNREACHABLE",
        `the Northbound database (${remotes.join(", ") || "no address known"}) did not answer ` +
          `within ${NB_LOOKUP_TIMEOUT_MS / 1000} s (${e.message})`,
        { cause: e },
      );
    }
    throw e;
  } finally {
    client?.close();
  }
}
