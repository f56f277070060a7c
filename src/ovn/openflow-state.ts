/**
 * A bridge's OpenFlow state (tunnel metadata map, groups, meters, flows),
 * saved from a running ovs-vswitchd and put back into the next one. A new
 * vswitchd starts with empty tables: with `flow-restore-wait` set in
 * conf.db it forwards nothing and talks to no controller until the saved
 * state is back, so a restart onto a new binary costs the data plane only
 * the time the program takes to start, not the time ovn-controller takes
 * to notice and install everything again. The same steps as Open vSwitch's
 * own hot restart (ovs-ctl with ovs-save).
 */
import { run } from "../process/run.js";

/** OpenFlow 1.5: groups with bucket ids and `--bundle` (atomic replace) need 1.4 or later. */
const PROTOCOL = ["-O", "OpenFlow15"];

export interface OpenFlowState {
  bridge: string;
  /** `add-tlv-map` argument, e.g. "{class=0x102,type=0x80,len=4}->tun_metadata0"; "" if none. */
  tlvMap: string;
  /** One group per line, as `add-groups` reads them. */
  groups: string;
  /** One meter per entry, as `add-meter` takes it. */
  meters: string[];
  /** One flow per line, as `replace-flows` reads them. */
  flows: string;
}

/** Strips dump headers ("OFPST_FLOW reply …", "NXST_…") that the add commands do not read. */
function withoutReplyHeaders(text: string): string {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^(OFPST|NXST|NXT)_/.test(l))
    .join("\n");
}

/** The `add-tlv-map` argument from `dump-tlv-map`'s table ("  0x102  0x80  4  tun_metadata0"). */
export function tlvMapArgument(dump: string): string {
  const entries: string[] = [];
  for (const m of dump.matchAll(/^\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(\d+)\s+(\S+)\s*$/gim)) {
    entries.push(`{class=${m[1]},type=${m[2]},len=${m[3]}}->${m[4]}`);
  }
  return entries.join(",");
}

/**
 * Flows as `replace-flows` reads them: no reply header, and no ages (they
 * are statistics, which `--no-stats` leaves in).
 */
export function restorableFlows(dump: string): string {
  return withoutReplyHeaders(dump).replace(/(idle|hard)_age=[^,]*,\s*/g, "");
}

/** `dump-meters` prints a meter's bands on lines of their own: one entry per meter. */
export function restorableMeters(dump: string): string[] {
  const meters: string[] = [];
  for (const line of withoutReplyHeaders(dump).split("\n")) {
    if (line.startsWith("meter=")) meters.push(line.trim());
    else if (meters.length > 0) meters[meters.length - 1] += ` ${line.trim()}`;
  }
  return meters;
}

async function ofctl(args: readonly string[], input?: string): Promise<string> {
  const result = await run("ovs-ofctl", [...PROTOCOL, ...args], {
    timeoutMs: 30_000,
    ...(input !== undefined ? { input } : {}),
  });
  return result.stdout;
}

/** Saves `bridge`'s OpenFlow state through its management socket. */
export async function saveOpenFlowState(
  bridge: string,
  managementSocket: string,
): Promise<OpenFlowState> {
  const target = `unix:${managementSocket}`;
  const [tlv, groups, meters, flows] = await Promise.all([
    ofctl(["dump-tlv-map", target]),
    ofctl(["dump-groups", target]),
    ofctl(["dump-meters", target]),
    ofctl(["dump-flows", "--no-names", "--no-stats", target]),
  ]);
  return {
    bridge,
    tlvMap: tlvMapArgument(tlv),
    groups: withoutReplyHeaders(groups),
    meters: restorableMeters(meters),
    flows: restorableFlows(flows),
  };
}

/**
 * Puts saved state into a new vswitchd's bridge: the tunnel metadata map
 * first (flows refer to it), then groups and meters (flows point at them),
 * then the flows in one bundle.
 */
export async function restoreOpenFlowState(
  state: OpenFlowState,
  managementSocket: string,
): Promise<void> {
  const target = `unix:${managementSocket}`;
  if (state.tlvMap !== "") await ofctl(["add-tlv-map", target, state.tlvMap]);
  if (state.groups !== "") await ofctl(["add-groups", target, "-", "--bundle"], state.groups);
  for (const meter of state.meters) await ofctl(["add-meter", target, meter]);
  await ofctl(["replace-flows", target, "-", "--bundle"], `${state.flows}\n`);
}
