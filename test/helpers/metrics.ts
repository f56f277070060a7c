/**
 * Reading a member's /metrics in tests: fetched from inside its namespace
 * (the default listener is on the namespace's loopback), parsed into
 * samples, and checked with Prometheus' own linter when it is installed.
 */
import { existsSync } from "node:fs";
import { runIn } from "../../src/lab/netns.js";
import { run } from "../../src/process/run.js";

export const PROMTOOL = "/usr/bin/promtool";

/** Why promtool checks are skipped here, or false when it is installed. */
export const NO_PROMTOOL: string | false = existsSync(PROMTOOL)
  ? false
  : `${PROMTOOL} is missing: install Debian's prometheus package (scripts/install-test-packages.sh)`;

const FETCH = `fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { process.stderr.write(String(e.cause ?? e)); process.exit(2); })`;

/** The body of GET `url` from inside `namespace`; throws unless 200. */
export async function fetchIn(
  namespace: string,
  url: string,
  env: Record<string, string> = {},
): Promise<string> {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const r = await runIn(namespace, "env", [...envArgs, process.execPath, "-e", FETCH, url], {
    timeoutMs: 15_000,
  });
  return r.stdout;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (comments and blank lines left out). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m?.[1] || !m[3]) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Names declared with a `# TYPE` line. */
export function declaredNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

/** Whether `name` (as a query names it) is served: histograms' and counters' suffixes included. */
export function isDeclared(name: string, declared: Set<string>): boolean {
  if (declared.has(name)) return true;
  const base = name.replace(/_(bucket|sum|count|total|created)$/, "");
  return declared.has(base);
}

/** `promtool check metrics` on `text`: its complaints, or "" when there are none. */
export async function promtoolProblems(text: string): Promise<string> {
  const r = await run(PROMTOOL, ["check", "metrics"], { input: text, allowFailure: true });
  return r.exitCode === 0 ? "" : `${r.stdout}${r.stderr}`.trim() || `exit ${r.exitCode}`;
}
