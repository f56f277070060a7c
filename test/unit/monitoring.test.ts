/**
 * monitoring/: the Grafana dashboards are importable anywhere (the data
 * source is a variable, never a fixed UID) and are what dashboards.ts
 * writes; every alert tells the operator what to do; and the PromQL
 * tokenizer that test/cluster/metrics.test.ts relies on finds the metric
 * names in tricky expressions. promtool's checks are in
 * test/integration/monitoring.test.ts.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { dashboards } from "../../monitoring/grafana/dashboards.js";
import {
  dashboardMetricNames,
  metricNamesIn,
  metricNamesInVariableQuery,
  monitoringFiles,
  queriedMetricNames,
} from "../helpers/monitoring-queries.js";

const names = (expr: string) => [...metricNamesIn(expr)].sort();

describe("the PromQL tokenizer", () => {
  it("finds metric names and leaves out functions, keywords and label names", () => {
    assert.deepEqual(
      names('count by (db_name) (ovn_db_cluster_server_role{server_role="leader"} == 1) > 1'),
      ["ovn_db_cluster_server_role"],
    );
    assert.deepEqual(
      names(`count by (db_name) (ovn_db_cluster_server_role == 1)
               unless on (db_name)
             (ovn_db_cluster_server_role{server_role="leader"} == 1)`),
      ["ovn_db_cluster_server_role"],
    );
    assert.deepEqual(
      names("sum without (instance, job) (rate(a_total[5m])) / ignoring(code) group_left(route) b"),
      ["a_total", "b"],
    );
    assert.deepEqual(names("SUM(x) BY (le) AND ON() y OR bool_z unless atan2_w"), [
      "atan2_w",
      "bool_z",
      "x",
      "y",
    ]);
    assert.deepEqual(names("a > bool 1 and b offset -5m or c atan2 d @ start()"), [
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("skips strings, numbers, durations, ranges and subqueries", () => {
    assert.deepEqual(
      names(
        'label_replace(up_metric == 0, "database", "NB or SB {x}", "", "(.*)") * 1e-3 + 0x1F - .5',
      ),
      ["up_metric"],
    );
    assert.deepEqual(names("max_over_time(rate(x_total[5m])[1h:30s]) offset 1h30m"), ["x_total"]);
    assert.deepEqual(names("m - time() < 10 * 86400"), ["m"]);
    assert.deepEqual(names("count_values(`ver sion`, build_info) or vector(0) + Inf - NaN"), [
      "build_info",
    ]);
    assert.deepEqual(names('a{b="}", c=~"[a-z]+\\"", d!~\'x\'} + e'), ["a", "e"]);
  });

  it("reads recording-rule names with colons and comments", () => {
    assert.deepEqual(names("job:requests:rate5m # a comment naming not_a_metric\n+ z"), [
      "job:requests:rate5m",
      "z",
    ]);
  });

  it("reads a metric named by __name__ and refuses one named by a pattern", () => {
    assert.deepEqual(names('{__name__="ovs_build_info", version!=""}'), ["ovs_build_info"]);
    assert.throws(
      () => metricNamesIn('{__name__=~"ovn_.*"}'),
      /__name__=~ names metrics by pattern/,
    );
  });

  it("skips Grafana's variables", () => {
    assert.deepEqual(
      names(
        'rate(x_total{job=~"$job",instance=~"${instance:regex}"}[$__rate_interval]) * $scale + y[[interval]] + ${z}',
      ),
      ["x_total", "y"],
    );
  });

  it("refuses what it cannot read rather than miss a name", () => {
    assert.throws(() => metricNamesIn('a{b="c}'), /unterminated string|unbalanced/);
    assert.throws(() => metricNamesIn("sum(rate(a[5m])"), /unbalanced "\("/);
    assert.throws(() => metricNamesIn("a) + (b"), /unbalanced "\)"/);
  });

  it("reads Grafana's variable queries: label_values names a label last", () => {
    const q = metricNamesInVariableQuery;
    assert.deepEqual([...q('label_values(m{job=~"$job"}, instance)')], ["m"]);
    assert.deepEqual([...q("label_values(instance)")], []);
    assert.deepEqual([...q("query_result(topk(5, sum by (a) (m2)))")], ["m2"]);
    assert.throws(() => q("metrics(ovn_.*)"), /of a kind this check does not read/);
  });
});

interface Panel {
  id?: number;
  type?: string;
  title?: string;
  datasource?: unknown;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { datasource?: unknown; expr?: string; refId?: string }[];
  panels?: Panel[];
}

interface Dashboard {
  uid?: string;
  title?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list?: { name?: string; type?: string; query?: unknown; datasource?: unknown }[] };
}

const DATASOURCE_VARIABLE = { type: "prometheus", uid: "${datasource}" };

/** Every `datasource` value anywhere in the document, with where it is. */
function datasourceValues(node: unknown, path = "$"): [string, unknown][] {
  if (Array.isArray(node)) return node.flatMap((v, i) => datasourceValues(v, `${path}[${i}]`));
  if (node === null || typeof node !== "object") return [];
  return Object.entries(node).flatMap(([key, value]) => [
    ...(key === "datasource" ? [[`${path}.datasource`, value] as [string, unknown]] : []),
    ...datasourceValues(value, `${path}.${key}`),
  ]);
}

function overlaps(a: Panel["gridPos"] & object, b: Panel["gridPos"] & object): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

async function loadDashboards(): Promise<[string, Dashboard][]> {
  const { dashboards: files } = await monitoringFiles();
  return Promise.all(
    files.map(
      async (f) => [basename(f), JSON.parse(await readFile(f, "utf8")) as Dashboard] as const,
    ),
  ).then((pairs) => pairs.map(([f, d]) => [f, d]));
}

describe("the Grafana dashboards", () => {
  it("are the four that dashboards.ts writes, as it writes them now", async () => {
    const onDisk = await loadDashboards();
    const generated = dashboards();
    assert.deepEqual(
      onDisk.map(([f]) => f).sort(),
      Object.keys(generated).sort(),
      "monitoring/grafana/ holds other dashboards than dashboards.ts makes",
    );
    for (const [file, board] of onDisk) {
      assert.deepEqual(
        board,
        JSON.parse(JSON.stringify(generated[file])),
        `${file} is out of date: run npx tsx monitoring/grafana/dashboards.ts`,
      );
    }
    assert.equal(onDisk.length, 4);
  });

  it("import into Grafana 9 or newer with any Prometheus: a datasource variable, no fixed UID", async () => {
    for (const [file, board] of await loadDashboards()) {
      assert.ok((board.schemaVersion ?? 0) >= 36, `${file}: schemaVersion below 36`);
      assert.match(board.uid ?? "", /^microovn-[a-z]+$/, `${file}: dashboard uid`);
      const vars = board.templating?.list ?? [];
      const ds = vars.find((v) => v.name === "datasource");
      assert.deepEqual(
        { type: ds?.type, query: ds?.query },
        { type: "datasource", query: "prometheus" },
        `${file}: no datasource variable of type prometheus`,
      );
      for (const [where, value] of datasourceValues(board)) {
        assert.deepEqual(value, DATASOURCE_VARIABLE, `${file} ${where} does not use $datasource`);
      }
    }
  });

  it("query through $datasource in every panel and lay panels out without overlaps", async () => {
    for (const [file, board] of await loadDashboards()) {
      const panels = board.panels ?? [];
      const ids = new Set<number>();
      for (const p of panels) {
        const where = `${file} panel "${p.title}"`;
        assert.ok(p.id !== undefined && !ids.has(p.id), `${where}: id missing or repeated`);
        ids.add(p.id);
        const g = p.gridPos;
        assert.ok(g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${where}: gridPos`);
        if (p.type === "row") {
          assert.deepEqual(p.panels ?? [], [], `${where}: a collapsed row hides panels`);
          continue;
        }
        assert.deepEqual(p.datasource, DATASOURCE_VARIABLE, `${where}: datasource`);
        assert.ok(p.targets && p.targets.length > 0, `${where}: no query`);
        for (const t of p.targets) {
          assert.deepEqual(t.datasource, DATASOURCE_VARIABLE, `${where}: target datasource`);
          assert.ok(t.expr && t.refId, `${where}: target without expr or refId`);
          assert.match(t.expr, /job=~"\$job"/, `${where}: ${t.expr} ignores the job variable`);
        }
        for (const other of panels) {
          if (other !== p && other.gridPos && overlaps(g, other.gridPos)) {
            assert.fail(`${where} overlaps "${other.title}"`);
          }
        }
      }
    }
  });

  it("query only metric names, which the tokenizer finds in every panel", async () => {
    for (const [file, board] of await loadDashboards()) {
      const found = dashboardMetricNames(board);
      assert.ok(found.size > 5, `${file}: only ${[...found].join(", ")}`);
      for (const name of found) assert.match(name, /^(ovn|ovs|microovn)_[a-z0-9_]+$|^up$/, name);
    }
  });
});

interface Rule {
  alert?: string;
  record?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe("the alert rules", () => {
  it("each wait a while, carry a severity, and say what is wrong and which command helps", async () => {
    const { rules } = await monitoringFiles();
    assert.deepEqual(
      rules.map((f) => basename(f)),
      ["microovn-alerts.yml"],
    );
    const doc = parseYaml(await readFile(rules[0]!, "utf8")) as { groups: { rules: Rule[] }[] };
    const alerts = doc.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    const seen = new Set<string>();
    for (const r of alerts) {
      assert.ok(!seen.has(r.alert!), `${r.alert} twice`);
      seen.add(r.alert!);
      assert.match(r.alert!, /^MicroOVN[A-Za-z]+$/);
      assert.match(r.for ?? "", /^\d+[smhd]$/, `${r.alert}: no for:`);
      assert.ok(["warning", "critical"].includes(r.labels?.severity ?? ""), `${r.alert}: severity`);
      assert.ok(r.annotations?.summary, `${r.alert}: summary`);
      assert.match(r.annotations?.description ?? "", /`microovn [a-z]/, `${r.alert}: no command`);
    }
    for (const wanted of [
      "MicroOVNDatabaseNoLeader",
      "MicroOVNDatabaseSeveralLeaders",
      "MicroOVNStateDatabaseNoLeader",
      "MicroOVNStateDatabaseSeveralLeaders",
      "MicroOVNDatabaseLogBacklog",
      "MicroOVNNorthdNoneActive",
      "MicroOVNNorthdSeveralActive",
      "MicroOVNChassisDisconnected",
      "MicroOVNCertificateExpiringSoon",
      "MicroOVNProcessCrashLooping",
      "MicroOVNMemberDown",
      "MicroOVNScrapeTargetDown",
    ]) {
      assert.ok(seen.has(wanted), `no ${wanted}`);
    }
  });

  it("and the dashboards query names the exporter's families, not Prometheus' own series", async () => {
    const all = await queriedMetricNames();
    assert.ok(all.has("ovn_db_cluster_server_role"));
    assert.ok(all.has("microovn_db_cluster_server_role"));
    assert.ok(all.has("ovs_vswitchd_interface_rx_bytes_total"));
    assert.ok(!all.has("up"), "up is Prometheus' own, no member exports it");
    for (const name of all) assert.match(name, /^(ovn|ovs|microovn)_[a-z0-9_]+$/, name);
  });
});
