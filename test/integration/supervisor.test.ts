/**
 * The supervisor with real ovsdb-server processes: restart after a crash,
 * adoption by a new supervisor (a daemon restart) without a new process,
 * growing delays for a crash loop, and stopping for good.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import { run } from "../../src/process/run.js";
import { Supervisor, isRunning, type ProcessSpec } from "../../src/supervisor/supervisor.js";
import { SCHEMAS } from "../helpers/ovsdb-server.js";
import { trackPid } from "../helpers/processes.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

let dir: string;
const supervisors: Supervisor[] = [];

function supervisor(options?: ConstructorParameters<typeof Supervisor>[0]): Supervisor {
  const s = new Supervisor({ initialBackoffMs: 20, pollMs: 20, ...options });
  // Whatever a failed test leaves running is killed by pid at exit.
  s.on("started", (status) => status.pid !== undefined && trackPid(status.pid));
  supervisors.push(s);
  return s;
}

async function ovsdbSpec(name: string, dbExists = true): Promise<ProcessSpec> {
  const d = join(dir, name);
  await run("mkdir", ["-p", d]);
  const db = join(d, "db.db");
  if (dbExists) await run("ovsdb-tool", ["create", db, SCHEMAS.northbound]);
  return {
    name,
    program: "ovsdb-server",
    args: [db, `--remote=punix:${d}/db.sock`, `--unixctl=${d}/ctl`, `--pidfile=${d}/pid`],
    pidFile: join(d, "pid"),
    logFile: join(d, "log"),
    env: { OVS_RUNDIR: d, OVS_DBDIR: d },
  };
}

async function serves(name: string): Promise<boolean> {
  const client = await OvsdbClient.connect({
    remotes: `unix:${join(dir, name)}/db.sock`,
    waitForConnectionMs: 2000,
  });
  try {
    return (await client.listDbs()).includes("OVN_Northbound");
  } finally {
    client.close();
  }
}

before(async () => (dir = await makeTempDir("super")));
after(async () => {
  for (const s of supervisors) await s.stopAll(1000);
  await removeDir(dir);
});

describe("supervisor", () => {
  it("restarts a process killed with SIGKILL and counts it", async () => {
    const s = supervisor();
    const spec = await ovsdbSpec("crash");
    const first = await s.start(spec);
    assert.equal(first.phase, "running");
    assert.equal(first.adopted, false);
    await waitFor("ovsdb-server to serve", () => serves("crash"));
    await waitFor(
      "the pidfile",
      async () => Number((await run("cat", [spec.pidFile])).stdout) === first.pid,
    );
    process.kill(first.pid!, "SIGKILL");
    const after = await waitFor("a restart", () => {
      const st = s.get("crash");
      return st?.phase === "running" && st.pid !== first.pid ? st : undefined;
    });
    assert.equal(after.restarts, 1);
    assert.equal(after.lastExit?.signal, "SIGKILL");
    await waitFor("ovsdb-server to serve again", () => serves("crash"));
  });

  it("adopts running processes after a daemon restart, keeping their pids, and still restarts them", async () => {
    const old = supervisor();
    const spec = await ovsdbSpec("adopt");
    const started = await old.start(spec);
    await waitFor(
      "the pidfile",
      async () => Number((await run("cat", [spec.pidFile])).stdout) === started.pid,
    );
    old.release(); // the daemon exits; its children live on
    const successor = supervisor();
    const adopted = await successor.start(spec);
    assert.equal(adopted.pid, started.pid);
    assert.equal(adopted.adopted, true);
    assert.ok(await serves("adopt"));
    process.kill(adopted.pid!, "SIGKILL");
    const restarted = await waitFor("a restart of the adopted process", () => {
      const st = successor.get("adopt");
      return st?.phase === "running" && st.pid !== adopted.pid ? st : undefined;
    });
    assert.equal(restarted.restarts, 1);
    assert.equal(restarted.adopted, false);
  });

  it("does not adopt a pid that belongs to another program", async () => {
    const s = supervisor();
    const spec = await ovsdbSpec("stale");
    await writeFile(spec.pidFile, `${process.pid}\n`); // alive, but not ovsdb-server
    const status = await s.start(spec);
    assert.equal(status.adopted, false);
    assert.notEqual(status.pid, process.pid);
    await waitFor("ovsdb-server to serve", () => serves("stale"));
  });

  it("waits longer and longer before restarting a process that keeps dying", async () => {
    const s = supervisor({ initialBackoffMs: 20, maxBackoffMs: 1000 });
    const spec = await ovsdbSpec("loop", false); // no database file: exits at once
    const gaps: number[] = [];
    s.on("exited", (st) => {
      // The last exit, caused by stop() below, is not followed by a restart.
      if (st.phase === "waiting-to-restart") {
        gaps.push(st.nextStartAt!.getTime() - st.lastExit!.at.getTime());
      }
    });
    await s.start(spec);
    await waitFor("four restarts", () => (s.get("loop")?.restarts ?? 0) >= 4, { timeoutMs: 5000 });
    await s.stop("loop");
    assert.equal(s.get("loop"), undefined, "stopped for good");
    assert.ok(gaps.length >= 4, `${gaps.length} restarts scheduled`);
    for (let i = 1; i < 4; i++) {
      assert.ok(gaps[i]! >= gaps[i - 1]! * 1.8, `delays double: ${gaps.join(", ")}`);
    }
  });

  it("restarts a process on request without counting it, and keeps one whose new binary fails", async () => {
    const s = supervisor();
    const spec = await ovsdbSpec("upgrade");
    const first = await s.start(spec);
    await waitFor("ovsdb-server to serve", () => serves("upgrade"));
    let oldGoneBetween = false;
    const second = await s.restart(spec, {
      between: () => Promise.resolve(void (oldGoneBetween = !isRunning(first.pid!))),
    });
    assert.ok(oldGoneBetween, "between runs once the old process is gone");
    assert.notEqual(second.pid, first.pid);
    assert.equal(second.restarts, 0, "a requested restart is no crash");
    assert.equal(s.get("upgrade")?.phase, "running");
    await waitFor("the new ovsdb-server to serve", () => serves("upgrade"));

    // A binary that is missing after a half-done upgrade: refused, still supervised.
    const missing = { ...spec, program: join(dir, "no-such-ovsdb-server") };
    await assert.rejects(s.restart(missing), /not installed|ENOENT|no-such/);
    assert.equal(isRunning(second.pid!), false);
    assert.notEqual(s.get("upgrade"), undefined, "it stays supervised, to be tried again");
  });

  it("stops a process for good", async () => {
    const s = supervisor();
    const spec = await ovsdbSpec("stop");
    const status = await s.start(spec);
    await s.stop("stop");
    assert.equal(isRunning(status.pid!), false);
    assert.equal(s.get("stop"), undefined);
    await assert.rejects(
      OvsdbClient.connect({
        remotes: `unix:${join(dir, "stop")}/db.sock`,
        waitForConnectionMs: 200,
      }),
      /no usable server/,
    );
  });
});
