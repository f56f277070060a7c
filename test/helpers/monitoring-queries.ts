/**
 * The metric names our alert rules (monitoring/prometheus/) and Grafana
 * dashboards (monitoring/grafana/) query, so that tests can hold them
 * against what members really export: a rule or panel that names a metric
 * nobody serves stays silent or empty, and no other check would notice.
 *
 * The names come from a small PromQL tokenizer rather than a full parser:
 * an identifier is a metric name unless it is a keyword, a function or
 * aggregation (followed by `(`), or sits where PromQL puts label names
 * (inside `{…}`, or in the list after `by`, `without`, `on`, `ignoring`,
 * `group_left`, `group_right`). Strings, numbers, durations, `[…]` ranges
 * and Grafana's `$variables` are skipped.
 */
import { readFile, readdir } from "node:fs/promises";
import { parse as parseYaml } from "yaml";

const MONITORING = new URL("../../monitoring/", import.meta.url);

/**
 * Words PromQL reserves (in any case): binary operators, modifiers, and the
 * aggregation operators, which may be followed by `by (…)` before their `(`.
 */
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "atan2",
  "offset",
  "bool",
  "inf",
  "nan",
  "sum",
  "min",
  "max",
  "avg",
  "group",
  "stddev",
  "stdvar",
  "count",
  "count_values",
  "bottomk",
  "topk",
  "quantile",
  "limitk",
  "limit_ratio",
]);

/** Words followed by a parenthesised list of label names. */
const LABEL_LIST_MODIFIERS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
]);

/**
 * Series Prometheus writes itself: no target exports them, so they are not
 * counted as queried metric names.
 */
export const PROMETHEUS_SERIES = new Set([
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling",
  "scrape_series_added",
  "ALERTS",
  "ALERTS_FOR_STATE",
]);

const IDENTIFIER = /[A-Za-z_:][A-Za-z0-9_:]*/y;
const NUMBER = /(?:0x[0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:[a-zA-Z]+\d*)*)/y;

function matchAt(pattern: RegExp, text: string, at: number): string | undefined {
  pattern.lastIndex = at;
  return pattern.exec(text)?.[0];
}

/** Index just past the string literal that opens at `at`. */
function skipString(text: string, at: number): number {
  const quote = text[at]!;
  let i = at + 1;
  while (i < text.length && text[i] !== quote) i += quote !== "`" && text[i] === "\\" ? 2 : 1;
  if (i >= text.length) throw new Error(`unterminated string at ${at} in: ${text}`);
  return i + 1;
}

/** Index just past the bracket that closes the one at `at`, strings skipped. */
function skipBracketed(text: string, at: number): number {
  const open = text[at]!;
  const close = { "(": ")", "[": "]", "{": "}" }[open]!;
  let depth = 0;
  let i = at;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") {
      i = skipString(text, i);
      continue;
    }
    if (c === open) depth++;
    if (c === close && --depth === 0) return i + 1;
    i++;
  }
  throw new Error(`unbalanced "${open}" at ${at} in: ${text}`);
}

function skipSpace(text: string, at: number): number {
  let i = at;
  while (i < text.length && /\s/.test(text[i]!)) i++;
  return i;
}

/**
 * A `{…}` selector names a metric itself only through `__name__="…"`; a
 * regular expression on `__name__` could mean any metric and is refused, so
 * that no query escapes the check.
 */
function namesInMatchers(matchers: string, whole: string): string[] {
  const names: string[] = [];
  const matcher =
    /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g;
  for (const [, label, op, quoted] of matchers.matchAll(matcher)) {
    if (label !== "__name__") continue;
    if (op !== "=") {
      throw new Error(`__name__${op} names metrics by pattern, which cannot be checked: ${whole}`);
    }
    names.push(quoted!.slice(1, -1));
  }
  return names;
}

/** The metric names a PromQL expression (possibly with Grafana variables) reads. */
export function metricNamesIn(expr: string): Set<string> {
  const names = new Set<string>();
  // Parentheses are only counted: a query cut short must not pass for a read one.
  let depth = 0;
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "(" || c === ")") {
      depth += c === "(" ? 1 : -1;
      if (depth < 0) throw new Error(`unbalanced ")" at ${i} in: ${expr}`);
      i++;
    } else if (c === "#") {
      const end = expr.indexOf("\n", i);
      i = end < 0 ? expr.length : end;
    } else if (c === '"' || c === "'" || c === "`") {
      i = skipString(expr, i);
    } else if (c === "{") {
      const end = skipBracketed(expr, i);
      for (const name of namesInMatchers(expr.slice(i + 1, end - 1), expr)) names.add(name);
      i = end;
    } else if (c === "[") {
      // A range, a subquery's range and step, or Grafana's [[variable]].
      i = skipBracketed(expr, i);
    } else if (c === "$") {
      // Grafana's $name, ${name} and ${name:format}.
      i = expr[i + 1] === "{" ? skipBracketed(expr, i + 1) : i + 1;
      i += matchAt(IDENTIFIER, expr, i)?.length ?? 0;
    } else if (/[0-9.]/.test(c) && matchAt(NUMBER, expr, i)) {
      i += matchAt(NUMBER, expr, i)!.length;
    } else if (/[A-Za-z_:]/.test(c)) {
      const word = matchAt(IDENTIFIER, expr, i)!;
      i += word.length;
      const lower = word.toLowerCase();
      const next = skipSpace(expr, i);
      if (LABEL_LIST_MODIFIERS.has(lower)) {
        if (expr[next] === "(") i = skipBracketed(expr, next);
      } else if (!KEYWORDS.has(lower) && expr[next] !== "(") {
        names.add(word);
      }
    } else {
      i++;
    }
  }
  if (depth !== 0) throw new Error(`unbalanced "(" in: ${expr}`);
  return names;
}

/** Splits `a, b, c` at top-level commas (not those inside brackets or strings). */
function topLevelArguments(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === "`") i = skipString(text, i);
    else if (c === "(" || c === "[" || c === "{") i = skipBracketed(text, i);
    else if (c === ",") {
      parts.push(text.slice(start, i));
      start = ++i;
    } else i++;
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim());
}

/**
 * The PromQL inside a Grafana Prometheus variable query: that has its own
 * small language (`label_values(selector, label)`, `query_result(expr)`,
 * …), where a label name can sit where PromQL would have a metric.
 */
export function promqlInVariableQuery(query: string): string[] {
  const call = /^\s*([a-z_]+)\s*\(([\s\S]*)\)\s*$/.exec(query);
  if (!call) return [query];
  const [, fn, inner] = call;
  const args = topLevelArguments(inner!);
  switch (fn) {
    case "label_values":
      // label_values(label) reads every series; label_values(selector, label) one metric.
      return args.length < 2 ? [] : [args.slice(0, -1).join(",")];
    case "label_names":
      return [];
    case "query_result":
      return [inner!];
    default:
      throw new Error(`Grafana variable query ${query} is of a kind this check does not read`);
  }
}

function union(sets: Iterable<Set<string>>): Set<string> {
  const all = new Set<string>();
  for (const set of sets) for (const name of set) all.add(name);
  return all;
}

/** The metric names in a Grafana Prometheus variable query. */
export function metricNamesInVariableQuery(query: string): Set<string> {
  return union(promqlInVariableQuery(query).map(metricNamesIn));
}

/** Every `expr` of every rule (alerting or recording) in a rules file. */
export function ruleExpressions(yamlText: string): string[] {
  const doc = parseYaml(yamlText) as { groups?: { rules?: { expr?: unknown }[] }[] };
  return (doc.groups ?? []).flatMap((g) =>
    (g.rules ?? []).map((r) => {
      if (typeof r.expr !== "string")
        throw new Error(`a rule without an expression: ${JSON.stringify(r)}`);
      return r.expr;
    }),
  );
}

interface Panel {
  type?: string;
  targets?: { expr?: unknown }[];
  panels?: Panel[];
}

export interface Dashboard {
  panels?: Panel[];
  templating?: { list?: { type?: string; query?: unknown; definition?: unknown }[] };
}

function allPanels(panels: Panel[] = []): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels)]);
}

/** Every PromQL expression of a dashboard: its panels' targets and its variables' queries. */
export function dashboardExpressions(dashboard: Dashboard): string[] {
  const panels = allPanels(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).flatMap((t) => (typeof t.expr === "string" ? [t.expr] : [])),
  );
  const variables = (dashboard.templating?.list ?? [])
    .filter((v) => v.type === "query")
    .flatMap((variable) => {
      const query =
        typeof variable.query === "string"
          ? variable.query
          : (variable.query as { query?: unknown } | undefined)?.query;
      if (typeof query !== "string") throw new Error(`variable without a query string`);
      return promqlInVariableQuery(query);
    });
  return [...panels, ...variables];
}

/** The metric names a dashboard's panels and variables query. */
export function dashboardMetricNames(dashboard: Dashboard): Set<string> {
  return union(dashboardExpressions(dashboard).map(metricNamesIn));
}

/**
 * A dashboard query as Grafana sends it with every variable at All
 * (`$job`, `$instance`, `$db`) and a one-minute rate interval.
 */
export function asGrafanaSends(expr: string): string {
  return expr.replace(/\$__rate_interval\b/g, "1m").replace(/\$\{?(job|instance|db)\}?/g, ".*");
}

/** Rule files (not their promtool tests) and dashboards, by path. */
export async function monitoringFiles(): Promise<{ rules: string[]; dashboards: string[] }> {
  const list = async (dir: string, keep: (name: string) => boolean) =>
    (await readdir(new URL(dir, MONITORING)))
      .filter(keep)
      .sort()
      .map((name) => new URL(`${dir}${name}`, MONITORING).pathname);
  return {
    rules: await list("prometheus/", (n) => n.endsWith(".yml") && !n.endsWith(".test.yml")),
    dashboards: await list("grafana/", (n) => n.endsWith(".json")),
  };
}

/**
 * Every metric name any rule expression or dashboard query uses, less the
 * series Prometheus makes itself and the names the rules record.
 */
export async function queriedMetricNames(): Promise<Set<string>> {
  const { rules, dashboards } = await monitoringFiles();
  const names = new Set<string>();
  const recorded = new Set<string>();
  for (const file of rules) {
    const text = await readFile(file, "utf8");
    for (const expr of ruleExpressions(text)) for (const n of metricNamesIn(expr)) names.add(n);
    const doc = parseYaml(text) as { groups?: { rules?: { record?: string }[] }[] };
    for (const g of doc.groups ?? [])
      for (const r of g.rules ?? []) if (r.record) recorded.add(r.record);
  }
  for (const file of dashboards) {
    const dashboard = JSON.parse(await readFile(file, "utf8")) as Dashboard;
    for (const n of dashboardMetricNames(dashboard)) names.add(n);
  }
  return new Set([...names].filter((n) => !PROMETHEUS_SERIES.has(n) && !recorded.has(n)));
}
