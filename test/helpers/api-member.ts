/**
 * A single member (or a lab) with the OpenStack API service enabled, and
 * the `openstack` CLI talking to it with a static token: what the CLI tests
 * start from.
 */
import { join } from "node:path";
import type { Lab } from "../../src/lab/lab.js";
import { startLab, stopLab } from "./lab.js";
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

/** A lab of `nodes` members with the service enabled on m1, and the CLI talking to it. */
export async function labWithApi(nodes: number): Promise<{ lab: Lab; os: OpenStackCli }> {
  const lab = await startLab(nodes);
  try {
    const m1 = lab.node("m1");
    await lab.ok("m1", ["enable", "openstack-api"]);
    const os = await OpenStackCli.withStaticToken(
      m1.namespace,
      m1.address,
      join(m1.stateDir, "data/pki/cacert.pem"),
      (args) => lab.ok("m1", args),
    );
    return { lab, os };
  } catch (e) {
    // The suite never learns of this lab: leave nothing behind.
    await stopLab(lab);
    throw e;
  }
}

/**
 * `network create NAME [networkArgs…]` and `subnet create NAME-sub` on it
 * with `cidr` [subnetArgs…], through the CLI; both as it answers them.
 */
export async function networkWithSubnet(
  os: OpenStackCli,
  name: string,
  cidr: string,
  networkArgs: readonly string[] = [],
  subnetArgs: readonly string[] = [],
): Promise<{ network: { id: string }; subnet: { id: string; gateway_ip: string } }> {
  const network = await os.json<{ id: string }>(["network", "create", name, ...networkArgs]);
  const subnet = await os.json<{ id: string; gateway_ip: string }>([
    "subnet",
    "create",
    `${name}-sub`,
    "--network",
    name,
    "--subnet-range",
    cidr,
    ...subnetArgs,
  ]);
  return { network, subnet };
}

/**
 * What the CLI tests read of NB on `member` (a getter: suites make their
 * member in `before`): ovn-nbctl, one column of one record as it prints it
 * alone, and whole tables as CSV (what a refused request must leave alone).
 */
export function nbReader(member: () => TestMember) {
  const nbctl = (args: readonly string[]) => member().ok(["ovn-nbctl", ...args]);
  const column = async (table: string, record: string, name: string) =>
    (await nbctl(["--bare", `--columns=${name}`, "list", table, record])).trim();
  const tables = async (names: readonly string[]) =>
    (await Promise.all(names.map((t) => nbctl(["--format=csv", "--no-headings", "list", t])))).join(
      "\n",
    );
  return { nbctl, column, tables };
}
