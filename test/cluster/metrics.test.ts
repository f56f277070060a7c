/**
 * Metrics in a three-member lab, one lab for every check: each database
 * (NB, SB, the state database) has exactly one leader across the members'
 * /metrics, and one again after the member leading NB is killed; exactly
 * one ovn-northd is active; a killed process shows in
 * microovn_process_restarts_total; promtool finds nothing to say about any
 * member's output; every metric the alert rules and dashboards query is one
 * a member declares.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { killNode, startLab, stopLab } from "../helpers/lab.js";
import {
  NO_PROMTOOL,
  declaredNames,
  fetchIn,
  isDeclared,
  parseSamples,
  promtoolProblems,
  type Sample,
} from "../helpers/metrics.js";
import { queriedMetricNames } from "../helpers/monitoring-queries.js";
import { waitFor } from "../helpers/wait.js";

const DATABASES = [
  ["ovn_db_cluster_server_role", "OVN_Northbound"],
  ["ovn_db_cluster_server_role", "OVN_Southbound"],
  ["microovn_db_cluster_server_role", "MicroOVN"],
] as const;

async function scrape(lab: Lab, node: string): Promise<string> {
  return fetchIn(lab.node(node).namespace, "http://127.0.0.1:9310/metrics");
}

/** Each member's samples, for the members given. */
async function scrapeAll(lab: Lab, nodes: readonly string[]): Promise<Map<string, Sample[]>> {
  const texts = await Promise.all(nodes.map((n) => scrape(lab, n)));
  return new Map(nodes.map((n, i) => [n, parseSamples(texts[i]!)]));
}

/** Leaders of `db` as the members report them: [member, server_id]. */
function leaders(all: Map<string, Sample[]>, metric: string, db: string): [string, string][] {
  return [...all].flatMap(([node, samples]) =>
    samples
      .filter(
        (s) =>
          s.name === metric &&
          s.labels.db_name === db &&
          s.labels.server_role === "leader" &&
          s.value === 1,
      )
      .map((s): [string, string] => [node, s.labels.server_id!]),
  );
}

function sum(all: Map<string, Sample[]>, metric: string): number {
  return [...all.values()].flat().reduce((n, s) => (s.name === metric ? n + s.value : n), 0);
}

/** Three servers reporting per database, one of them leader. */
function settled(all: Map<string, Sample[]>, servers: number): boolean {
  return DATABASES.every(([metric, db]) => {
    const reporting = [...all.values()]
      .flat()
      .filter((s) => s.name === metric && s.labels.db_name === db).length;
    return reporting === servers && leaders(all, metric, db).length === 1;
  });
}

describe("metrics in a three-member lab", { timeout: 300_000 }, () => {
  let lab: Lab | undefined;
  const names = ["m1", "m2", "m3"];

  before(async () => {
    lab = await startLab(3);
  });

  after(async () => {
    await stopLab(lab);
  });

  it("one leader per database, one active ovn-northd, every member up", async () => {
    const all = await waitFor(
      "one leader per database on the members' /metrics",
      async () => {
        const scraped = await scrapeAll(lab!, names);
        return settled(scraped, 3) && scraped;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const [metric, db] of DATABASES) {
      assert.equal(
        leaders(all, metric, db).length,
        1,
        `${db}: ${JSON.stringify(leaders(all, metric, db))}`,
      );
    }
    await waitFor(
      "exactly one active ovn-northd",
      async () => {
        const scraped = await scrapeAll(lab!, names);
        const statuses = [...scraped.values()].flat().filter((s) => s.name === "ovn_northd_status");
        return statuses.length === 3 && sum(scraped, "ovn_northd_status") === 1;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    for (const node of names) {
      const up = parseSamples(await scrape(lab!, node)).filter(
        (s) => s.name === "microovn_member_up",
      );
      assert.deepEqual(
        up.map((s) => [s.labels.member, s.value]).sort(),
        names.map((n) => [n, 1]),
        `${node} sees every member up`,
      );
    }
  });

  it("promtool check metrics passes on every member", { skip: NO_PROMTOOL }, async () => {
    for (const node of names) {
      assert.equal(await promtoolProblems(await scrape(lab!, node)), "", `${node}'s /metrics`);
    }
  });

  it("every metric the alert rules and dashboards query is declared by a member", async () => {
    const declared = new Set<string>();
    for (const node of names)
      for (const n of declaredNames(await scrape(lab!, node))) declared.add(n);
    const queried = await queriedMetricNames();
    assert.ok(queried.size > 20, `monitoring/ queries ${queried.size} metrics`);
    const missing = [...queried].filter((n) => !isDeclared(n, declared));
    assert.deepEqual(missing, [], "queried by monitoring/ but served by no member");
  });

  it("a killed process counts in microovn_process_restarts_total", async () => {
    const node = "m2";
    const restarts = (samples: Sample[]) =>
      samples.find(
        (s) => s.name === "microovn_process_restarts_total" && s.labels.process === "ovn-northd",
      )?.value;
    const before = restarts(parseSamples(await scrape(lab!, node)));
    assert.equal(before, 0);
    const pid = (await lab!.pids(node))["ovn-northd"];
    assert.ok(pid, "ovn-northd runs on m2");
    process.kill(pid, "SIGKILL");
    await waitFor(
      "ovn-northd's restart on m2's /metrics",
      async () => {
        const samples = parseSamples(await scrape(lab!, node));
        const up = samples.find(
          (s) => s.name === "microovn_process_up" && s.labels.process === "ovn-northd",
        );
        return restarts(samples) === 1 && up?.value === 1;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  it("after SIGKILL of the member leading NB, each database has one leader again", async () => {
    const all = await scrapeAll(lab!, names);
    const [[victim, oldNb]] = leaders(all, "ovn_db_cluster_server_role", "OVN_Northbound") as [
      [string, string],
    ];
    await killNode(lab!, victim);
    const survivors = names.filter((n) => n !== victim);
    const after = await waitFor(
      "one leader per database among the survivors",
      async () => {
        const scraped = await scrapeAll(lab!, survivors);
        return settled(scraped, 2) && scraped;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const [[, newNb]] = leaders(after, "ovn_db_cluster_server_role", "OVN_Northbound") as [
      [string, string],
    ];
    assert.notEqual(newNb, oldNb, "NB has a new leader");
    await waitFor(
      `${victim} reported down`,
      async () => {
        const scraped = await scrapeAll(lab!, survivors);
        return [...scraped.values()].every((samples) =>
          samples.some(
            (s) => s.name === "microovn_member_up" && s.labels.member === victim && s.value === 0,
          ),
        );
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });
});
