/**
 * MicroOVN's Grafana dashboards, written as code and saved as the JSON files
 * beside this one (what Grafana imports). Edit here, then
 *
 *   npx tsx monitoring/grafana/dashboards.ts
 *
 * and commit both; test/unit/monitoring.test.ts fails while the JSON and
 * this file disagree.
 *
 * Every panel reads the Prometheus data source the `datasource` variable
 * names, never a fixed UID, so the files import into any Grafana 9 or
 * newer; `job` picks the scrape job (one per cluster) and `instance` the
 * members. The metric names are the ones members export (src/metrics/);
 * test/cluster/metrics.test.ts holds every name queried here against a
 * real member's /metrics.
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { format, resolveConfig } from "prettier";

/** Grafana 9.0's dashboard schema: what the oldest Grafana we support reads. */
const SCHEMA_VERSION = 36;
const GRID_WIDTH = 24;
const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

/** Series of the chosen cluster, and of the chosen members. */
const JOB = 'job=~"$job"';
const MEMBERS = `${JOB},instance=~"$instance"`;

/** A metric of the chosen members, one line each, its legend led by `what`. */
function perMember(metric: string, what = ""): Target {
  return { expr: `${metric}{${MEMBERS}}`, legend: `${what ? `${what} ` : ""}{{instance}}` };
}

type Json = Record<string, unknown>;

interface Target {
  expr: string;
  legend?: string;
  /** One value per series now (tables, stats) rather than a range. */
  instant?: boolean;
}

interface PanelSpec {
  title: string;
  description: string;
  targets: Target[];
  /** Width in grid columns (of 24); height in rows. */
  width: number;
  height?: number;
  unit?: string;
  /** Thresholds as [colour, from] steps; the first applies from -∞. */
  steps?: [string, number | null][];
  /** Value → text, e.g. northd's 0/1/2. */
  mappings?: Record<string, string>;
}

type PanelKind = "timeseries" | "stat" | "table" | "state-timeline";

/** Steps for a count that must be exactly 1 (leaders, active northd). */
const EXACTLY_ONE: [string, number | null][] = [
  ["red", null],
  ["green", 1],
  ["red", 2],
];
/** Steps for a count of broken things: green at 0. */
const NONE_IS_GOOD: [string, number | null][] = [
  ["green", null],
  ["red", 1],
];

function target(t: Target, index: number): Json {
  return {
    datasource: DATASOURCE,
    refId: String.fromCharCode(65 + index),
    expr: t.expr,
    // Without a legend Grafana names a series by its labels, in every version.
    ...(t.legend ? { legendFormat: t.legend } : {}),
    range: !t.instant,
    instant: Boolean(t.instant),
    ...(t.instant ? { format: "table" } : {}),
  };
}

/** Lays panels out left to right, wrapping at the grid's width. */
class Layout {
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  private nextId = 1;
  readonly panels: Json[] = [];

  row(title: string): void {
    this.newLine();
    this.panels.push({
      type: "row",
      id: this.nextId++,
      title,
      collapsed: false,
      panels: [],
      gridPos: { x: 0, y: this.y, w: GRID_WIDTH, h: 1 },
    });
    this.y += 1;
  }

  add(kind: PanelKind, spec: PanelSpec): void {
    const h = spec.height ?? (kind === "stat" ? 4 : 8);
    if (this.x + spec.width > GRID_WIDTH) this.newLine();
    const defaults: Json = { unit: spec.unit ?? "short" };
    if (spec.steps) {
      defaults.thresholds = {
        mode: "absolute",
        steps: spec.steps.map(([color, value]) => ({ color, value })),
      };
      defaults.color = { mode: "thresholds" };
    }
    if (spec.mappings) {
      defaults.mappings = [
        {
          type: "value",
          options: Object.fromEntries(
            Object.entries(spec.mappings).map(([value, text], index) => [value, { text, index }]),
          ),
        },
      ];
    }
    this.panels.push({
      type: kind,
      id: this.nextId++,
      title: spec.title,
      description: spec.description,
      datasource: DATASOURCE,
      gridPos: { x: this.x, y: this.y, w: spec.width, h },
      fieldConfig: { defaults, overrides: [] },
      options: OPTIONS[kind],
      targets: spec.targets.map(target),
      ...(kind === "table" ? { transformations: TABLE_TRANSFORMATIONS } : {}),
    });
    this.x += spec.width;
    this.rowHeight = Math.max(this.rowHeight, h);
  }

  private newLine(): void {
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
  }
}

const OPTIONS: Record<PanelKind, Json> = {
  timeseries: {
    legend: { displayMode: "list", placement: "bottom", showLegend: true },
    tooltip: { mode: "multi", sort: "desc" },
  },
  stat: {
    reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
    colorMode: "background",
    graphMode: "none",
    // The value alone for one series; with its name beside it for several (leaders per database).
    textMode: "auto",
  },
  table: { showHeader: true, footer: { show: false } },
  "state-timeline": {
    showValue: "auto",
    mergeValues: true,
    legend: { displayMode: "list", placement: "bottom", showLegend: true },
  },
};

/** A table shows the series' labels as columns, without Prometheus' bookkeeping. */
const TABLE_TRANSFORMATIONS = [
  { id: "merge", options: {} },
  { id: "organize", options: { excludeByName: { Time: true, __name__: true, job: true } } },
];

/** A variable whose values a Prometheus query lists; `multi` ones offer All. */
function queryVariable(name: string, label: string, query: string, multi: boolean): Json {
  return {
    name,
    label,
    type: "query",
    datasource: DATASOURCE,
    query,
    definition: query,
    refresh: 2,
    sort: 1,
    multi,
    includeAll: multi,
    ...(multi ? { allValue: ".*" } : {}),
    current: {},
    options: [],
    regex: "",
    hide: 0,
  };
}

/** The data source, the scrape job and the members (those that export `instanceMetric`). */
function variables(instanceMetric: string, extra: Json[] = []): Json[] {
  return [
    {
      name: "datasource",
      label: "Data source",
      type: "datasource",
      query: "prometheus",
      current: {},
      options: [],
      regex: "",
      refresh: 1,
      hide: 0,
    },
    queryVariable("job", "Cluster (scrape job)", `label_values(${instanceMetric}, job)`, false),
    queryVariable("instance", "Member", `label_values(${instanceMetric}{${JOB}}, instance)`, true),
    ...extra,
  ];
}

function dashboard(uid: string, title: string, description: string, layout: Layout, vars: Json[]) {
  return {
    uid,
    title,
    description,
    tags: ["microovn", "ovn"],
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    timezone: "",
    templating: { list: vars },
    annotations: { list: [] },
    links: [
      {
        title: "MicroOVN",
        type: "dashboards",
        tags: ["microovn"],
        asDropdown: true,
        includeVars: true,
        keepTime: true,
      },
    ],
    panels: layout.panels,
  };
}

/** Counts of servers that call themselves leader, per database. */
function leaders(prefix: string, dbMatcher = ""): string {
  return `count by (db_name) (${prefix}_cluster_server_role{${JOB}${dbMatcher},server_role="leader"} == 1)`;
}

function clusterDashboard() {
  const l = new Layout();
  l.row("Members and leaders");
  l.add("stat", {
    title: "Members ONLINE",
    description: "Members that at least one member sees ONLINE (microovn_member_up).",
    targets: [
      {
        expr: `count(max by (member) (microovn_member_up{${JOB}}) == 1) or vector(0)`,
        instant: true,
      },
    ],
    width: 4,
  });
  l.add("stat", {
    title: "Members OFFLINE",
    description: "Members that no member sees ONLINE. `microovn cluster list` names them.",
    targets: [
      {
        expr: `count(max by (member) (microovn_member_up{${JOB}}) == 0) or vector(0)`,
        instant: true,
      },
    ],
    width: 4,
    steps: NONE_IS_GOOD,
  });
  l.add("stat", {
    title: "Members not scraped",
    description: "Scrape targets of this job that do not answer (Prometheus' own `up`).",
    targets: [{ expr: `count(up{${JOB}} == 0) or vector(0)`, instant: true }],
    width: 4,
    steps: NONE_IS_GOOD,
  });
  for (const [title, db] of [
    ["NB leaders", "OVN_Northbound"],
    ["SB leaders", "OVN_Southbound"],
  ] as const) {
    l.add("stat", {
      title,
      description: `Servers of ${db} that call themselves leader: exactly 1 when healthy.`,
      targets: [
        { expr: `sum(${leaders("ovn_db", `,db_name="${db}"`)}) or vector(0)`, instant: true },
      ],
      width: 3,
      steps: EXACTLY_ONE,
    });
  }
  l.add("stat", {
    title: "State DB leaders",
    description: "Servers of MicroOVN's cluster state database that call themselves leader.",
    targets: [{ expr: `sum(${leaders("microovn_db")}) or vector(0)`, instant: true }],
    width: 3,
    steps: EXACTLY_ONE,
  });
  l.add("stat", {
    title: "Active northd",
    description: "ovn-northd instances that hold SB's lock: exactly 1 when healthy.",
    targets: [{ expr: `count(ovn_northd_status{${JOB}} == 1) or vector(0)`, instant: true }],
    width: 3,
    steps: EXACTLY_ONE,
  });
  l.add("table", {
    title: "Members as each member sees them",
    description:
      "microovn_member_up from every member: 1 ONLINE, 0 OFFLINE. A member that sees the others OFFLINE while they see each other is cut off.",
    targets: [{ expr: `microovn_member_up{${MEMBERS}}`, instant: true }],
    width: 12,
    mappings: { "0": "OFFLINE", "1": "ONLINE" },
  });
  l.add("stat", {
    title: "Chassis cut off from SB",
    description: "ovn-controllers not connected to the Southbound database.",
    targets: [
      {
        expr: `count(ovn_controller_southbound_database_connected{${JOB}} == 0) or vector(0)`,
        instant: true,
      },
    ],
    width: 6,
    height: 8,
    steps: NONE_IS_GOOD,
  });
  l.add("stat", {
    title: "Chassis connected to SB",
    description: "ovn-controllers connected to the Southbound database.",
    targets: [{ expr: `sum(ovn_controller_southbound_database_connected{${JOB}})`, instant: true }],
    width: 6,
    height: 8,
  });

  l.row("Processes");
  l.add("table", {
    title: "Processes not running",
    description:
      "Supervised programs microovnd does not have running now. `microovn status` on the member says how each last ended.",
    targets: [{ expr: `microovn_process_up{${MEMBERS}} == 0`, instant: true }],
    width: 8,
  });
  l.add("timeseries", {
    title: "Restarts per 15 minutes",
    description:
      "Restarts after a crash (not `microovn restart`). More than 3 in 15 minutes raises MicroOVNProcessCrashLooping.",
    targets: [
      {
        expr: `increase(microovn_process_restarts_total{${MEMBERS}}[15m])`,
        legend: "{{instance}} {{process}}",
      },
    ],
    width: 16,
  });

  l.row("Certificates and versions");
  l.add("table", {
    title: "Days until each certificate expires",
    description:
      "microovnd renews a certificate once it is within 10 days of expiry; `microovn certificates list` on the member shows the files.",
    targets: [
      {
        expr: `(microovn_certificate_expiry_timestamp_seconds{${MEMBERS}} - time()) / 86400`,
        instant: true,
      },
    ],
    width: 8,
    unit: "d",
    steps: [
      ["red", null],
      ["orange", 2],
      ["green", 10],
    ],
  });
  l.add("table", {
    title: "Schema versions",
    description:
      "Per member and database: the schema version this member's programs expect and the one the database runs (docs/upgrades.md).",
    targets: [{ expr: `microovn_schema_version_info{${MEMBERS}}`, instant: true }],
    width: 8,
  });
  l.add("table", {
    title: "Bootstrap or join",
    description: "How long each member's own bootstrap or join took.",
    targets: [{ expr: `microovn_join_duration_seconds{${MEMBERS}}`, instant: true }],
    width: 8,
    unit: "s",
  });
  l.add("table", {
    title: "Open vSwitch and OVN builds",
    description: "The versions each member runs.",
    targets: [
      { expr: `ovs_build_info{${MEMBERS}}`, instant: true },
      { expr: `ovn_controller_build_info{${MEMBERS}}`, instant: true },
      { expr: `ovn_northd_build_info{${MEMBERS}}`, instant: true },
      { expr: `ovn_db_build_info{${MEMBERS}}`, instant: true },
    ],
    width: 24,
  });
  return dashboard(
    "microovn-cluster",
    "MicroOVN / Cluster",
    "Members, Raft leaders, northd, chassis, processes, certificates and versions of a MicroOVN cluster.",
    l,
    variables("microovn_process_up"),
  );
}

/**
 * One database family's panels: NB and SB (`ovn_db_*`, by the `db`
 * variable) or the cluster state database (`microovn_db_*`).
 */
function databasePanels(l: Layout, prefix: string, title: string, dbMatcher: string): void {
  const sel = `${MEMBERS}${dbMatcher}`;
  const perServer = "{{db_name}} {{instance}}";
  l.row(title);
  l.add("table", {
    title: "Raft role of each server",
    description: "leader, follower or candidate, as each server says.",
    targets: [
      {
        expr: `max by (instance, db_name, server_role) (${prefix}_cluster_server_role{${sel}} == 1)`,
        instant: true,
      },
    ],
    width: 10,
  });
  l.add("table", {
    title: "Raft status of each server",
    description: "`cluster member`, or joining, leaving, left or failed.",
    targets: [
      {
        expr: `max by (instance, db_name, server_status) (${prefix}_cluster_server_status{${sel}} == 1)`,
        instant: true,
      },
    ],
    width: 10,
  });
  l.add("stat", {
    title: "Leaders",
    description: "Servers that call themselves leader, per database: exactly 1 when healthy.",
    targets: [
      {
        expr: `count by (db_name) (${prefix}_cluster_server_role{${sel},server_role="leader"} == 1)`,
        legend: "{{db_name}}",
        instant: true,
      },
    ],
    width: 4,
    height: 8,
    steps: EXACTLY_ONE,
  });
  const series = (name: string, panelTitle: string, description: string, unit?: string) =>
    l.add("timeseries", {
      title: panelTitle,
      description,
      targets: [{ expr: `${prefix}_${name}{${sel}}`, legend: perServer }],
      width: 8,
      ...(unit ? { unit } : {}),
    });
  series("cluster_term", "Raft term", "A step up is an election.");
  series(
    "cluster_log_not_committed",
    "Log entries not committed",
    "Entries the leader has appended but a majority has not yet stored.",
  );
  series(
    "cluster_log_not_applied",
    "Log entries not applied",
    "Entries committed but not yet applied to this server's copy.",
  );
  series(
    "cluster_election_timer",
    "Election timer",
    "`microovn config set ovn.election-timer` sets it.",
    "ms",
  );
  l.add("timeseries", {
    title: "Raft connections",
    description: "Connections between the servers, in and out, and those that failed.",
    targets: [
      { expr: `${prefix}_cluster_inbound_connections_total{${sel}}`, legend: `in ${perServer}` },
      { expr: `${prefix}_cluster_outbound_connections_total{${sel}}`, legend: `out ${perServer}` },
      {
        expr: `${prefix}_cluster_inbound_connections_error_total{${sel}}`,
        legend: `failed in ${perServer}`,
      },
      {
        expr: `${prefix}_cluster_outbound_connections_error_total{${sel}}`,
        legend: `failed out ${perServer}`,
      },
    ],
    width: 8,
  });
  series(
    "db_size_bytes",
    "Database file size",
    "The file grows with every transaction until ovsdb-server compacts it.",
    "bytes",
  );
  series("jsonrpc_server_sessions", "Client sessions", "JSON-RPC sessions to the server.");
  series(
    "ovsdb_monitors",
    "Monitors",
    "OVSDB monitors clients hold on the server (each chassis, northd, microovnd).",
  );
}

function databasesDashboard() {
  const l = new Layout();
  databasePanels(l, "ovn_db", "Northbound and Southbound", ',db_name=~"$db"');
  databasePanels(l, "microovn_db", "MicroOVN's cluster state database", "");
  return dashboard(
    "microovn-databases",
    "MicroOVN / Central databases",
    "The Raft clusters of NB, SB and MicroOVN's cluster state database, server by server.",
    l,
    variables("ovn_db_cluster_server_role", [
      queryVariable(
        "db",
        "Database",
        `label_values(ovn_db_cluster_server_role{${JOB}}, db_name)`,
        true,
      ),
    ]),
  );
}

/** ovn-northd's stopwatches (stopwatch/show) worth a panel, by metric part. */
const NORTHD_STOPWATCHES: [name: string, title: string, description: string][] = [
  ["ovn_northd_loop", "Main loop", "One pass of northd's main loop."],
  ["ovnnb_db_run", "NB processing", "Reading NB changes and computing what SB needs."],
  ["build_lflows", "Logical flow build", "Building the logical flows."],
  ["ovnsb_db_run", "SB processing", "Reading SB changes (chassis, port bindings)."],
];

/** Transaction outcomes worth a line (coverage counters). */
const TXN_OUTCOMES = ["success", "error", "try_again", "aborted", "incomplete", "not_locked"];

function northdDashboard() {
  const l = new Layout();
  l.row("Status");
  l.add("stat", {
    title: "Active northd",
    description: "Exactly one ovn-northd holds SB's lock and works; the others stand by.",
    targets: [{ expr: `count(ovn_northd_status{${JOB}} == 1) or vector(0)`, instant: true }],
    width: 4,
    height: 8,
    steps: EXACTLY_ONE,
  });
  l.add("state-timeline", {
    title: "Status of each northd",
    description: "active, standby or paused (`microovn ovn-appctl -t ovn-northd resume`).",
    targets: [perMember("ovn_northd_status")],
    width: 10,
    mappings: { "0": "standby", "1": "active", "2": "paused" },
  });
  l.add("state-timeline", {
    title: "Connections to NB and SB",
    description: "Whether each northd is connected to each database.",
    targets: [
      perMember("ovn_northd_nb_connection_status", "NB"),
      perMember("ovn_northd_sb_connection_status", "SB"),
    ],
    width: 10,
    mappings: { "0": "disconnected", "1": "connected" },
  });
  l.row("Stopwatches (the active northd does the work)");
  for (const [name, title, description] of NORTHD_STOPWATCHES) {
    l.add("timeseries", {
      title: `${title}: 95th percentile and long-term average`,
      description: `${description} From ovn-northd's stopwatch/show.`,
      targets: [
        { expr: `ovn_northd_${name}_95th_percentile{${MEMBERS}}`, legend: "p95 {{instance}}" },
        { expr: `ovn_northd_${name}_long_term_avg{${MEMBERS}}`, legend: "avg {{instance}}" },
      ],
      width: 12,
      unit: "ms",
    });
  }
  l.row("Transactions to SB");
  l.add("timeseries", {
    title: "Transactions per second by outcome",
    description: "northd's OVSDB transactions and how they ended (coverage counters).",
    targets: TXN_OUTCOMES.map((outcome) => ({
      expr: `rate(ovn_northd_txn_${outcome}_total{${MEMBERS}}[$__rate_interval])`,
      legend: `${outcome} {{instance}}`,
    })),
    width: 24,
    unit: "ops",
  });
  return dashboard(
    "microovn-northd",
    "MicroOVN / northd",
    "ovn-northd on every central: which one is active, its database connections, how long its work takes.",
    l,
    variables("ovn_northd_status"),
  );
}

const INTERFACE_RATES: [counter: string, title: string, unit: string][] = [
  ["bytes", "Interface traffic", "Bps"],
  ["packets", "Interface packets", "pps"],
  ["dropped", "Interface drops", "pps"],
  ["errors", "Interface errors", "pps"],
];

function chassisDashboard() {
  const l = new Layout();
  l.row("ovn-controller");
  l.add("state-timeline", {
    title: "Connection to SB",
    description: "Whether each ovn-controller is connected to the Southbound database.",
    targets: [perMember("ovn_controller_southbound_database_connected")],
    width: 12,
    mappings: { "0": "disconnected", "1": "connected" },
  });
  l.add("table", {
    title: "Tunnel endpoints",
    description: "Each chassis' encapsulation IP (`microovn chassis set encap-ip`).",
    targets: [{ expr: `ovn_controller_encap_ip{${MEMBERS}}`, instant: true }],
    width: 12,
  });
  l.add("timeseries", {
    title: "OpenFlow flows on br-int",
    description: "The flows ovn-controller installed in the integration bridge.",
    targets: [perMember("ovn_controller_integration_bridge_openflow_total")],
    width: 8,
  });
  l.add("timeseries", {
    title: "Tunnel and patch ports on br-int",
    description: "Geneve ports (one per other chassis) and patch ports to physical bridges.",
    targets: [
      perMember("ovn_controller_integration_bridge_geneve_ports", "geneve"),
      perMember("ovn_controller_integration_bridge_patch_ports", "patch"),
    ],
    width: 8,
  });
  l.add("timeseries", {
    title: "Flow generation and installation (95th percentile)",
    description:
      "ovn-controller's stopwatches: turning SB into flows, and sending them to vswitchd.",
    targets: [
      perMember("ovn_controller_flow_generation_95th_percentile", "generation"),
      perMember("ovn_controller_flow_installation_95th_percentile", "installation"),
    ],
    width: 8,
    unit: "ms",
  });
  l.row("Open vSwitch");
  l.add("timeseries", {
    title: "OpenFlow flows per bridge",
    description: "Flows in each bridge of ovs-vswitchd.",
    targets: [
      { expr: `ovs_vswitchd_bridge_flows_total{${MEMBERS}}`, legend: "{{instance}} {{bridge}}" },
    ],
    width: 12,
  });
  l.add("timeseries", {
    title: "Ports per bridge",
    description: "Ports in each bridge of ovs-vswitchd.",
    targets: [
      { expr: `ovs_vswitchd_bridge_ports_total{${MEMBERS}}`, legend: "{{instance}} {{bridge}}" },
    ],
    width: 12,
  });
  for (const [counter, title, unit] of INTERFACE_RATES) {
    l.add("timeseries", {
      title,
      description: `Received (positive) and sent (negative) ${counter} per second, per interface.`,
      targets: [
        {
          expr: `rate(ovs_vswitchd_interface_rx_${counter}_total{${MEMBERS}}[$__rate_interval])`,
          legend: "rx {{instance}} {{interface}}",
        },
        {
          expr: `-rate(ovs_vswitchd_interface_tx_${counter}_total{${MEMBERS}}[$__rate_interval])`,
          legend: "tx {{instance}} {{interface}}",
        },
      ],
      width: 12,
      unit,
    });
  }
  return dashboard(
    "microovn-chassis",
    "MicroOVN / Chassis",
    "ovn-controller and Open vSwitch on every chassis: SB connection, flows, tunnels, interfaces.",
    l,
    variables("ovn_controller_southbound_database_connected"),
  );
}

/** Every dashboard, by the file it is saved in. */
export function dashboards(): Record<string, Json> {
  return {
    "microovn-cluster.json": clusterDashboard(),
    "microovn-databases.json": databasesDashboard(),
    "microovn-northd.json": northdDashboard(),
    "microovn-chassis.json": chassisDashboard(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [file, board] of Object.entries(dashboards())) {
    const path = fileURLToPath(new URL(file, import.meta.url));
    // Formatted as `npm run lint` wants every JSON file of the tree.
    const options = { ...(await resolveConfig(path)), filepath: path };
    await writeFile(path, await format(JSON.stringify(board), options));
    console.log(`monitoring/grafana/${file}`);
  }
}
