/**
 * Keeps each floating IP in the mode where it works: distributed while its
 * VM's chassis bridges the external network, centralised otherwise
 * (nat-row.ts). The mode follows things that change without any API call:
 * the VM's port bound on another chassis (SB Port_Binding), a chassis'
 * bridge mappings (SB Chassis), the cluster setting. On any such change the
 * service looks at every floating IP's NAT row and writes the ones that
 * are wrong, guarded by their current columns, so that several API
 * servers doing the same agree (the loser finds nothing left to do).
 */
import type { NetworkingContext } from "../context.js";
import { nbRows, type NbRows } from "../rows.js";
import { EVERYTHING, onTables, watchPasses, type PassWatch } from "../watch-pass.js";
import { expectSame, type NbTransaction } from "../write.js";
import { wantedMode } from "./association.js";
import { sbHostLookup, type HostLookup } from "./host.js";
import { FIP_KEYS } from "./names.js";
import { modeChange } from "./nat-row.js";
import { distributedFloatingIps } from "./routes.js";

/** How long a failed write (NB not answering) waits before it is tried again. */
const RETRY_MS = 1_000;

/**
 * Puts every floating IP's NAT row in the mode it should be in, in `txn`;
 * returns how many it changed.
 */
export function buildModeChanges(
  txn: NbTransaction,
  rows: NbRows,
  distributedAllowed: boolean,
  host: HostLookup,
): number {
  let changed = 0;
  for (const nat of rows.replica.table("NAT").values()) {
    if (nat.type !== "dnat_and_snat" || !nat.external_ids.has(FIP_KEYS.fipId)) continue;
    const portId = nat.external_ids.get(FIP_KEYS.fipPortId) ?? "";
    const lsp = rows.port(portId);
    const networkId = nat.external_ids.get(FIP_KEYS.fipNetworkId) ?? "";
    const mac = nat.external_ids.get(FIP_KEYS.fipExternalMac) ?? "";
    if (!lsp || mac === "") continue;
    const mode = wantedMode(rows, distributedAllowed, host, networkId, lsp);
    const change = modeChange(nat, mode, portId, mac);
    if (!change) continue;
    expectSame(txn, "NAT", nat._uuid, {
      logical_port: nat.logical_port,
      external_mac: nat.external_mac,
    });
    txn.update("NAT", [["_uuid", "==", nat._uuid]], change);
    changed++;
  }
  return changed;
}

export type ModeWatch = PassWatch;

const WATCHED_NB = new Set(["NAT", "Logical_Switch_Port", "Logical_Switch"]);
const WATCHED_SB = new Set(["Port_Binding", "Chassis"]);
const WATCHED_STATE = new Set(["Config"]);

/** Watches the service's replicas and moves floating IPs between modes. `log` hears of each move. */
export function watchFloatingIpModes(
  context: NetworkingContext,
  log: (message: string) => void,
): ModeWatch {
  const { backend } = context;
  const rows = nbRows(context);
  const host = sbHostLookup(backend.sbReplica);
  return watchPasses(backend, log, {
    // Many changes arrive together: one pass after them.
    gatherMs: 0,
    retryMs: RETRY_MS,
    nb: onTables(WATCHED_NB),
    sb: onTables(WATCHED_SB),
    state: onTables(WATCHED_STATE),
    initial: [EVERYTHING],
    pass: () => ({
      build: (txn) => buildModeChanges(txn, rows, distributedFloatingIps(backend), host),
      wrote: (changed) =>
        changed > 0 ? `floating IPs: ${changed} NAT row(s) moved to the mode they need` : undefined,
      failure: "floating IPs: could not change their mode yet",
    }),
  });
}
