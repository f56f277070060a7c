/**
 * Takes docs/images/dashboard.png (`npm run docs:screenshot`, as root, after
 * `npm run build`): a three-member lab with a VM on each chassis, a second
 * network, a router between them with a gateway port, SNAT and a floating
 * IP, seen in the dashboard of m1 by a headless chromium. The lab is taken
 * down afterwards, whatever happened.
 */
import { resolve } from "node:path";
import { openDashboard, type NamespacedBrowser } from "../test/helpers/browser.js";
import { startLab, stopLab } from "../test/helpers/lab.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";
import { waitFor } from "../test/helpers/wait.js";
import type { Lab } from "../src/lab/lab.js";

const OUT = resolve(import.meta.dirname, "../docs/images/dashboard.png");

async function nbctl(lab: Lab, commands: string[][]): Promise<void> {
  await lab.ok("m1", [
    "ovn-nbctl",
    "--timeout=20",
    ...commands.flatMap((c, i) => (i === 0 ? c : ["--", ...c])),
  ]);
}

let lab: Lab | undefined;
let dir: string | undefined;
let browser: NamespacedBrowser | undefined;
try {
  lab = await startLab(3);
  dir = await makeTempDir("shot");
  for (const node of ["m1", "m2", "m3"]) await lab.addVm(node);
  await nbctl(lab, [
    ["ls-add", "db-net"],
    ["lsp-add", "db-net", "db-1"],
    ["lsp-set-addresses", "db-1", "02:00:00:00:01:01 10.0.1.11"],
    ["lsp-add", "db-net", "db-2"],
    ["lsp-set-addresses", "db-2", "02:00:00:00:01:02 10.0.1.12"],
    ["ls-add", "public"],
    ["lr-add", "edge-router"],
    ["lrp-add", "edge-router", "lrp-lab", "02:00:00:00:aa:01", "10.0.0.1/24"],
    ["lrp-add", "edge-router", "lrp-db", "02:00:00:00:aa:02", "10.0.1.1/24"],
    ["lrp-add", "edge-router", "lrp-public", "02:00:00:00:aa:03", "203.0.113.1/24"],
    ["lrp-set-gateway-chassis", "lrp-public", "m1", "10"],
    ["lsp-add", "lab-sw0", "lab-sw0-router"],
    ["lsp-set-type", "lab-sw0-router", "router"],
    ["lsp-set-addresses", "lab-sw0-router", "router"],
    ["lsp-set-options", "lab-sw0-router", "router-port=lrp-lab"],
    ["lsp-add", "db-net", "db-net-router"],
    ["lsp-set-type", "db-net-router", "router"],
    ["lsp-set-addresses", "db-net-router", "router"],
    ["lsp-set-options", "db-net-router", "router-port=lrp-db"],
    ["lsp-add", "public", "public-router"],
    ["lsp-set-type", "public-router", "router"],
    ["lsp-set-addresses", "public-router", "router"],
    ["lsp-set-options", "public-router", "router-port=lrp-public"],
    ["lr-nat-add", "edge-router", "snat", "203.0.113.1", "10.0.0.0/24"],
    ["lr-nat-add", "edge-router", "dnat_and_snat", "203.0.113.10", "10.0.0.11"],
  ]);
  const opened = await openDashboard(lab, "m1", dir, { width: 1400, height: 1000 });
  browser = opened.browser;
  const page = opened.page;
  await page.locator('svg#topology g.router[data-name="edge-router"]').waitFor({ timeout: 30_000 });
  // Every VM bound, and one leader per database, before the picture.
  await waitFor(
    "three VMs bound and a leader for each database",
    async () =>
      (await page.locator("svg#topology g.port").allTextContents()).filter((t) => / on m\d/.test(t))
        .length >= 3 && (await page.locator("#databases .role-leader").count()) === 3,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  await page.screenshot({ path: OUT, fullPage: true });
  console.log(`saved ${OUT}`);
} finally {
  await browser?.close();
  await stopLab(lab);
  if (dir) await removeDir(dir);
}
