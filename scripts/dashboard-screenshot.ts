/**
 * Takes docs/images/dashboard.png (`npm run docs:screenshot`, as root, after
 * `npm run build`): a three-member lab with a VM on each chassis, a second
 * network, a router between them with a gateway port, SNAT and a floating
 * IP, seen in the dashboard of m1 by a headless chromium. The lab is taken
 * down afterwards, whatever happened.
 */
import { resolve } from "node:path";
import { openDashboard, withLabBrowser } from "../test/helpers/browser.js";
import { nbctlBatch } from "../test/helpers/lab.js";
import { waitFor } from "../test/helpers/wait.js";

const OUT = resolve(import.meta.dirname, "../docs/images/dashboard.png");

/** A switch port of type router, connecting `lsw` to router port `lrp`. */
function routerPort(lsw: string, lrp: string): string[][] {
  const port = `${lsw}-${lrp}`;
  return [
    ["lsp-add", lsw, port],
    ["lsp-set-type", port, "router"],
    ["lsp-set-addresses", port, "router"],
    ["lsp-set-options", port, `router-port=${lrp}`],
  ];
}

await withLabBrowser(3, async (lab, dir, keep) => {
  for (const node of ["m1", "m2", "m3"]) await lab.addVm(node);
  await nbctlBatch(lab, "m1", [
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
    ...routerPort("lab-sw0", "lrp-lab"),
    ...routerPort("db-net", "lrp-db"),
    ...routerPort("public", "lrp-public"),
    ["lr-nat-add", "edge-router", "snat", "203.0.113.1", "10.0.0.0/24"],
    ["lr-nat-add", "edge-router", "dnat_and_snat", "203.0.113.10", "10.0.0.11"],
  ]);
  const opened = await openDashboard(lab, "m1", dir, { width: 1400, height: 1000 });
  keep(opened.browser);
  const page = opened.page;
  await page.locator('svg#topology g.router[data-name="edge-router"]').waitFor({ timeout: 30_000 });
  // Every VM bound, and one leader per database, before the picture.
  await waitFor(
    "three VMs bound and a leader for each database",
    async () =>
      (await page.locator("svg#topology g.port").allTextContents()).filter((t) => /on m\d/.test(t))
        .length >= 3 && (await page.locator("#databases .role-leader").count()) === 3,
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  await page.screenshot({ path: OUT, fullPage: true });
  console.log(`saved ${OUT}`);
});
