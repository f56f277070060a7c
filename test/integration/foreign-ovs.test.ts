/**
 * Another Open vSwitch/OVN on the machine: a real ovsdb-server that is not
 * ours (its files in a plain temporary dir) runs in the member's network
 * namespace. bootstrap, join and init refuse, naming it and how to stop
 * it, and leave nothing behind (no daemon, no directories); with
 * --allow-foreign-ovs bootstrap goes ahead beside it.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeJoinToken } from "../../src/cluster/join-token.js";
import { run, spawnDetached } from "../../src/process/run.js";
import { runIn } from "../../src/lab/netns.js";
import { readPidFiles } from "../../src/supervisor/supervisor.js";
import { CLI, TestMember } from "../helpers/member.js";
import { SCHEMAS } from "../helpers/ovsdb-server.js";
import { isAlive, stopPid, trackPid } from "../helpers/processes.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

describe("another Open vSwitch/OVN on this machine", () => {
  let m: TestMember;
  let foreignDir: string;
  let foreignPid: number | undefined;

  /** Nothing of a member: no daemon answering, nothing in the state dir. */
  const assertUntouched = async () => {
    assert.deepEqual(await readdir(m.dir), [], "the state dir is as it was (empty)");
    assert.equal(existsSync(m.path("control.socket")), false);
  };

  const refusal = (stderr: string) => {
    assert.match(
      stderr,
      new RegExp(
        `another Open vSwitch/OVN, not MicroOVN's, runs here: ovsdb-server \\(pid ${foreignPid}\\)`,
      ),
    );
    assert.match(stderr, new RegExp(`Stop it with \`kill ${foreignPid}\``));
    assert.match(stderr, /add --allow-foreign-ovs to the command/);
    assert.match(stderr, /Nothing was changed/);
  };

  before(async () => {
    m = await TestMember.create("fov");
    foreignDir = await makeTempDir("foreign");
    const db = join(foreignDir, "conf.db");
    await run("ovsdb-tool", ["create", db, SCHEMAS.vswitch]);
    const server = await spawnDetached(
      "ip",
      [
        "netns",
        "exec",
        m.namespace,
        "ovsdb-server",
        db,
        `--remote=punix:${join(foreignDir, "db.sock")}`,
        `--pidfile=${join(foreignDir, "ovsdb-server.pid")}`,
        `--unixctl=${join(foreignDir, "ovsdb-server.ctl")}`,
        "--log-file=" + join(foreignDir, "ovsdb-server.log"),
      ],
      { logFile: join(foreignDir, "stdout.log") },
    );
    foreignPid = server.pid;
    trackPid(server.pid);
    await waitFor("the foreign ovsdb-server to run", async () =>
      existsSync(join(foreignDir, "ovsdb-server.pid"))
        ? (await readFile(`/proc/${server.pid}/comm`, "utf8")).trim() === "ovsdb-server"
        : false,
    );
  });

  /** `microovn` for a second state dir in the same namespace. */
  const secondMember = (args: readonly string[]) =>
    runIn(m.namespace, process.execPath, [CLI, "--state-dir", join(foreignDir, "n2"), ...args], {
      allowFailure: true,
      timeoutMs: 60_000,
    });

  after(async () => {
    if (foreignDir) {
      await secondMember(["shutdown"]).catch(() => undefined);
      for (const pid of Object.values(await readPidFiles(join(foreignDir, "n2", "run")))) {
        if (isAlive(pid)) await stopPid(pid);
      }
    }
    await m?.cleanup();
    if (foreignPid !== undefined) await stopPid(foreignPid);
    if (foreignDir) await removeDir(foreignDir);
  });

  it("bootstrap refuses, names it and leaves nothing behind", async () => {
    const r = await m.cli(["cluster", "bootstrap", "--name", "n1", "--address", "127.0.0.1"]);
    assert.equal(r.exitCode, 1, r.stdout);
    refusal(r.stderr);
    await assertUntouched();
  });

  it("a state dir the refused command made is removed again", async () => {
    const fresh = join(foreignDir, "new-member");
    const r = await runIn(
      m.namespace,
      process.execPath,
      [CLI, "--state-dir", fresh, "cluster", "bootstrap", "--name", "n1", "--address", "127.0.0.1"],
      { allowFailure: true },
    );
    assert.equal(r.exitCode, 1, r.stdout);
    refusal(r.stderr);
    assert.equal(existsSync(fresh), false, `${fresh} is gone`);
  });

  it("init --preseed refuses the same, and leaves nothing behind", async () => {
    const preseed = join(foreignDir, "preseed.yaml");
    await writeFile(preseed, "create: true\nname: n1\naddress: 127.0.0.1\n");
    const r = await m.cli(["init", "--preseed", preseed]);
    assert.equal(r.exitCode, 1, r.stdout);
    refusal(r.stderr);
    await assertUntouched();
  });

  it("join refuses before it contacts the cluster", async () => {
    const token = encodeJoinToken({
      name: "n2",
      secret: "c2VjcmV0",
      fingerprint: "ab".repeat(32),
      // Nothing listens there: a join that got past the check would say it cannot reach it.
      addresses: ["127.0.0.1:9"],
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const r = await m.cli(["cluster", "join", token, "--address", "127.0.0.1"]);
    assert.equal(r.exitCode, 1, r.stdout);
    refusal(r.stderr);
    await assertUntouched();
  });

  it("bootstraps beside it with --allow-foreign-ovs", async () => {
    assert.match(
      await m.ok([
        "cluster",
        "bootstrap",
        "--name",
        "n1",
        "--address",
        "127.0.0.1",
        "--allow-foreign-ovs",
      ]),
      /Bootstrapped n1/,
    );
    assert.match(await m.ok(["status"]), /OVN Northbound: OK/);
    assert.ok(foreignPid !== undefined && isAlive(foreignPid), "the other server was left alone");
  });

  it("does not count a member of ours with another state dir", async () => {
    await stopPid(foreignPid!);
    foreignPid = undefined;
    // n1 (switch, chassis, central on 127.0.0.1) runs in this namespace; a
    // second member beside it takes central only, on another loopback address.
    const second = await secondMember([
      "cluster",
      "bootstrap",
      "--name",
      "n2",
      "--address",
      "127.0.0.2",
      "--services",
      "central",
    ]);
    assert.equal(second.exitCode, 0, second.stderr);
    assert.match(second.stdout, /Bootstrapped n2 \(127\.0\.0\.2\); services: central/);
  });
});
