/**
 * The alert rules under Prometheus' own tool: `promtool check rules` reads
 * them as Prometheus would load them, and `promtool test rules` runs
 * monitoring/prometheus/microovn-alerts.test.yml, which shows each alert
 * firing on its failure and quiet on a healthy or briefly disturbed cluster.
 * A copy of the rules with one threshold moved must fail those tests, so a
 * passing run means they look at the rules. Every query of the Grafana
 * dashboards goes through the same PromQL parser, as recording rules with
 * Grafana's variables filled in. Skipped, saying why, without Debian's
 * promtool (package prometheus; scripts/install-test-packages.sh).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stringify as toYaml } from "yaml";
import { run } from "../../src/process/run.js";
import {
  asGrafanaSends,
  dashboardExpressions,
  monitoringFiles,
  type Dashboard,
} from "../helpers/monitoring-queries.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const PROMTOOL = "/usr/bin/promtool";
const RULES_DIR = fileURLToPath(new URL("../../monitoring/prometheus/", import.meta.url));
const RULES = "microovn-alerts.yml";
const RULE_TESTS = "microovn-alerts.test.yml";

async function promtool(args: string[], cwd?: string) {
  return run(PROMTOOL, args, { allowFailure: true, timeoutMs: 60_000, ...(cwd ? { cwd } : {}) });
}

const skip = existsSync(PROMTOOL)
  ? false
  : `${PROMTOOL} is missing: apt-get install prometheus (or run scripts/install-test-packages.sh)`;

describe("the alert rules and dashboard queries under promtool", { skip }, () => {
  let dir = "";
  before(async () => {
    dir = await makeTempDir("promtool");
  });
  after(async () => {
    if (dir) await removeDir(dir);
  });

  it("load as Prometheus loads them (promtool check rules)", async () => {
    const result = await promtool(["check", "rules", join(RULES_DIR, RULES)]);
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS: \d+ rules found/);
  });

  it("fire on each failure and stay quiet otherwise (promtool test rules)", async () => {
    const result = await promtool(["test", "rules", RULE_TESTS], RULES_DIR);
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
    assert.match(result.stdout + result.stderr, /SUCCESS/);
  });

  it("and those tests fail when a rule is wrong", async () => {
    await copyFile(join(RULES_DIR, RULE_TESTS), join(dir, RULE_TESTS));
    const rules = await readFile(join(RULES_DIR, RULES), "utf8");
    // Two leaders no longer count as too many: the two-leader test must notice.
    const several =
      'count by (job, db_name) (ovn_db_cluster_server_role{server_role="leader"} == 1) > 1';
    assert.ok(rules.includes(several), "the two-leader rule changed: update this test");
    await writeFile(join(dir, RULES), rules.replace(several, several.replace("> 1", "> 2")));
    const result = await promtool(["test", "rules", RULE_TESTS], dir);
    assert.notEqual(result.exitCode, 0, "promtool passed rules that miss two leaders");
    assert.match(result.stdout + result.stderr, /MicroOVNDatabaseSeveralLeaders/);
  });

  it("read every dashboard query as valid PromQL", async () => {
    const { dashboards } = await monitoringFiles();
    const rules = [];
    for (const file of dashboards) {
      const board = JSON.parse(await readFile(file, "utf8")) as Dashboard;
      for (const expr of dashboardExpressions(board)) {
        rules.push({ record: `dashboard:query:${rules.length}`, expr: asGrafanaSends(expr) });
      }
    }
    assert.ok(rules.length > 50, `only ${rules.length} queries in ${dashboards.length} dashboards`);
    const file = join(dir, "dashboard-queries.yml");
    // A broken query among them must fail the check, or it proves nothing.
    await writeFile(
      file,
      toYaml({ groups: [{ name: "broken", rules: [{ record: "x:y", expr: "sum(up" }] }] }),
    );
    assert.notEqual((await promtool(["check", "rules", file])).exitCode, 0);
    await writeFile(file, toYaml({ groups: [{ name: "dashboards", rules }] }));
    const result = await promtool(["check", "rules", file]);
    assert.equal(result.exitCode, 0, result.stdout + result.stderr);
  });
});
