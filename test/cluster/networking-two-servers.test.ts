/**
 * Two API servers on two lab members, one NB cluster: 1,000 ports created
 * at once on one subnet, half through each member's service. No address is
 * handed out twice, every 201 is a port that exists (in the API of the
 * other member and in NB), and nothing is left half-made: NB holds exactly
 * the ports that were acknowledged.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { OpenStackCli } from "../helpers/openstack-cli.js";
import { waitFor } from "../helpers/wait.js";

const BURST = resolve(import.meta.dirname, "../helpers/networking-burst.mjs");
const PORTS = 1000;
const CONCURRENCY = 32;

interface Created {
  host: string;
  status: number | undefined;
  id?: string;
  ip?: string;
  error?: string;
}

let lab: Lab | undefined;

after(async () => {
  await stopLab(lab);
});

describe("two OpenStack API servers creating ports at once", () => {
  let os: OpenStackCli;
  let token: string;
  let caFile: string;

  before(async () => {
    lab = await startLab(2);
    await lab.ok("m1", ["enable", "openstack-api"]);
    await lab.ok("m1", ["enable", "openstack-api", "--node", "m2"]);
    const m1 = lab.node("m1");
    caFile = join(m1.stateDir, "data/pki/cacert.pem");
    token = randomBytes(20).toString("hex");
    await lab.ok("m1", ["config", "set", "openstack-api.static-token", token]);
    await lab.ok("m1", ["config", "set", "openstack-api.auth", "static-token"]);
    os = new OpenStackCli(m1.namespace, {
      OS_AUTH_TYPE: "admin_token",
      OS_ENDPOINT: `https://${m1.address}:9696`,
      OS_TOKEN: token,
      OS_CACERT: caFile,
    });
    const m2 = lab.node("m2");
    // Both services take the token once their state database replica has it.
    await waitFor("m2's service to take the token", async () => {
      const r = await runIn(m1.namespace, process.execPath, [
        resolve(import.meta.dirname, "../helpers/api-call.mjs"),
        caFile,
        m2.address,
        "9696",
        token,
        "GET",
        "/v2.0/networks",
      ]);
      return (JSON.parse(r.stdout) as { status?: number }).status === 200;
    });
  });

  it("never gives one address twice, and every 201 is a port in NB", async () => {
    const net = await os.json<{ id: string }>(["network", "create", "burst-net"]);
    await os.json([
      "subnet",
      "create",
      "burst-v4",
      "--network",
      "burst-net",
      "--subnet-range",
      "10.40.0.0/21",
    ]);
    const hosts = [lab!.node("m1").address, lab!.node("m2").address];
    const r = await runIn(
      lab!.node("m1").namespace,
      process.execPath,
      [BURST, caFile, token, net.id, String(PORTS), String(CONCURRENCY), ...hosts],
      { timeoutMs: 600_000 },
    );
    const results = JSON.parse(r.stdout) as Created[];
    const made = results.filter((c) => c.status === 201);
    const failed = results.filter((c) => c.status !== 201);
    assert.deepEqual(failed.slice(0, 3), [], `${failed.length} creates failed`);
    assert.equal(made.length, PORTS);
    for (const host of hosts)
      assert.ok(
        made.some((c) => c.host === host),
        `some through ${host}`,
      );
    const ips = made.map((c) => c.ip);
    assert.equal(new Set(ips).size, ips.length, "no address handed out twice");
    // Every acknowledged port is there, seen through the other member and in NB.
    const listed = await os.call(
      "GET",
      `/v2.0/ports?network_id=${net.id}&fields=id&fields=fixed_ips`,
    );
    const ports = (listed.body as { ports: { id: string }[] }).ports;
    assert.deepEqual(ports.map((p) => p.id).sort(), made.map((c) => c.id!).sort());
    const inNb = (
      await lab!.ok("m2", [
        "ovn-nbctl",
        "--bare",
        "--columns=name",
        "find",
        "Logical_Switch_Port",
        `external_ids:neutron\\:network_name=neutron-${net.id}`,
      ])
    )
      .split("\n")
      .filter((l) => l.trim() !== "");
    assert.deepEqual(inNb.sort(), made.map((c) => c.id!).sort());
  });
});
