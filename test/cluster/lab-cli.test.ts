/**
 * The lab as a user runs it: `microovn lab up|status|exec|outside|down`
 * with the built CLI, bad options refused, and nothing left behind.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, describe, it } from "node:test";
import { Lab } from "../../src/lab/lab.js";
import { run } from "../../src/process/run.js";
import { CLI } from "../helpers/member.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const prefix = `u${(process.pid % 46656).toString(36)}`;
let dir = "";

/** `microovn lab SUBCOMMAND --dir DIR ARGS…` (before any `--` of `exec`; `outside` takes two words). */
function lab(words: readonly string[]) {
  const n = words[0] === "outside" ? 2 : 1;
  const command = [...words.slice(0, n), "--dir", dir, ...words.slice(n)];
  return run(process.execPath, [CLI, "lab", ...command], {
    allowFailure: true,
    timeoutMs: 180_000,
  });
}

async function namespaces(): Promise<string[]> {
  const out = (await run("ip", ["netns", "list"])).stdout;
  return out
    .split("\n")
    .map((l) => l.split(" ")[0]!)
    .filter((n) => n.startsWith(`${prefix}-`));
}

after(async () => {
  // Whatever a failed test left: the lab's own description says what to remove.
  const left = dir ? await Lab.load({ root: dir }) : undefined;
  await left?.down().catch(() => undefined);
  if (dir) await removeDir(dir);
});

describe("microovn lab", () => {
  it("makes two members and two VMs that ping each other, then takes it all down", async () => {
    dir = await makeTempDir("labcli");
    const up = await lab(["up", "--nodes", "2", "--vms", "2", "--prefix", prefix]);
    assert.equal(up.exitCode, 0, up.stderr);
    assert.match(up.stderr, /m1 bootstrapped at 198\.18\.0\.1/);
    assert.match(up.stderr, /m2 joined at 198\.18\.0\.2/);
    assert.match(up.stderr, /vm1 \(10\.0\.0\.11\) on m1\nvm2 \(10\.0\.0\.12\) on m2/);

    const status = await lab(["status"]);
    assert.equal(status.exitCode, 0, status.stderr);
    assert.match(status.stdout, /^m1 +\S+-m1 +198\.18\.0\.1 .* running \(pid \d+\)$/m);
    assert.match(status.stdout, /^m2 .* running \(pid \d+\)$/m);
    assert.match(status.stdout, /^m2 +198\.18\.0\.2:6686 +voter +[0-9a-f]{64} +ONLINE$/m);

    const ping = await lab([
      "exec",
      "vm1",
      "--",
      "ping",
      "-c",
      "3",
      "-i",
      "0.2",
      "-W",
      "2",
      "10.0.0.12",
    ]);
    assert.equal(ping.exitCode, 0, ping.stdout + ping.stderr);
    const member = await lab([
      "exec",
      "m2",
      "--",
      process.execPath,
      CLI,
      "cluster",
      "list",
      "-f",
      "csv",
    ]);
    assert.match(member.stdout, /^m1,198\.18\.0\.1:6686,voter,[0-9a-f]{64},ONLINE$/m);

    const again = await lab(["up", "--nodes", "1"]);
    assert.notEqual(again.exitCode, 0);
    assert.match(again.stderr, /a lab already runs from .*microovn lab down/);
    const noSuch = await lab(["exec", "m9", "--", "true"]);
    assert.notEqual(noSuch.exitCode, 0);
    assert.match(noSuch.stderr, /no lab member or VM "m9"/);
    assert.equal((await namespaces()).length, 5, "hub, 2 members, 2 VMs");

    const unknown = await lab(["outside", "add", "--members", "m1,m9"]);
    assert.notEqual(unknown.exitCode, 0);
    assert.match(
      unknown.stderr,
      /--members names "m9", but the lab has the members m1, m2; nothing/,
    );
    const badCidr = await lab(["outside", "add", "--cidr", "198.51.100.0/31"]);
    assert.match(badCidr.stderr, /a \/31 prefix; the outside network needs \/8 to \/29/);
    assert.equal((await namespaces()).length, 5, "a refused outside made nothing");
    const noOutside = await lab(["outside", "remove"]);
    assert.match(noOutside.stderr, /the lab has no outside network; make one with/);

    const outside = await lab(["outside", "add", "--members", "m2", "--cidr", "198.51.100.9/24"]);
    assert.equal(outside.exitCode, 0, outside.stderr);
    assert.match(
      outside.stdout,
      /Outside: 198\.51\.100\.0\/24, host 198\.51\.100\.1 in \S+-out .* on m2/,
    );
    const twice = await lab(["outside", "add", "--members", "m1"]);
    assert.notEqual(twice.exitCode, 0);
    assert.match(
      twice.stderr,
      /has an outside network already \(198\.51\.100\.0\/24, linked to m2\)/,
    );
    const host = await lab([
      "exec",
      "outside",
      "--",
      "ip",
      "-4",
      "-o",
      "addr",
      "show",
      "dev",
      "eth0",
    ]);
    assert.match(host.stdout, / 198\.51\.100\.1\/24 /);
    const brEx = (member: string) =>
      lab(["exec", member, "--", process.execPath, CLI, "ovs-vsctl", "list-ports", "br-ex"]);
    assert.equal((await brEx("m2")).stdout.trim(), "ex0");
    assert.notEqual((await brEx("m1")).exitCode, 0, "m1 was not linked, so it has no br-ex");
    assert.match((await lab(["status"])).stdout, /^Outside: 198\.51\.100\.0\/24/m);
    assert.equal((await namespaces()).length, 6, "and the outside host");

    const removed = await lab(["outside", "remove"]);
    assert.equal(removed.exitCode, 0, removed.stderr);
    assert.equal((await namespaces()).length, 5);
    assert.equal((await brEx("m2")).stdout.trim(), "", "ex0 left br-ex");
    const gone = await lab(["exec", "outside", "--", "true"]);
    assert.match(gone.stderr, /the lab has no outside network/);
    // Made again, and left for `lab down` to take away.
    assert.equal((await lab(["outside", "add"])).exitCode, 0);

    const down = await lab(["down"]);
    assert.equal(down.exitCode, 0, down.stderr);
    assert.deepEqual(await namespaces(), []);
    assert.equal(existsSync(dir), false);
    const noLab = await lab(["status"]);
    assert.notEqual(noLab.exitCode, 0);
    assert.match(noLab.stderr, /no lab runs from .*microovn lab up --nodes 3/);
  });

  it("refuses bad options before making anything", async () => {
    const other = await makeTempDir("labbad");
    try {
      for (const [args, message] of [
        [["--nodes", "0"], /--nodes must be a whole number from 1 to 9/],
        [["--nodes", "2", "--vms", "x"], /--vms must be a whole number from 0 to 200/],
        [["--prefix", "Bad-Prefix"], /"Bad-Prefix" is not a lab prefix/],
        [
          ["--nodes", "2", "--vms", "2", "--vm-on", "m1,m7"],
          /--vm-on names "m7", but a lab of 2 has the members m1, m2; nothing was made/,
        ],
      ] as const) {
        const r = await run(process.execPath, [CLI, "lab", "up", ...args, "--dir", other], {
          allowFailure: true,
        });
        assert.notEqual(r.exitCode, 0);
        assert.match(r.stderr, message);
        assert.equal(await Lab.load({ root: other }), undefined, "no lab was made");
      }
    } finally {
      await removeDir(other);
    }
  });
});
