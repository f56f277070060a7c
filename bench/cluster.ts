/**
 * Cluster benchmark (`npm run bench:cluster [-- --runs N] [--no-build]`), in
 * the lab (one network namespace per member):
 *
 * - join time of each member as the cluster grows from 1 to 5 (the first
 *   one's figure is its bootstrap), from `microovn cluster add` on m1 to the
 *   end of `microovn cluster join` on the new member;
 * - failover: SIGKILL of every process on the member that leads NB and SB,
 *   then, measured from the kill by a probe on a surviving member
 *   (bench/lib/failover-probe.ts, our own OVSDB client): the first NB write
 *   that succeeds (an ACL plus nb_cfg, as `ovn-nbctl --wait=hv` does), and
 *   the time until every remaining chassis reports that nb_cfg, i.e. the new
 *   ACL is in force on every remaining chassis.
 *
 * Each run builds a fresh lab and takes it down. Progress goes to stdout;
 * the last line is one JSON object with medians over the runs.
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { Lab } from "../src/lab/lab.js";
import { inNamespace } from "../src/lab/netns.js";
import { run } from "../src/process/run.js";
import { isRunning } from "../src/supervisor/supervisor.js";
import { log, median, sig } from "./lib/stats.js";

const ROOT = resolve(import.meta.dirname, "..");
const CLI = join(ROOT, "dist", "cli", "main.js");
const PROBE = join(ROOT, "bench", "lib", "failover-probe.ts");
const MEMBERS = 5;
const TARGETS = { join_s: 3, nb_write_s: 2, acl_all_chassis_s: 4 };

interface RunResult {
  join_s: number[];
  nb_write_s: number;
  acl_all_chassis_s: number;
  leader: string;
}

async function leaderOf(lab: Lab, target: string, database: string): Promise<string | undefined> {
  for (const n of lab.nodes) {
    const r = await lab.cli(n.name, ["ovn-appctl", "-t", target, "cluster/status", database]);
    if (/^Role: leader$/m.test(r.stdout)) return n.name;
  }
  return undefined;
}

async function oneRun(index: number): Promise<RunResult> {
  const root = `/tmp/mbench-${process.pid}-${index}`;
  const lab = await Lab.create({ root, prefix: `b${index}`, cli: [process.execPath, CLI] });
  try {
    const joins: number[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const node = await lab.grow();
      joins.push(node.joinSeconds!);
      log(`  ${node.name}: ${node.joinSeconds!.toFixed(3)} s`);
    }
    await lab.ok("m1", ["ovn-nbctl", "ls-add", "bench-sw"]);
    await lab.ok("m1", ["ovn-nbctl", "--timeout=30", "--wait=hv", "sync"]);
    const leader = await leaderOf(lab, "ovnnb_db", "OVN_Northbound");
    const sbLeader = await leaderOf(lab, "ovnsb_db", "OVN_Southbound");
    if (!leader || leader !== sbLeader) {
      throw new Error(`NB and SB have different leaders (${leader}, ${sbLeader})`);
    }
    const survivors = lab.nodes.filter((n) => n.name !== leader);
    const prober = survivors[survivors.length - 1]!;
    const centrals = lab.nodes.slice(0, 3).map((n) => n.address);
    const remotes = (port: number) => centrals.map((a) => `ssl:${a}:${port}`).join(",");
    const cmd = inNamespace(prober.namespace, process.execPath, [
      "--import",
      "tsx",
      PROBE,
      remotes(6641),
      remotes(6642),
      join(prober.stateDir, "data", "pki"),
      ...survivors.map((n) => n.name),
    ]);
    const probe = spawn(cmd.program, cmd.args, { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: probe.stdout });
    const output: string[] = [];
    let notify: (() => void) | undefined;
    lines.on("line", (line) => {
      output.push(line);
      notify?.();
    });
    const nextLine = (n: number) =>
      new Promise<void>((resolve) => {
        notify = () => output.length >= n && resolve();
        notify();
      });
    await nextLine(1);
    if (output[0] !== "ready") throw new Error(`the probe said: ${output.join("\n")}`);

    const pids = Object.values(await lab.pids(leader)).filter((pid) => isRunning(pid));
    for (const pid of pids) process.kill(pid, "SIGKILL");
    const killedAt = Date.now();
    probe.stdin.write(`${killedAt}\n`);
    const timeout = setTimeout(() => probe.kill("SIGKILL"), 60_000);
    await nextLine(2);
    clearTimeout(timeout);
    const measured = JSON.parse(output[1]!) as { nb_write_s: number; acl_all_chassis_s: number };
    log(
      `  killed ${leader} (${pids.length} processes): NB writable after ${measured.nb_write_s} s, ` +
        `ACL on ${survivors.length} chassis after ${measured.acl_all_chassis_s} s`,
    );
    return { join_s: joins, ...measured, leader };
  } finally {
    await lab.down();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsAt = args.indexOf("--runs");
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
  if (!args.includes("--no-build")) await run("npm", ["run", "--silent", "build"], { cwd: ROOT });
  const results: RunResult[] = [];
  for (let i = 1; i <= runs; i++) {
    log(`run ${i} of ${runs}`);
    results.push(await oneRun(i));
  }
  const joinMedians = Array.from({ length: MEMBERS }, (_, i) =>
    sig(median(results.map((r) => r.join_s[i]!)), 3),
  );
  const summary = {
    runs,
    members: MEMBERS,
    bootstrap_s: joinMedians[0],
    join_s: joinMedians.slice(1),
    nb_write_s: sig(median(results.map((r) => r.nb_write_s)), 3),
    acl_all_chassis_s: sig(median(results.map((r) => r.acl_all_chassis_s)), 3),
    worst: {
      join_s: sig(Math.max(...results.flatMap((r) => r.join_s.slice(1))), 3),
      nb_write_s: sig(Math.max(...results.map((r) => r.nb_write_s)), 3),
      acl_all_chassis_s: sig(Math.max(...results.map((r) => r.acl_all_chassis_s)), 3),
    },
    targets: TARGETS,
  };
  log(JSON.stringify(summary));
}

await main();
