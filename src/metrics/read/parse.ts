/**
 * What the programs' control commands print, as numbers: pure functions of
 * the text, tested against outputs captured from OVN 23.03 / OVS 3.1
 * (test/fixtures/metrics/).
 */

/** `cluster/status DB` of a clustered ovsdb-server, as the metrics need it. */
export interface RaftMetrics {
  /** Full UUIDs, as ovn-kubernetes labels them. */
  clusterId: string;
  serverId: string;
  /** "cluster member", "joining cluster", "leaving cluster", … */
  status: string;
  /** "leader", "follower" or "candidate". */
  role: string;
  term: number;
  electionTimerMs: number | undefined;
  logIndexStart: number | undefined;
  logIndexNext: number | undefined;
  logNotCommitted: number;
  logNotApplied: number;
  inbound: number;
  outbound: number;
  inboundErrors: number;
  outboundErrors: number;
}

function fullId(value: string | undefined): string {
  // "09fe (09fe526a-58e8-4bcb-9aff-02220c5f1789)": the UUID in brackets.
  const m = /\(([0-9a-f-]+)\)/.exec(value ?? "");
  return m?.[1] ?? (value ?? "").split(" ")[0] ?? "";
}

function numberOr<T>(value: string | undefined, otherwise: T): number | T {
  const n = Number(value);
  return value !== undefined && value.trim() !== "" && Number.isFinite(n) ? n : otherwise;
}

/** "Key: value" lines, the first of each key. */
function fields(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z][A-Za-z ]*): ?(.*)$/.exec(line);
    if (m?.[1] && m[2] !== undefined && !found.has(m[1])) found.set(m[1], m[2].trim());
  }
  return found;
}

/**
 * `cluster/status DB`. Connections read "->abcd <-ef01 (->1234)": an arrow
 * to the right is a connection this server opened, to the left one a peer
 * opened, and one in brackets has failed.
 */
export function parseRaftMetrics(text: string): RaftMetrics | undefined {
  const f = fields(text);
  if (!f.has("Server ID") || !f.has("Role")) return undefined;
  const [start, next] = (f.get("Log") ?? "").replace(/[[\]]/g, "").split(",");
  const connections = (f.get("Connections") ?? "").split(/\s+/).filter((c) => c !== "");
  const count = (arrow: string, failed: boolean) =>
    connections.filter((c) => c.startsWith(failed ? `(${arrow}` : arrow)).length;
  return {
    clusterId: fullId(f.get("Cluster ID")),
    serverId: fullId(f.get("Server ID")),
    status: f.get("Status") ?? "",
    role: f.get("Role") ?? "",
    term: numberOr(f.get("Term"), 0),
    electionTimerMs: numberOr(f.get("Election timer"), undefined),
    logIndexStart: numberOr(start, undefined),
    logIndexNext: numberOr(next, undefined),
    logNotCommitted: numberOr(f.get("Entries not yet committed"), 0),
    logNotApplied: numberOr(f.get("Entries not yet applied"), 0),
    outbound: count("->", false),
    inbound: count("<-", false),
    outboundErrors: count("->", true),
    inboundErrors: count("<-", true),
  };
}

/** `memory/show`: "atoms:35 cells:34 monitors:3 …" → {atoms: 35, …}. */
export function parseCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.split(/\s+/)) {
    const m = /^([^:\s]+):(\d+(?:\.\d+)?)$/.exec(word);
    if (m?.[1] && m[2]) counts.set(m[1], Number(m[2]));
  }
  return counts;
}

/** `coverage/show`: each event's total since the program started. */
export function parseCoverage(text: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^(\w+)\s.*\btotal: (\d+)\s*$/.exec(line);
    if (m?.[1] && m[2]) totals.set(m[1], Number(m[2]));
  }
  return totals;
}

export interface Stopwatch {
  samples: number;
  /** Milliseconds, as the program prints them. */
  maximum: number;
  minimum: number;
  percentile95: number;
  shortTermAverage: number;
  longTermAverage: number;
}

const STOPWATCH_FIELDS: Record<string, keyof Stopwatch> = {
  "Total samples": "samples",
  Maximum: "maximum",
  Minimum: "minimum",
  "95th percentile": "percentile95",
  "Short term average": "shortTermAverage",
  "Long term average": "longTermAverage",
};

/** `stopwatch/show`: one entry per "Statistics for 'NAME'" block. */
export function parseStopwatches(text: string): Map<string, Stopwatch> {
  const watches = new Map<string, Stopwatch>();
  let current: Stopwatch | undefined;
  for (const line of text.split("\n")) {
    const head = /^Statistics for '([^']+)'/.exec(line);
    if (head?.[1]) {
      current = {
        samples: 0,
        maximum: 0,
        minimum: 0,
        percentile95: 0,
        shortTermAverage: 0,
        longTermAverage: 0,
      };
      watches.set(head[1], current);
      continue;
    }
    const m = /^\s+([A-Za-z0-9 ]+): ([\d.]+)/.exec(line);
    const key = m?.[1] ? STOPWATCH_FIELDS[m[1]] : undefined;
    if (current && key && m?.[2]) current[key] = Number(m[2]);
  }
  return watches;
}

export interface DatapathBridge {
  name: string;
  /** Ports, the bridge's own internal port included, with their type ("tap", "patch", "geneve", …). */
  ports: { name: string; type: string }[];
}

/**
 * `dpif/show` of ovs-vswitchd: bridges and their ports, indented under
 * each datapath ("  br-int:" then "    patch-x 2/none: (patch: …)").
 */
export function parseDpifShow(text: string): DatapathBridge[] {
  const bridges: DatapathBridge[] = [];
  for (const line of text.split("\n")) {
    const bridge = /^ {2}(\S+):\s*$/.exec(line);
    if (bridge?.[1]) {
      bridges.push({ name: bridge[1], ports: [] });
      continue;
    }
    const port = /^ {4}(\S+) \S+: \(([\w-]+)/.exec(line);
    if (port?.[1] && port[2]) bridges.at(-1)?.ports.push({ name: port[1], type: port[2] });
  }
  return bridges;
}

/** `ovs-ofctl dump-aggregate`: the flow count. */
export function parseFlowCount(text: string): number | undefined {
  const m = /\bflow_count=(\d+)/.exec(text);
  return m?.[1] ? Number(m[1]) : undefined;
}

/**
 * `version` of a program: its own version and, for OVN's, the Open vSwitch
 * library it was built with ("ovn-controller 23.03.1\nOpen vSwitch Library 3.1.0").
 */
export function parseVersion(text: string): { version: string; ovsLibrary?: string } | undefined {
  const version = /^\S+(?: \([^)]*\))? (\d[\w.~+-]*)/m.exec(text)?.[1];
  if (!version) return undefined;
  const ovsLibrary = /^Open vSwitch Library (\S+)/m.exec(text)?.[1];
  return ovsLibrary ? { version, ovsLibrary } : { version };
}

/** northd's `status`: "Status: active" → "active". */
export function parseNorthdStatus(text: string): string | undefined {
  return /^Status: (\S+)/m.exec(text)?.[1];
}
