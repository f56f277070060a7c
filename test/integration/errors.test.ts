/**
 * What goes wrong before a member exists: each error says what to do,
 * changes nothing, and a corrected command then succeeds.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { spawnDetached, run } from "../../src/process/run.js";
import { CLI, TestMember } from "../helpers/member.js";
import { stopPid, trackPid } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

describe("bootstrap errors", () => {
  let m: TestMember;

  const assertNothingWritten = () => {
    assert.equal(existsSync(m.path("data")), false, "no data dir");
  };

  before(async () => {
    m = await TestMember.create("err");
  });

  after(async () => {
    await m?.cleanup();
  });

  it("commands that need a member say to bootstrap first, and start nothing", async () => {
    assert.match(
      await m.ok(["status"]),
      /not a member of a cluster yet\.\n`microovn cluster join TOKEN` makes it a member .*`microovn cluster bootstrap` starts a new cluster/,
    );
    for (const args of [
      ["ovn-nbctl", "show"],
      ["cluster", "list"],
      ["chassis", "show"],
    ]) {
      const r = await m.cli(args);
      assert.equal(r.exitCode, 1, args.join(" "));
      assert.match(
        r.stderr,
        /not a member of a cluster: `microovn cluster join TOKEN` makes it a member/,
      );
    }
    assertNothingWritten();
    assert.deepEqual(await readdir(m.dir), [], "no daemon was started: nothing in the state dir");
  });

  it("rejects a bad name or address", async () => {
    let r = await m.cli(["cluster", "bootstrap", "--name", "no spaces!", "--address", "127.0.0.1"]);
    assert.match(r.stderr, /"no spaces!" is not a valid member name/);
    r = await m.cli(["cluster", "bootstrap", "--name", "n1", "--address", "not-an-ip"]);
    assert.match(r.stderr, /"not-an-ip" is not an IP address/);
    r = await m.cli(["cluster", "bootstrap", "--name", "n1", "--address", "10.255.255.1"]);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /10\.255\.255\.1 is not an address of this machine/);
    assertNothingWritten();
  });

  it("names the Debian packages when OVN programs are missing", async () => {
    await m.ok(["shutdown"]); // the next daemon gets the empty PATH
    const r = await m.cli(["cluster", "bootstrap", "--name", "n1", "--address", "127.0.0.1"], {
      env: { PATH: "/nonexistent" },
    });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /ovsdb-server, ovsdb-tool, ovs-appctl, ovn-northd, .*not found on PATH/);
    assert.match(
      r.stderr,
      /apt-get install -y openvswitch-common openvswitch-switch ovn-central ovn-common ovn-host\)/,
    );
    assertNothingWritten();
    await m.cli(["shutdown"], { env: { PATH: "/nonexistent" } });
  });

  it("says which port is in use and by which program", async () => {
    const holder = await spawnDetached(
      "ip",
      [
        "netns",
        "exec",
        m.namespace,
        process.execPath,
        "-e",
        "require('net').createServer().listen(6642, '127.0.0.1')",
      ],
      { logFile: m.path("holder.log") },
    );
    trackPid(holder.pid);
    try {
      await waitFor("the port holder to listen", async () =>
        (await m.sh("cat", ["/proc/net/tcp"])).includes(
          `:${(6642).toString(16).toUpperCase()} 00000000:0000 0A`,
        ),
      );
      const r = await m.cli(["cluster", "bootstrap", "--name", "n1", "--address", "127.0.0.1"]);
      assert.equal(r.exitCode, 1);
      assert.match(
        r.stderr,
        new RegExp(
          `port 6642 on 127\\.0\\.0\\.1 \\(OVN Southbound clients\\) is in use by node \\(pid ${holder.pid}\\)`,
        ),
      );
      assertNothingWritten();
    } finally {
      await stopPid(holder.pid);
    }
    assert.match(
      await m.ok(["cluster", "bootstrap", "--name", "n1", "--address", "127.0.0.1"]),
      /Bootstrapped n1/,
    );
  });
});

describe("a stopped member", () => {
  let m: TestMember;

  before(async () => {
    m = await TestMember.create("stp");
    await m.ok(["cluster", "bootstrap", "--name", "s1", "--address", "127.0.0.1"]);
    await m.ok(["shutdown"]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("read-only commands start nothing and say how to start it", async () => {
    const stopped = `this member is stopped (microovnd is not running); start it with \`microovn --state-dir ${m.dir} waitready\``;
    for (const args of [
      ["status"],
      ["cluster", "list"],
      ["certificates", "list"],
      ["config", "list"],
      ["config", "get", "ovn.central-ips"],
      ["chassis", "show"],
      ["ovn-nbctl", "show"],
    ]) {
      const r = await m.cli(args);
      assert.equal(r.exitCode, 1, args.join(" "));
      assert.ok(r.stderr.includes(stopped), `${args.join(" ")}: ${r.stderr}`);
    }
    assert.deepEqual(await m.pids(), {}, "no pidfile: nothing runs");
    assert.equal(existsSync(m.path("control.socket")), false);
    assert.match(await m.ok(["shutdown"]), /already stopped/);
  });

  it("waitready starts it again", async () => {
    await m.ok(["waitready", "--timeout", "30"]);
    assert.match(await m.ok(["status"]), /OVN Northbound: OK/);
    assert.match(await m.ok(["chassis", "show"]), /gateway: false/);
  });
});

describe("a daemon that cannot start", () => {
  let m: TestMember;

  before(async () => {
    m = await TestMember.create("nod");
  });

  after(async () => {
    await run("rm", ["-f", m.path("run")]);
    await m?.cleanup();
  });

  it("is reported with the reason and the log's path", async () => {
    await writeFile(m.path("run"), "not a directory\n");
    const r = await m.cli(["waitready"]);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      /microovnd is not running and could not be started \(it exited with status 1\)/,
    );
    assert.match(r.stderr, /EEXIST|ENOTDIR/);
    assert.ok(r.stderr.includes(`Its log: ${m.path("logs", "microovnd.log")}`));
  });

  it("refuses anyone but root", async () => {
    const r = await run(
      "setpriv",
      [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        process.execPath,
        CLI,
        "--state-dir",
        m.dir,
        "status",
      ],
      { allowFailure: true },
    );
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /only root may do; run it as root/);
  });
});
