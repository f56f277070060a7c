/**
 * monitoring/ against a real cluster through a real Prometheus (Debian's
 * prometheus package): a three-member lab serves its metrics on the
 * members' addresses (`metrics.address member:9310`, HTTPS with the
 * members' certificates), one Prometheus in m1's namespace scrapes all
 * three every second, checking them against the cluster CA, with our
 * alert rules loaded. Every dashboard query then shows data (and the one
 * that lists broken processes shows none), no alert is pending on the
 * healthy cluster, and killing a member raises MicroOVNMemberDown and
 * MicroOVNScrapeTargetDown for it (pending: their `for` is minutes).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify as toYaml } from "yaml";
import type { Lab } from "../../src/lab/lab.js";
import { inNamespace } from "../../src/lab/netns.js";
import { spawnDetached } from "../../src/process/run.js";
import { killNode, startLab, stopLab } from "../helpers/lab.js";
import {
  asGrafanaSends,
  dashboardExpressions,
  monitoringFiles,
  type Dashboard,
} from "../helpers/monitoring-queries.js";
import { stopPid, trackPid } from "../helpers/processes.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const PROMETHEUS = "/usr/bin/prometheus";
const PROMTOOL = "/usr/bin/promtool";
const EXPORTER = new URL("../../src/metrics/exporter.ts", import.meta.url);
const RULES = fileURLToPath(
  new URL("../../monitoring/prometheus/microovn-alerts.yml", import.meta.url),
);
/** Inside m1's namespace, where nothing else listens. */
const PROMETHEUS_URL = "http://127.0.0.1:9090";
const METRICS_PORT = 9310;

const skip =
  !existsSync(PROMETHEUS) || !existsSync(PROMTOOL)
    ? `${PROMETHEUS} and ${PROMTOOL} are needed: apt-get install prometheus (scripts/install-test-packages.sh)`
    : !existsSync(EXPORTER)
      ? "this tree has no metrics exporter (src/metrics/) to scrape"
      : false;

/** Panels that list what is broken: empty on a healthy cluster. */
const EMPTY_WHEN_HEALTHY = new Set(["Processes not running"]);

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

interface PanelQuery {
  where: string;
  expr: string;
  title: string;
}

async function panelQueries(): Promise<PanelQuery[]> {
  const { dashboards } = await monitoringFiles();
  const queries: PanelQuery[] = [];
  for (const file of dashboards) {
    const board = JSON.parse(await readFile(file, "utf8")) as Dashboard & {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    for (const panel of board.panels) {
      for (const t of panel.targets ?? []) {
        queries.push({
          where: `${basename(file)} "${panel.title}"`,
          title: panel.title,
          expr: asGrafanaSends(t.expr),
        });
      }
    }
    // The variables' queries too: an empty one leaves every panel empty.
    const panelExprs = new Set(board.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)));
    for (const expr of dashboardExpressions(board).filter((e) => !panelExprs.has(e))) {
      queries.push({ where: `${basename(file)} variable`, title: "", expr: asGrafanaSends(expr) });
    }
  }
  return queries;
}

describe("monitoring a three-member lab with Prometheus", { skip, timeout: 300_000 }, () => {
  let lab: Lab | undefined;
  let dir = "";
  let prometheusPid: number | undefined;

  async function query(expr: string): Promise<Series[]> {
    const r = await lab!.exec("m1", PROMTOOL, [
      "query",
      "instant",
      "-o",
      "json",
      // A query may start with "-", which must not read as an option.
      "--",
      PROMETHEUS_URL,
      expr,
    ]);
    if (r.exitCode !== 0) throw new Error(`promtool query ${expr}: ${r.stderr.trim()}`);
    return JSON.parse(r.stdout) as Series[];
  }

  before(async () => {
    lab = await startLab(3);
    dir = await makeTempDir("prom");
    await lab.ok("m1", ["config", "set", "metrics.address", `member:${METRICS_PORT}`]);
    await copyFile(RULES, join(dir, "microovn-alerts.yml"));
    const config = {
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      rule_files: [join(dir, "microovn-alerts.yml")],
      scrape_configs: [
        {
          job_name: "microovn",
          // As docs/observability.md tells operators: HTTPS, checked against the cluster CA.
          scheme: "https",
          tls_config: { ca_file: join(lab.node("m1").stateDir, "data/pki/cacert.pem") },
          static_configs: [{ targets: lab.nodes.map((n) => `${n.address}:${METRICS_PORT}`) }],
        },
      ],
    };
    await writeFile(join(dir, "prometheus.yml"), toYaml(config));
    const cmd = inNamespace(lab.node("m1").namespace, PROMETHEUS, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=${new URL(PROMETHEUS_URL).host}`,
    ]);
    const prometheus = await spawnDetached(cmd.program, cmd.args, {
      logFile: join(dir, "prometheus.log"),
    });
    prometheusPid = prometheus.pid;
    trackPid(prometheus.pid);
  });

  after(async () => {
    if (prometheusPid !== undefined) await stopPid(prometheusPid);
    await stopLab(lab);
    if (dir) await removeDir(dir);
  });

  it("scrapes every member on its own address", async () => {
    await waitFor(
      "Prometheus scraping all three members",
      async () => (await query('up{job="microovn"} == 1')).length === 3,
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  it("every dashboard query shows data, and the list of broken processes none", async () => {
    const queries = await panelQueries();
    assert.ok(queries.length > 50, `only ${queries.length} queries`);
    const problems = async () => {
      const wrong: string[] = [];
      for (const q of queries) {
        const series = await query(q.expr);
        const wantEmpty = EMPTY_WHEN_HEALTHY.has(q.title);
        if (wantEmpty !== (series.length === 0)) {
          wrong.push(`${q.where}: ${q.expr} → ${series.length} series`);
        }
      }
      return wrong;
    };
    // Rates need two scrapes and every member's first refresh: wait for
    // them; on timeout the error lists the queries still wrong.
    await waitFor(
      "every dashboard query to show what a healthy cluster has",
      async () => {
        const wrong = await problems();
        if (wrong.length > 0) throw new Error(wrong.join("\n"));
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
  });

  it("raises no alert, not even a pending one, on the healthy cluster", async () => {
    const alerts = await query("ALERTS");
    assert.deepEqual(
      alerts.map((a) => a.metric),
      [],
      "alerts on a healthy cluster",
    );
  });

  it("raises MicroOVNMemberDown and MicroOVNScrapeTargetDown for a killed member", async () => {
    const m3 = lab!.node("m3");
    await killNode(lab!, "m3");
    const target = `${m3.address}:${METRICS_PORT}`;
    await waitFor(
      "the killed member's alerts",
      async () => {
        const down = await query(`ALERTS{alertname="MicroOVNMemberDown",member="m3"}`);
        const unscraped = await query(
          `ALERTS{alertname="MicroOVNScrapeTargetDown",instance="${target}"}`,
        );
        return down.length === 1 && unscraped.length === 1;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    // Only m3 is down: the survivors are named in no member alert.
    const others = await query(
      `ALERTS{alertname=~"MicroOVNMemberDown|MicroOVNScrapeTargetDown",member!="m3",instance!="${target}"}`,
    );
    assert.deepEqual(
      others.map((a) => a.metric),
      [],
    );
  });
});
