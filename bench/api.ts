/**
 * OpenStack API benchmark (`npm run bench:api [-- --no-build] [--only fip-ready]`), on a
 * one-member lab cluster with the API service enabled:
 *
 * - port create rate through the Networking API, sequential and 16
 *   concurrent, against the floor: the same Logical_Switch_Port rows
 *   written to NB by our own client with one transaction per port at the
 *   same concurrency (`api_create_ratio_to_floor`, target ≥ 0.7);
 * - add_router_interface rate, sequential and 16 concurrent, against its
 *   floor: the router-type switch port and the router port written directly
 *   (`api_router_interface_ratio_to_floor`; bench/lib/router-load.ts);
 * - floating IP create and associate rates against theirs: the floating
 *   IP's port, and the NAT row with the VM port's key (bench/lib/fip-load.ts);
 * - `GET /v2.0/ports` with 10,000 ports: p50 and p99 (target p50 ≤ 50 ms);
 * - the API process's resident memory with those 10,000 ports;
 * - token issue rate (password method) when the local auth plugin serves
 *   tokens;
 * - then, in the lab: the time from a floating IP's association being
 *   answered to the first echo answered through it from the outside
 *   network, centralised and distributed (`fip_ready_s`,
 *   bench/lib/fip-ready.ts); `--only fip-ready` runs this step alone.
 *
 * The load runs inside the member's namespace (bench/lib/api-load.ts).
 * Progress goes to stdout; the last line is one JSON object.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { MicroOvnError } from "../src/errors.js";
import { Lab } from "../src/lab/lab.js";
import { inNamespace } from "../src/lab/netns.js";
import { run } from "../src/process/run.js";
import { onlyStep } from "./lib/api-options.js";
import { measureFipReady } from "./lib/fip-ready.js";
import { log, sig } from "./lib/stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const LOAD = join(ROOT, "bench", "lib", "api-load.ts");
const STATIC_TOKEN = "bench-static-token-0123456789";
const TARGETS = { api_create_ratio_to_floor: 0.7, list_p50_ms: 50 };

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  return kib / 1024;
}

const NO_TOKEN = Symbol("no token");
/** As bench/lib/api-load.ts exits when no token is taken. */
const NO_TOKEN_EXIT = 3;

function runLoad(
  namespace: string,
  args: string[],
): Promise<Record<string, unknown> | typeof NO_TOKEN> {
  const cmd = inNamespace(namespace, process.execPath, ["--import", "tsx", LOAD, ...args]);
  const child = spawn(cmd.program, cmd.args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  let last = "";
  child.stdout.setEncoding("utf8");
  let pending = "";
  child.stdout.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith("{")) last = line;
      else log(line);
    }
  });
  return new Promise((resolvePromise, reject) => {
    child.on("exit", (code) => {
      if (pending.startsWith("{")) last = pending;
      if (code === NO_TOKEN_EXIT) resolvePromise(NO_TOKEN);
      else if (code === 0 && last !== "") {
        resolvePromise(JSON.parse(last) as Record<string, unknown>);
      } else reject(new Error(`the load exited with ${code}`));
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const only = onlyStep(args);
  if (!args.includes("--no-build")) await run("npm", ["run", "--silent", "build"], { cwd: ROOT });
  const root = `/tmp/mbench-api-${process.pid}`;
  const lab = await Lab.create({ root, prefix: "ba", cli: [process.execPath, CLI] });
  try {
    const node = await lab.grow();
    await lab.ok(node.name, ["enable", "openstack-api"]);
    // The administrator's password, as openrc gives it on this member.
    const openrc = await lab.ok(node.name, ["openstack-api", "openrc"]);
    const adminPassword = /^export OS_PASSWORD='([^']*)'$/m.exec(openrc)?.[1] ?? "";
    await lab.ok(node.name, ["config", "set", "openstack-api.static-token", STATIC_TOKEN]);
    // The load makes 10,000 ports, 600 networks and subnets, 9 routers and 600 floating
    // IPs in one project, past Neutron's default quotas.
    for (const resource of ["port", "network", "subnet", "router", "floatingip"]) {
      await lab.ok(node.name, ["config", "set", `openstack-api.quota.${resource}`, "-1"]);
    }
    const pki = join(node.stateDir, "data", "pki");
    const loadArgs = [node.address, pki, adminPassword, STATIC_TOKEN];
    let figures: Record<string, unknown> = {};
    if (only === undefined) {
      const local = await runLoadWithAuth(lab, node.name, node.namespace, loadArgs);
      const pid = (await lab.pids(node.name))["openstack-api"]!;
      const rss = await rssMiB(pid);
      log(`  API process RSS with ${String(local.list_ports)} ports: ${rss.toFixed(1)} MiB`);
      figures = { ...local, api_rss_mib: sig(rss, 3) };
    }
    // Its own phase after the load, so that the lab's outside network and
    // the gateway it needs do not weigh on the rates above.
    figures = { ...figures, ...(await measureFipReady(lab, node, loadArgs)) };
    log(JSON.stringify({ ...figures, targets: TARGETS }));
  } finally {
    await lab.down();
  }
}

/**
 * The load with a local token (the local plugin is the default); when the
 * service does not issue one, with the static token instead.
 */
async function runLoadWithAuth(
  lab: Lab,
  node: string,
  namespace: string,
  loadArgs: string[],
): Promise<Record<string, unknown>> {
  const first = await runLoad(namespace, loadArgs);
  if (first !== NO_TOKEN) return first;
  await lab.ok(node, ["config", "set", "openstack-api.auth", "static-token"]);
  const second = await runLoad(namespace, loadArgs);
  if (second === NO_TOKEN)
    throw new Error("the API took neither a password token nor the static token");
  return second;
}

main().catch((e: unknown) => {
  // A bad option is told plainly; anything else with where it came from.
  const text = e instanceof MicroOvnError ? e.message : ((e as Error).stack ?? String(e));
  process.stderr.write(`${text}\n`);
  process.exit(1);
});
