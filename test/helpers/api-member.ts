/**
 * A single member with the OpenStack API service enabled, and the
 * `openstack` CLI talking to it with a static token: what the CLI tests
 * start from.
 */
import { TestMember } from "./member.js";
import { OpenStackCli } from "./openstack-cli.js";

export async function memberWithApi(label: string): Promise<{ m: TestMember; os: OpenStackCli }> {
  const m = await TestMember.create(label);
  try {
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    await m.ok(["enable", "openstack-api"]);
    const os = await OpenStackCli.withStaticToken(
      m.namespace,
      "127.0.0.1",
      m.path("data/pki/cacert.pem"),
      (args) => m.ok(args),
    );
    return { m, os };
  } catch (e) {
    // The suite never learns of this member: leave nothing behind.
    await m.cleanup();
    throw e;
  }
}
