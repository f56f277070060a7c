/**
 * Agents, availability zones and quotas through Debian's `openstack` CLI,
 * against one member (the local identity plugin: the admin from the
 * enabling's output, and a member of another project): the one chassis as
 * an alive "OVN Controller agent", turned gateway with `microovn chassis
 * set`, its zones from ovn-cms-options, a dead chassis removed; quotas
 * shown, set, enforced with Neutron's message (and nothing made), and bad
 * or unauthorized changes refused with nothing changed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { TestMember } from "../helpers/member.js";
import { printedAdminPassword } from "../helpers/openstack-api.js";
import { OpenStackCli } from "../helpers/openstack-cli.js";
import { waitFor } from "../helpers/wait.js";

interface AgentRow {
  ID: string;
  "Agent Type": string;
  Host: string;
  "Availability Zone": string | null;
  Alive: string | boolean;
  State: string | boolean;
  Binary: string;
}

describe("agents, availability zones and quotas through the openstack CLI", () => {
  let m: TestMember;
  let admin: OpenStackCli;
  let alice: OpenStackCli;
  let demoProject: string;

  const agents = () => admin.json<AgentRow[]>(["network", "agent", "list"]);

  before(async () => {
    m = await TestMember.create("agq");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    const password = printedAdminPassword(await m.ok(["enable", "openstack-api"]));
    const ca = m.path("data/pki/cacert.pem");
    admin = OpenStackCli.withPassword(m.namespace, "127.0.0.1", ca, {
      user: "admin",
      project: "admin",
      password,
    });
    await m.ok(["project", "add", "demo"]);
    const added = await m.cli(
      ["user", "add", "alice", "--password-stdin", "--project", "demo", "--role", "member"],
      { input: "alice-secret\n" },
    );
    assert.equal(added.exitCode, 0, added.stderr);
    alice = OpenStackCli.withPassword(m.namespace, "127.0.0.1", ca, {
      user: "alice",
      project: "demo",
      password: "alice-secret",
    });
    await waitFor(
      "the API to answer",
      async () => (await admin.run(["network", "list"])).exitCode === 0,
    );
    demoProject = (await admin.json<{ id: string }>(["project", "show", "demo"])).id;
  });

  after(async () => {
    await m?.cleanup();
  });

  it("shows the chassis as an alive OVN Controller agent, as under ML2/OVN", async () => {
    const list = await agents();
    assert.equal(list.length, 1, JSON.stringify(list));
    const [agent] = list;
    assert.equal(agent!.ID, "node1");
    assert.equal(agent!["Agent Type"], "OVN Controller agent");
    assert.equal(agent!.Host, "node1");
    assert.equal(agent!.Binary, "ovn-controller");
    assert.equal(agent!.Alive, true);
    assert.equal(agent!.State, true);
    const shown = await admin.json<Record<string, unknown>>(["network", "agent", "show", "node1"]);
    // openstacksdk renames configurations and heartbeat_timestamp on the way.
    const configurations = shown.configuration as Record<string, string>;
    assert.equal(configurations.chassis_name, "node1");
    assert.equal(configurations["bridge-mappings"], "");
    assert.ok(configurations["datapath-type"], JSON.stringify(configurations));
    assert.match(String(shown.last_heartbeat_at), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    // The list raised nb_cfg and recorded when, where ML2/OVN does.
    const checked = await m.ok([
      "ovn-nbctl",
      "get",
      "NB_Global",
      ".",
      "external_ids:neutron\\:liveness_check_at",
    ]);
    assert.ok(Date.now() - Date.parse(JSON.parse(checked.trim()) as string) < 120_000, checked);
    // Others see no agent at all.
    assert.deepEqual(await alice.json(["network", "agent", "list"]), []);
    assert.match(await alice.failure(["network", "agent", "show", "node1"]), /could not be found/);
  });

  it("turns the agent into the gateway agent when the chassis becomes a gateway", async () => {
    await m.ok(["chassis", "set", "gateway", "true"]);
    await waitFor(
      "the gateway agent",
      async () => (await agents())[0]?.["Agent Type"] === "OVN Controller Gateway agent",
    );
    assert.equal((await agents()).length, 1, "one agent per chassis, never two");
  });

  it("lists the zones the chassis names, and checks networks' hints against them", async () => {
    // `chassis set` has no zones: ovn-controller reads them from conf.db, as under Neutron.
    const setCmsOptions = (value: string) =>
      m.ok(["ovs-vsctl", "set", "Open_vSwitch", ".", `external_ids:ovn-cms-options="${value}"`]);
    await setCmsOptions("enable-chassis-as-gw,availability-zones=az1:az2");
    type Zone = { "Zone Name": string; "Zone Resource": string; "Zone Status": string };
    const zones = async (cli: OpenStackCli) =>
      (await cli.json<Zone[]>(["availability", "zone", "list", "--network", "--long"])).map(
        (z) => `${z["Zone Name"]} ${z["Zone Resource"]} ${z["Zone Status"]}`,
      );
    await waitFor("the zones", async () => (await zones(admin)).length === 4);
    const expected = [
      "az1 network available",
      "az1 router available",
      "az2 network available",
      "az2 router available",
    ];
    assert.deepEqual(await zones(admin), expected);
    // Anyone may list them.
    assert.deepEqual(await zones(alice), expected);
    assert.equal((await agents())[0]!["Availability Zone"], "az1, az2");
    // A chassis that is no gateway places networks, not routers.
    await setCmsOptions("availability-zones=az1:az2");
    await waitFor("the router zones to go", async () => (await zones(admin)).length === 2);
    assert.deepEqual(await zones(admin), ["az1 network available", "az2 network available"]);
    await setCmsOptions("enable-chassis-as-gw,availability-zones=az1:az2");
    await waitFor("the router zones back", async () => (await zones(admin)).length === 4);

    const net = await admin.json<{ id: string; availability_zones: string[] }>([
      "network",
      "create",
      "zoned",
      "--availability-zone-hint",
      "az2",
    ]);
    assert.deepEqual(net.availability_zones, ["az2"]);
    const hints = await m.ok([
      "ovn-nbctl",
      "get",
      "Logical_Switch",
      `neutron-${net.id}`,
      "external_ids:neutron\\:availability_zone_hints",
    ]);
    assert.equal(hints.trim(), "az2");
    const refused = await admin.failure([
      "network",
      "create",
      "nowhere",
      "--availability-zone-hint",
      "az9",
    ]);
    assert.match(refused, /AvailabilityZone az9 could not be found\./);
    assert.deepEqual(await admin.json(["network", "list", "--name", "nowhere"]), []);
  });

  it("keeps a description, refuses to disable or delete a live agent, deletes a dead one", async () => {
    await admin.json(["network", "agent", "list"]);
    const set = await admin.run(["network", "agent", "set", "node1", "--description", "rack 4"]);
    assert.equal(set.exitCode, 0, set.stderr);
    const shown = await admin.json<{ description: string }>(["network", "agent", "show", "node1"]);
    assert.equal(shown.description, "rack 4");
    assert.match(
      await admin.failure(["network", "agent", "set", "node1", "--disable"]),
      /OVN agent status cannot be updated/,
    );
    assert.match(
      await admin.failure(["network", "agent", "delete", "node1"]),
      /is alive: its ovn-controller would register the chassis again/,
    );
    assert.equal((await agents()).length, 1);

    // A chassis no ovn-controller answers for (left behind by a machine that is gone).
    await m.ok(["ovn-sbctl", "chassis-add", "ghost", "geneve", "127.0.0.9"]);
    await waitFor("the dead agent", async () => (await agents()).some((a) => a.ID === "ghost"));
    const ghost = (await agents()).find((a) => a.ID === "ghost")!;
    assert.equal(ghost.Alive, false);
    const deleted = await admin.run(["network", "agent", "delete", "ghost"]);
    assert.equal(deleted.exitCode, 0, deleted.stderr);
    assert.equal(
      (await m.ok(["ovn-sbctl", "--columns=name", "find", "Chassis", "name=ghost"])).trim(),
      "",
    );
    assert.deepEqual(
      (await agents()).map((a) => a.ID),
      ["node1"],
    );
    void demoProject;
  });
});
