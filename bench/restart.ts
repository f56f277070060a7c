/**
 * Restart benchmark (`npm run bench:restart [-- --runs N] [--acls N]`), in
 * a three-member lab with a VM on each member (run `npm run build` first):
 *
 * - echoes lost per program restart: VM m1 pings the VM on m2 every 0.1 s
 *   while `microovn restart PROGRAM` runs on m2, one program at a time,
 *   `--runs` times each (losses from ping's own count of replies);
 * - the whole rolling restart: `microovn restart` on each member in turn,
 *   its duration, and the echoes lost by the three VM-to-VM pings.
 *
 * `--acls N` adds N ACLs to the lab's switch first, so that ovn-controller
 * has thousands of flows to compute again. The last line is one JSON object.
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { LAB_SWITCH, Lab } from "../src/lab/lab.js";
import { RESTARTABLE_PROGRAMS } from "../src/lifecycle/restart.js";
import { log } from "./lib/stats.js";

const CLI = join(resolve(import.meta.dirname, ".."), "dist", "cli", "main.js");
const { values } = parseArgs({
  options: { runs: { type: "string", default: "3" }, acls: { type: "string", default: "0" } },
});
const RUNS = Number(values.runs);
const ACLS = Number(values.acls);

/** Echoes sent and lost by a ping running while `during` runs. */
async function lossDuring(
  lab: Lab,
  pings: [string, string][],
  during: () => Promise<void>,
): Promise<number[]> {
  const running = pings.map(([vm, ip]) =>
    lab.exec(vm, "sh", [
      "-c",
      `ping -n -i 0.1 -W 1 -w 600 ${ip} & echo $! > ${lab.root}/${vm}.bp; wait`,
    ]),
  );
  // Let the pings settle before, and the replies in flight arrive after.
  await new Promise((r) => setTimeout(r, 1000));
  await during();
  await new Promise((r) => setTimeout(r, 1500));
  for (const [vm] of pings)
    await lab.exec(vm, "sh", ["-c", `kill -INT $(cat ${lab.root}/${vm}.bp)`]);
  return (await Promise.all(running)).map((r) => {
    const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
    return m ? Number(m[1]) - Number(m[2]) : NaN;
  });
}

async function main(): Promise<void> {
  const root = `/tmp/mbench-restart-${process.pid}`;
  const lab = await Lab.create({ root, prefix: "br", cli: [process.execPath, CLI] });
  try {
    for (let i = 0; i < 3; i++) await lab.grow();
    const vms = [await lab.addVm("m1"), await lab.addVm("m2"), await lab.addVm("m3")];
    if (ACLS > 0) {
      const args: string[] = ["ovn-nbctl", "--timeout=120"];
      for (let i = 0; i < ACLS; i++) {
        const match = `ip4.src==10.${Math.floor(i / 250)}.${i % 250}.1&&tcp.dst==${1000 + i}`;
        args.push("--", "acl-add", LAB_SWITCH, "to-lport", "100", match, "allow-related");
      }
      await lab.ok("m1", args);
    }
    await lab.ok("m1", ["ovn-nbctl", "--timeout=120", "--wait=hv", "sync"]);
    const perProgram: Record<string, number[]> = {};
    for (const program of RESTARTABLE_PROGRAMS) {
      perProgram[program] = [];
      for (let run = 0; run < RUNS; run++) {
        const [lost] = await lossDuring(lab, [[vms[0]!.name, vms[1]!.ip]], async () => {
          await lab.ok("m2", ["restart", program]);
        });
        perProgram[program].push(lost!);
      }
      log(`  ${program}: ${perProgram[program].join(", ")} echoes lost`);
    }
    const whole: { member: string; seconds: number; lost: number[] }[] = [];
    for (const member of ["m1", "m2", "m3"]) {
      let seconds = 0;
      const pings: [string, string][] = vms.map((vm, i) => [vm.name, vms[(i + 1) % 3]!.ip]);
      const lost = await lossDuring(lab, pings, async () => {
        const began = Date.now();
        await lab.ok(member, ["restart"]);
        seconds = (Date.now() - began) / 1000;
      });
      whole.push({ member, seconds, lost });
      log(`  whole restart of ${member}: ${seconds.toFixed(2)} s, lost ${lost.join("/")}`);
    }
    console.log(JSON.stringify({ acls: ACLS, runs: RUNS, lost_per_program: perProgram, whole }));
  } finally {
    await lab.down();
  }
}

await main();
