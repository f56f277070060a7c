/**
 * A router gateway in a two-member lab, made with the real `openstack`
 * CLI while only m1 is a gateway chassis: the service's watch adds m2
 * below m1 when m2 becomes a gateway (the gateway is not set again), and
 * takes it away when m2 stops being one. With two gateway chassis, OVN
 * turns on BFD on the tunnels between them by itself, with nothing set in
 * NB; with one, it turns it off again. How long BFD takes to come up is
 * recorded.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { labWithApi } from "../helpers/api-member.js";
import { stopLab } from "../helpers/lab.js";
import type { OpenStackCli } from "../helpers/openstack-cli.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;

after(async () => {
  await stopLab(lab);
});

function seconds(since: bigint): string {
  return (Number(process.hrtime.bigint() - since) / 1e9).toFixed(2);
}

describe("gateway chassis rescheduled, BFD between them", () => {
  let os: OpenStackCli;
  let lrp: string;

  /** The gateway's Gateway_Chassis, highest priority first: `chassis:priority`. */
  const gatewayChassis = async (): Promise<string[]> => {
    const out = await lab!.ok("m1", [
      "ovn-nbctl",
      "--format=csv",
      "--data=bare",
      "--no-headings",
      "--columns=name,chassis_name,priority",
      "list",
      "Gateway_Chassis",
    ]);
    return out
      .trim()
      .split("\n")
      .map((l) => l.split(","))
      .filter(([name]) => name?.startsWith(`${lrp}_`))
      .sort((a, b) => Number(b[2]) - Number(a[2]))
      .map(([, c, p]) => `${c}:${p}`);
  };

  /** `remote_ip bfd-enable bfd-state` of each tunnel on a member. */
  const tunnels = async (node: string): Promise<string[]> => {
    const out = await lab!.ok(node, [
      "ovs-vsctl",
      "--format=csv",
      "--data=bare",
      "--no-headings",
      "--columns=options,bfd,bfd_status",
      "find",
      "Interface",
      "type=geneve",
    ]);
    return out
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const remote = /remote_ip=([^ ,"]+)/.exec(l)?.[1] ?? "?";
        const enabled = /enable=(true|false)/.exec(l)?.[1] ?? "unset";
        const state = /(?:^|[ ,"])state=([a-z_]+)/.exec(l)?.[1] ?? "none";
        return `${remote} ${enabled} ${state}`;
      });
  };

  const bfdUp = async (node: string) => {
    const t = await tunnels(node);
    return t.length > 0 && t.every((x) => x.endsWith(" true up")) ? t : undefined;
  };
  const bfdOff = async (node: string) => {
    const t = await tunnels(node);
    return t.every((x) => !x.includes(" true ")) ? t : undefined;
  };

  before(async () => {
    ({ lab, os } = await labWithApi(2));
  });

  it("schedules a gateway on the one gateway chassis, without BFD", async () => {
    await lab!.ok("m1", ["chassis", "set", "gateway", "true"]);
    await os.json(["network", "create", "ext", "--external"]);
    await os.json(
      "subnet create ext-sub --network ext --subnet-range 198.18.250.0/24 --no-dhcp".split(" "),
    );
    await os.json(["network", "create", "in"]);
    await os.json([
      "subnet",
      "create",
      "in-sub",
      "--network",
      "in",
      "--subnet-range",
      "10.70.0.0/24",
    ]);
    await os.json(["router", "create", "r"]);
    assert.equal((await os.run(["router", "add", "subnet", "r", "in-sub"])).exitCode, 0);
    // The chassis must be seen as a gateway by the service before the gateway is set.
    await waitFor("m1 as a gateway agent", async () =>
      (await os.json<{ Host: string; "Agent Type": string }[]>(["network", "agent", "list"])).some(
        (a) => a.Host === "m1" && a["Agent Type"] === "OVN Controller Gateway agent",
      ),
    );
    const set = await os.run(["router", "set", "r", "--external-gateway", "ext"]);
    assert.equal(set.exitCode, 0, set.stderr);
    const ports = await os.json<{ ID: string }[]>([
      "port",
      "list",
      "--device-owner",
      "network:router_gateway",
    ]);
    assert.equal(ports.length, 1);
    lrp = `lrp-${ports[0]!.ID}`;
    assert.deepEqual(await gatewayChassis(), ["m1:1"]);
    assert.ok(await bfdOff("m1"), "no BFD with a single gateway chassis");
  });

  it("adds m2 below m1 when it becomes a gateway, and OVN turns BFD on", async () => {
    const start = process.hrtime.bigint();
    await lab!.ok("m2", ["chassis", "set", "gateway", "true"]);
    await waitFor(
      "m2 to join the gateway below m1",
      async () => {
        const now = await gatewayChassis();
        return now.length === 2 ? now : undefined;
      },
      { timeoutMs: 30_000 },
    );
    // m1 was at 1: both numbered again, m1 still first.
    assert.deepEqual(await gatewayChassis(), ["m1:2", "m2:1"]);
    const scheduled = seconds(start);
    for (const node of ["m1", "m2"]) {
      const t = await waitFor(`BFD up on ${node}'s tunnels`, () => bfdUp(node), {
        timeoutMs: 30_000,
      });
      console.log(`# ${node} tunnels: ${t.join("; ")}`);
    }
    console.log(
      `# m2 rescheduled ${scheduled} s after chassis set; BFD up on both ${seconds(start)} s after`,
    );
  });

  it("takes m2 away when it stops being a gateway; BFD goes off", async () => {
    await lab!.ok("m2", ["chassis", "set", "gateway", "false"]);
    await waitFor(
      "m2 to leave the gateway",
      async () => JSON.stringify(await gatewayChassis()) === JSON.stringify(["m1:2"]),
      { timeoutMs: 30_000 },
    );
    for (const node of ["m1", "m2"]) {
      await waitFor(`BFD off on ${node}'s tunnels`, () => bfdOff(node), { timeoutMs: 30_000 });
    }
  });
});
