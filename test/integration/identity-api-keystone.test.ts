/**
 * The `keystone` auth plugin against a real Keystone: Debian's keystone 22
 * (python3-keystone) with an SQLite database and Fernet keys in a temp dir,
 * bootstrapped with keystone-manage and served by its own WSGI script on
 * loopback inside the member's namespace (plain HTTP, which the plugin takes
 * only for loopback). Tokens come from Keystone through the real `openstack`
 * CLI; our API takes them, with the roles Keystone gives, and refuses them
 * once Keystone has revoked them.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { runIn } from "../../src/lab/netns.js";
import { run, spawnDetached } from "../../src/process/run.js";
import { TestMember } from "../helpers/member.js";
import { callHttps, type HttpsAnswer } from "../helpers/openstack-api.js";
import { stopPid, trackPid } from "../helpers/processes.js";
import { waitFor } from "../helpers/wait.js";

const KEYSTONE_MANAGE = "/usr/bin/keystone-manage";
const KEYSTONE_PORT = 35999;
const KEYSTONE_URL = `http://127.0.0.1:${KEYSTONE_PORT}`;
const ADMIN_PASSWORD = "keystone-admin-pw";

describe(
  "the keystone auth plugin, against Debian's Keystone",
  {
    skip:
      !existsSync(KEYSTONE_MANAGE) &&
      "Keystone is not installed (apt-get install --no-install-recommends python3-keystone)",
  },
  () => {
    let m: TestMember;
    let keystonePid: number | undefined;

    /** The openstack CLI against Keystone itself, as `user` on `project`. */
    const keystoneCli = async (
      args: string[],
      user = "admin",
      password = ADMIN_PASSWORD,
      project = "admin",
    ) => {
      const r = await runIn(
        m.namespace,
        "env",
        [
          "-i",
          `PATH=${process.env.PATH ?? "/usr/bin:/bin"}`,
          `OS_AUTH_URL=${KEYSTONE_URL}/v3`,
          `OS_USERNAME=${user}`,
          `OS_PASSWORD=${password}`,
          `OS_PROJECT_NAME=${project}`,
          "OS_USER_DOMAIN_NAME=Default",
          "OS_PROJECT_DOMAIN_NAME=Default",
          "OS_IDENTITY_API_VERSION=3",
          "openstack",
          ...args,
        ],
        { allowFailure: true, timeoutMs: 60_000 },
      );
      assert.equal(r.exitCode, 0, `openstack ${args.join(" ")}: ${r.stderr}`);
      return r.stdout.trim();
    };
    const call = (port: number, path: string, token: string): Promise<HttpsAnswer> =>
      callHttps((program, args) => m.sh(program, args), {
        ca: m.path("data/pki/cacert.pem"),
        host: "127.0.0.1",
        port,
        method: "GET",
        path,
        headers: { "x-auth-token": token },
      });

    before(async () => {
      m = await TestMember.create("kstn");
      await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
      await m.ok(["enable", "openstack-api"]);

      const dir = m.path("keystone");
      await mkdir(`${dir}/fernet-keys`, { recursive: true });
      await mkdir(`${dir}/credential-keys`, { recursive: true });
      const conf = `${dir}/keystone.conf`;
      await writeFile(
        conf,
        [
          "[DEFAULT]",
          `log_file = ${dir}/keystone.log`,
          "[database]",
          `connection = sqlite:///${dir}/keystone.db`,
          "[token]",
          "provider = fernet",
          "[fernet_tokens]",
          `key_repository = ${dir}/fernet-keys`,
          "[fernet_receipts]",
          `key_repository = ${dir}/fernet-keys`,
          "[credential]",
          `key_repository = ${dir}/credential-keys`,
          "",
        ].join("\n"),
      );
      const manage = (args: string[]) =>
        run(KEYSTONE_MANAGE, ["--config-file", conf, ...args], { timeoutMs: 120_000 });
      await manage(["db_sync"]);
      for (const keys of ["fernet_setup", "credential_setup"]) {
        await manage([keys, "--keystone-user", "root", "--keystone-group", "root"]);
      }
      await manage([
        "bootstrap",
        ...["--bootstrap-password", ADMIN_PASSWORD],
        ...["--bootstrap-public-url", `${KEYSTONE_URL}/v3`],
        ...["--bootstrap-region-id", "RegionOne"],
      ]);
      const server = await spawnDetached(
        "ip",
        [
          ...["netns", "exec", m.namespace, "/usr/bin/keystone-wsgi-public"],
          ...["--host", "127.0.0.1", "--port", String(KEYSTONE_PORT), "--", "--config-file", conf],
        ],
        { logFile: `${dir}/serve.log` },
      );
      keystonePid = server.pid;
      trackPid(server.pid);
      await waitFor(
        "Keystone to answer",
        async () =>
          (
            await m.sh(process.execPath, [
              "-e",
              "fetch(process.argv[1]).then((r) => console.log(r.status), () => console.log(0))",
              `${KEYSTONE_URL}/v3`,
            ])
          ).trim() === "200",
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      await m.ok(["config", "set", "openstack-api.keystone-url", KEYSTONE_URL]);
      await m.ok(["config", "set", "openstack-api.auth", "keystone"]);
    });

    after(async () => {
      if (keystonePid !== undefined) await stopPid(keystonePid);
      await m?.cleanup();
    });

    it("takes Keystone's tokens with Keystone's roles", async () => {
      const admin = await keystoneCli(["token", "issue", "-f", "value", "-c", "id"]);
      assert.equal((await call(5000, "/v3/projects", admin)).status, 200);
      // Past authentication on Networking too (no network routes here yet: 404).
      const networking = await call(9696, "/v2.0/networks", admin);
      assert.ok(networking.status !== 401 && networking.status !== 403, String(networking.status));

      await keystoneCli(["project", "create", "demo"]);
      await keystoneCli(["user", "create", "--password", "bob-pw", "bob"]);
      await keystoneCli(["role", "add", "--project", "demo", "--user", "bob", "member"]);
      const bob = await keystoneCli(
        ["token", "issue", "-f", "value", "-c", "id"],
        "bob",
        "bob-pw",
        "demo",
      );
      assert.equal((await call(5000, "/v3/projects", bob)).status, 403);
      assert.equal((await call(5000, "/v3/projects", "not-a-keystone-token")).status, 401);
    });

    it("refuses a token Keystone revoked", async () => {
      const token = await keystoneCli(["token", "issue", "-f", "value", "-c", "id"]);
      await keystoneCli(["token", "revoke", token]);
      assert.equal((await call(5000, "/v3/projects", token)).status, 401);
    });

    it("issues no tokens of its own meanwhile, and names Keystone", async () => {
      const answer = await callHttps((program, args) => m.sh(program, args), {
        ca: m.path("data/pki/cacert.pem"),
        host: "127.0.0.1",
        port: 5000,
        method: "POST",
        path: "/v3/auth/tokens",
        body: { auth: { identity: { methods: ["password"] } } },
      });
      assert.equal(answer.status, 503);
      assert.match(JSON.stringify(answer.body), new RegExp(KEYSTONE_URL.replaceAll(".", "\\.")));
    });
  },
);
