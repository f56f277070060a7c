import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { StateDir } from "../../src/member/state-dir.js";

describe("state dir layout", () => {
  it("puts everything of a member under its root", () => {
    const dir = new StateDir("/srv/m1");
    assert.equal(dir.controlSocket, "/srv/m1/control.socket");
    assert.equal(dir.pkiDir, "/srv/m1/data/pki");
    assert.equal(dir.centralDbDir, "/srv/m1/data/central/db");
    assert.equal(dir.stateDbDir, "/srv/m1/data/state/db");
    assert.equal(dir.switchDbDir, "/srv/m1/data/switch/db");
    assert.equal(dir.socket("ovnnb_db.sock"), "/srv/m1/run/ovnnb_db.sock");
    assert.equal(dir.log("ovn-northd"), "/srv/m1/logs/ovn-northd.log");
    assert.equal(dir.backupDir(new Date(1_700_000_000_000)), "/srv/m1/backup_1700000000");
  });

  it("finds the newest backup that holds a member's data", async () => {
    const root = await mkdtemp(join(tmpdir(), "sd-"));
    try {
      const dir = new StateDir(root);
      assert.equal(await dir.latestMemberBackup(), undefined);
      for (const [time, member] of [
        [100, true],
        [900, true],
        [1000, false], // newest, but without member data: not a member's backup
      ] as const) {
        const backup = dir.backupDir(new Date(time * 1000));
        await mkdir(join(backup, "data"), { recursive: true });
        if (member) await writeFile(join(backup, "data", "member.json"), "{}");
      }
      await mkdir(join(root, "backup_notanumber", "data"), { recursive: true });
      assert.equal(await dir.latestMemberBackup(), join(root, "backup_900"));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("refuses a root so long that its sockets could not be reached", () => {
    assert.throws(
      () => new StateDir(`/tmp/${"x".repeat(90)}`),
      (e: Error & { code?: string }) =>
        e.code === "STATE_DIR_TOO_LONG" && /shorter --state-dir/.test(e.message),
    );
  });

  it("defaults to MICROOVN_STATE_DIR, then /var/lib/microovn", () => {
    const saved = process.env.MICROOVN_STATE_DIR;
    try {
      process.env.MICROOVN_STATE_DIR = "/opt/m";
      assert.equal(new StateDir().root, "/opt/m");
      delete process.env.MICROOVN_STATE_DIR;
      assert.equal(new StateDir().root, "/var/lib/microovn");
    } finally {
      if (saved === undefined) delete process.env.MICROOVN_STATE_DIR;
      else process.env.MICROOVN_STATE_DIR = saved;
    }
  });

  it("refuses an empty state dir instead of using the current directory", () => {
    const saved = process.env.MICROOVN_STATE_DIR;
    try {
      process.env.MICROOVN_STATE_DIR = "";
      for (const make of [() => new StateDir(), () => new StateDir(" ")]) {
        assert.throws(make, (e: Error & { code?: string }) => {
          return e.code === "STATE_DIR_EMPTY" && /unset MICROOVN_STATE_DIR/.test(e.message);
        });
      }
    } finally {
      if (saved === undefined) delete process.env.MICROOVN_STATE_DIR;
      else process.env.MICROOVN_STATE_DIR = saved;
    }
  });

  it("refuses a state dir that is a file or lies below one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sd-"));
    try {
      const file = join(dir, "plain");
      await writeFile(file, "x");
      for (const root of [file, join(file, "below")]) {
        assert.throws(
          () => new StateDir(root),
          (e: Error & { code?: string }) =>
            e.code === "STATE_DIR_NOT_A_DIRECTORY" && e.message.includes(`${file} is a file`),
        );
      }
      assert.equal(new StateDir(join(dir, "new")).root, join(dir, "new"), "a missing dir is fine");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
