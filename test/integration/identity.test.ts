/**
 * The identity store on one member in its own network namespace, through
 * the built CLI: `project add|list|delete`, `user
 * add|list|show|delete|set-password|grant|revoke`, every refusal leaving the
 * store as it was, passwords stored as scrypt hashes that verify (read back
 * with `microovn ovsdb-client dump`), and the administrator that the first
 * `enable openstack-api` creates, once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ProjectView, UserView } from "../../src/identity/store.js";
import { verifyPassword } from "../../src/identity/password.js";
import { TestMember } from "../helpers/member.js";

interface DumpedTable {
  headings: string[];
  data: unknown[][];
}

describe("the identity store", () => {
  let m: TestMember;

  const users = async () => JSON.parse(await m.ok(["user", "list", "-f", "json"])) as UserView[];
  const projects = async () =>
    JSON.parse(await m.ok(["project", "list", "-f", "json"])) as ProjectView[];
  /** Everything the store holds, as the commands show it. */
  const snapshot = async () => JSON.stringify([await users(), await projects()]);
  /** Runs a command that must fail with `message`, and checks that it changed nothing. */
  const refused = async (args: string[], message: RegExp, input?: string) => {
    const before = await snapshot();
    const r = await m.cli(args, input === undefined ? {} : { input });
    assert.notEqual(r.exitCode, 0, `microovn ${args.join(" ")} succeeded: ${r.stdout}`);
    assert.match(r.stderr, message, `microovn ${args.join(" ")}`);
    assert.equal(await snapshot(), before, `microovn ${args.join(" ")} changed the store`);
  };
  /** The stored password hash of each user, straight from the state database. */
  const storedHashes = async () => {
    const out = await m.ok([
      "ovsdb-client",
      "dump",
      "-f",
      "json",
      "ssl:127.0.0.1:6649",
      "MicroOVN",
      "Identity_User",
    ]);
    const table = JSON.parse(out) as DumpedTable;
    const name = table.headings.indexOf("name");
    const hash = table.headings.indexOf("password_hash");
    return new Map(table.data.map((row) => [row[name] as string, row[hash] as string]));
  };
  /** The password printed on the line after `marker`. */
  const printedPassword = (out: string, marker: RegExp) => {
    const lines = out.split("\n");
    const at = lines.findIndex((l) => marker.test(l));
    assert.ok(at >= 0, `no ${String(marker)} in:\n${out}`);
    return lines[at + 1]!;
  };

  before(async () => {
    m = await TestMember.create("ident");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
  });

  after(async () => {
    await m?.cleanup();
  });

  it("adds and lists projects with Keystone-style ids; refuses bad ones, changing nothing", async () => {
    assert.deepEqual(await projects(), []);
    assert.match(
      await m.ok(["project", "add", "demo", "--description", "the demo project"]),
      /Project demo added \(id [0-9a-f]{32}\)/,
    );
    const [demo] = await projects();
    assert.equal(demo?.name, "demo");
    assert.match(demo.id, /^[0-9a-f]{32}$/);
    assert.equal(demo.domain, "default");
    assert.equal(demo.enabled, true);
    assert.equal(demo.description, "the demo project");
    await refused(["project", "add", "demo"], /a project named "demo" exists already/);
    await refused(["project", "add", ""], /is not a project name: use 1 to 64 characters/);
    await refused(["project", "add", "x".repeat(65)], /1 to 64 characters/);
    await refused(["project", "add", "line\nbreak"], /no control characters/);
    await refused(["project", "delete", "nosuch"], /there is no project "nosuch"/);
    await refused(["project", "list", "-f", "xml"], /"xml" is not an output format/);
    const table = await m.ok(["project", "list"]);
    assert.match(table, /\| NAME +\| ID +\| DOMAIN +\| ENABLED \| DESCRIPTION +\|/);
    assert.match(table, /\| demo +\| [0-9a-f]{32} \| default \| true +\| the demo project \|/);
  });

  it("adds users with a password from stdin or a generated one, printed once", async () => {
    const alice = await m.cli(
      ["user", "add", "alice", "--project", "demo", "--role", "member", "--password-stdin"],
      { input: "alice-secret-1\n" },
    );
    assert.equal(alice.exitCode, 0, alice.stderr);
    assert.match(alice.stdout, /User alice added \(id [0-9a-f]{32}\)/);
    assert.doesNotMatch(alice.stdout, /password/i);
    const bobOut = await m.ok(["user", "add", "bob"]);
    const bobPassword = printedPassword(bobOut, /Generated password, shown only this once/);
    assert.match(bobPassword, /^[A-Za-z0-9_-]{24,}$/);

    const listed = await users();
    assert.deepEqual(
      listed.map((u) => [u.name, u.defaultProject ?? null, u.roles]),
      [
        ["alice", "demo", [{ project: "demo", role: "member" }]],
        ["bob", null, []],
      ],
    );
    // The hashes are scrypt strings that verify the passwords given, which appear nowhere.
    const hashes = await storedHashes();
    assert.match(hashes.get("alice")!, /^scrypt\$32768\$8\$1\$/);
    assert.equal(await verifyPassword("alice-secret-1", hashes.get("alice")!), true);
    assert.equal(await verifyPassword("alice-secret-2", hashes.get("alice")!), false);
    assert.equal(await verifyPassword(bobPassword, hashes.get("bob")!), true);
    for (const format of ["table", "json", "yaml", "csv"]) {
      const out = await m.ok(["user", "list", "-f", format]);
      assert.match(out, /alice/);
      assert.doesNotMatch(out, /alice-secret|scrypt|password_hash|"password"/, format);
      assert.ok(!out.includes(bobPassword), format);
    }
    assert.match(
      await m.ok(["user", "list", "-f", "csv"]),
      /^NAME,ID,ENABLED,DEFAULT PROJECT,ROLES\n/,
    );
    const shown = await m.ok(["user", "show", "alice"]);
    assert.match(shown, /^name: +alice$/m);
    assert.match(shown, /^default project: +demo$/m);
    assert.match(shown, /^roles: +demo:member$/m);
    assert.doesNotMatch(shown, /alice-secret|scrypt/);
    const log = await m.sh("cat", [m.path("logs/microovnd.log")]);
    assert.match(log, /identity: added user bob/);
    assert.ok(!log.includes("alice-secret-1") && !log.includes(bobPassword));
  });

  it("lets one of two simultaneous adds of a name win, and tells the other", async () => {
    const [a, b] = await Promise.all([
      m.cli(["user", "add", "dave"]),
      m.cli(["user", "add", "dave"]),
    ]);
    assert.deepEqual([a.exitCode === 0, b.exitCode === 0].sort(), [false, true]);
    assert.match((a.exitCode === 0 ? b : a).stderr, /a user named "dave" exists already/);
    assert.equal((await users()).filter((u) => u.name === "dave").length, 1);
    await m.ok(["user", "delete", "dave"]);
  });

  it("refuses bad users, changing nothing", async () => {
    await refused(["user", "add", "alice"], /a user named "alice" exists already/);
    await refused(
      ["user", "add", "carol", "--project", "demo"],
      /--project and --role go together/,
    );
    await refused(
      ["user", "add", "carol", "--project", "nosuch", "--role", "member"],
      /there is no project "nosuch"/,
    );
    await refused(
      ["user", "add", "carol", "--project", "demo", "--role", "owner"],
      /"owner" is not a role; choose one of admin, member, reader/,
    );
    await refused(["user", "add", "carol", "--password-stdin"], /the password is empty/, "\n");
    await refused(["user", "add", "tab\tname"], /is not a user name/);
    await refused(
      ["user", "show", "nosuch"],
      /there is no user "nosuch"; see `microovn user list`/,
    );
    await refused(["user", "delete", "nosuch"], /there is no user "nosuch"/);
    await refused(["user", "set-password", "nosuch"], /there is no user "nosuch"/);
    await refused(
      ["user", "set-password", "alice", "--password-stdin"],
      /the password is empty/,
      "",
    );
    await refused(["user", "grant", "alice", "--project", "demo", "--role", "boss"], /not a role/);
    await refused(["user", "grant", "nosuch", "--project", "demo", "--role", "reader"], /no user/);
    await refused(
      ["user", "grant", "bob", "--project", "nosuch", "--role", "reader"],
      /no project/,
    );
  });

  it("grants and revokes roles, saying when there was nothing to do", async () => {
    const grant = ["user", "grant", "bob", "--project", "demo", "--role", "reader"];
    const revoke = ["user", "revoke", "bob", "--project", "demo", "--role", "reader"];
    assert.match(await m.ok(grant), /Granted role reader on project demo to bob/);
    assert.match(await m.ok(grant), /bob has role reader on project demo already/);
    assert.deepEqual((await users()).find((u) => u.name === "bob")?.roles, [
      { project: "demo", role: "reader" },
    ]);
    assert.match(await m.ok(revoke), /Revoked role reader on project demo from bob/);
    assert.match(await m.ok(revoke), /bob did not have role reader on project demo/);
    assert.deepEqual((await users()).find((u) => u.name === "bob")?.roles, []);
  });

  it("sets a new password from stdin or a generated one", async () => {
    const before = (await storedHashes()).get("alice")!;
    const r = await m.cli(["user", "set-password", "alice", "--password-stdin"], {
      input: "alice-secret-2\n",
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const after = (await storedHashes()).get("alice")!;
    assert.notEqual(after, before);
    assert.equal(await verifyPassword("alice-secret-2", after), true);
    assert.equal(await verifyPassword("alice-secret-1", after), false);
    const generated = printedPassword(
      await m.ok(["user", "set-password", "bob"]),
      /Generated password, shown only this once/,
    );
    assert.equal(await verifyPassword(generated, (await storedHashes()).get("bob")!), true);
  });

  it("refuses to delete a project someone holds a role on, then deletes it", async () => {
    await refused(
      ["project", "delete", "demo"],
      /project "demo" still has role assignments \(alice: member\); revoke them first/,
    );
    await m.ok(["user", "revoke", "alice", "--project", "demo", "--role", "member"]);
    assert.match(await m.ok(["project", "delete", "demo"]), /Project demo deleted/);
    assert.deepEqual(await projects(), []);
    // Its users stay, without a default project.
    assert.equal((await users()).find((u) => u.name === "alice")?.defaultProject, undefined);
  });

  it("creates the administrator on the first enable of openstack-api, and only then", async () => {
    const out = await m.ok(["enable", "openstack-api"]);
    assert.match(out, /Service openstack-api enabled/);
    const password = printedPassword(
      out,
      /Created the admin project and the admin user with the admin role on it/,
    );
    assert.match(password, /^[A-Za-z0-9_-]{24,}$/);
    assert.match(out, /microovn user set-password admin --password-stdin/);
    const admin = (await users()).find((u) => u.name === "admin");
    assert.deepEqual(admin?.roles, [{ project: "admin", role: "admin" }]);
    assert.equal(admin.defaultProject, "admin");
    assert.deepEqual(
      (await projects()).map((p) => p.name),
      ["admin"],
    );
    const stored = (await storedHashes()).get("admin")!;
    assert.notEqual(stored, password);
    assert.ok(!stored.includes(password));
    assert.equal(await verifyPassword(password, stored), true);

    const state = await snapshot();
    await m.ok(["disable", "openstack-api"]);
    const again = await m.ok(["enable", "openstack-api"]);
    assert.match(again, /Service openstack-api enabled/);
    assert.doesNotMatch(again, /Created the admin|password/);
    assert.doesNotMatch(await m.ok(["enable", "openstack-api"]), /Created the admin/);
    assert.equal(await snapshot(), state);
    assert.equal((await storedHashes()).get("admin"), stored);
  });

  it("never removes the last administrator", async () => {
    await refused(["user", "delete", "admin"], /"admin" is the last user with the admin role/);
    await refused(
      ["user", "revoke", "admin", "--project", "admin", "--role", "admin"],
      /holds the last admin role assignment/,
    );
    await m.ok(["user", "grant", "bob", "--project", "admin", "--role", "admin"]);
    assert.match(await m.ok(["user", "delete", "admin"]), /User admin deleted/);
    await refused(["user", "delete", "bob"], /"bob" is the last user with the admin role/);
    assert.match(await m.ok(["user", "delete", "alice"]), /User alice deleted/);
    assert.deepEqual(
      (await users()).map((u) => u.name),
      ["bob"],
    );
    // An administrator exists: enabling again creates no other.
    await m.ok(["disable", "openstack-api"]);
    assert.doesNotMatch(await m.ok(["enable", "openstack-api"]), /Created the admin/);
    assert.deepEqual(
      (await users()).map((u) => u.name),
      ["bob"],
    );
  });
});
