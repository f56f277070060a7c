/**
 * Dashboard benchmark (`npm run bench:dashboard [-- --seconds N]`, as root,
 * after `npm run build`): microovnd's idle CPU (% of one core) and RSS on a
 * one-member lab with the dashboard on and nothing scraping metrics — first
 * with no page open (the baseline), then with one headless chromium logged
 * in and following it live, with an empty NB and with 10,000 logical switch
 * ports (10 switches of 1,000). Also how long the
 * page takes to show the 10,000 ports once ovn-nbctl has written them.
 * Progress goes to stdout; the last line is one JSON object with every figure.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { openDashboard, withLabBrowser } from "../test/helpers/browser.js";
import { nbctlBatch } from "../test/helpers/lab.js";
import { waitFor } from "../test/helpers/wait.js";
import { log, sig } from "./lib/stats.js";

const SWITCHES = 10;
const PORTS_PER_SWITCH = 1_000;
const TARGETS = { idle_cpu_percent: 1, rss_mib: 100 };
const secondsArg = process.argv.indexOf("--seconds");
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 60;
const TICKS_PER_SECOND = 100;

/**
 * CPU time of a process in clock ticks: its own (utime + stime), and that
 * of the children it waited for (cutime + cstime: the ovs-appctl it runs).
 */
async function cpuTicks(pid: number): Promise<{ own: number; children: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const f = stat
    .slice(stat.lastIndexOf(")") + 2)
    .split(" ")
    .map(Number);
  return { own: f[11]! + f[12]!, children: f[13]! + f[14]! };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]) / 1024;
}

interface Idle {
  /** microovnd's own CPU, % of one core. */
  cpu: number;
  /** That of the programs it ran meanwhile (ovs-appctl), % of one core. */
  children: number;
  rss: number;
}

/** CPU (% of one core) over `seconds` of idling, and RSS at the end. */
async function idle(pid: number, seconds: number): Promise<Idle> {
  const before = await cpuTicks(pid);
  const start = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - start) / 1000;
  const after = await cpuTicks(pid);
  const percent = (ticks: number) => (100 * ticks) / TICKS_PER_SECOND / elapsed;
  return {
    cpu: percent(after.own - before.own),
    children: percent(after.children - before.children),
    rss: await rssMiB(pid),
  };
}

function figures(i: Idle) {
  return {
    idle_cpu_percent: sig(i.cpu, 3),
    children_cpu_percent: sig(i.children, 3),
    rss_mib: sig(i.rss, 3),
  };
}

await withLabBrowser(1, async (lab, dir, keep) => {
  const pid = (await lab.pids("m1")).microovnd!;
  log(`microovnd pid ${pid}; idling ${SECONDS} s with no page open (the baseline)`);
  const closed = await idle(pid, SECONDS);
  log(
    `  no page: CPU ${closed.cpu.toFixed(2)} % (+${closed.children.toFixed(2)} % ovs-appctl), ` +
      `RSS ${closed.rss.toFixed(1)} MiB`,
  );
  const opened = await openDashboard(lab, "m1", dir);
  keep(opened.browser);
  const page = opened.page;
  log(`microovnd pid ${pid}; idling ${SECONDS} s with an empty NB and one browser following`);
  await page.locator("text=No logical switches or routers yet.").waitFor({ timeout: 30_000 });
  const empty = await idle(pid, SECONDS);
  log(
    `  empty NB: CPU ${empty.cpu.toFixed(2)} % (+${empty.children.toFixed(2)} % ovs-appctl), ` +
      `RSS ${empty.rss.toFixed(1)} MiB`,
  );

  log(`creating ${SWITCHES * PORTS_PER_SWITCH} logical switch ports`);
  for (let s = 0; s < SWITCHES; s++) {
    const name = `bench-sw${s}`;
    const commands = [["ls-add", name]];
    for (let p = 0; p < PORTS_PER_SWITCH; p++) commands.push(["lsp-add", name, `${name}-p${p}`]);
    await nbctlBatch(lab, "m1", commands);
  }
  const written = performance.now();
  await waitFor(
    "the page to show every port",
    async () => {
      const texts = await page.locator("svg#topology g.switch").allTextContents();
      return (
        texts.length === SWITCHES && texts.every((t) => t.includes(`${PORTS_PER_SWITCH} ports`))
      );
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  const shown = (performance.now() - written) / 1000;
  log(`  the page shows them ${shown.toFixed(2)} s after the last ovn-nbctl returned`);
  const full = await idle(pid, SECONDS);
  log(
    `  10,000 ports: CPU ${full.cpu.toFixed(2)} % (+${full.children.toFixed(2)} % ovs-appctl), ` +
      `RSS ${full.rss.toFixed(1)} MiB`,
  );
  console.log(
    JSON.stringify({
      seconds: SECONDS,
      no_page: figures(closed),
      empty: figures(empty),
      ports_10000: { ...figures(full), shown_after_s: sig(shown, 3) },
      targets: TARGETS,
    }),
  );
});
