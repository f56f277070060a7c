/**
 * Agents, availability zones and quotas through Debian's `openstack` CLI,
 * against one member (the local identity plugin: the admin from the
 * enabling's output, and a member of another project): the one chassis as
 * an alive "OVN Controller agent", turned gateway with `microovn chassis
 * set`, its zones (`chassis set availability-zones`), a dead chassis
 * removed, alive told from dead on real raises of nb_cfg; quotas shown,
 * set, enforced with Neutron's message (and nothing made), and bad or
 * unauthorized changes refused with nothing changed.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runIn } from "../../src/lab/netns.js";
import { TestMember } from "../helpers/member.js";
import { printedAdminPassword } from "../helpers/openstack-api.js";
import { OpenStackCli } from "../helpers/openstack-cli.js";
import { waitFor } from "../helpers/wait.js";

const QUOTA_SCRIPT = `
import json, sys, openstack
op, project, attrs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
net = openstack.connect().network
if op == "show": q = net.get_quota(project)
elif op == "details": q = net.get_quota(project, details=True)
elif op == "default": q = net.get_quota_default(project)
elif op == "set": q = net.update_quota(project, **attrs)
else: q = net.delete_quota(project)
print(json.dumps(q.to_dict() if q is not None else None))
`;

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
  let logins: Record<"admin" | "alice", Record<string, string>>;
  /**
   * A quota call through openstacksdk, the library under the CLI: the
   * CLI's own `quota show|set` (python-openstackclient 6.0) first make a
   * compute client and stop where the catalog has no compute service.
   */
  const sdk = async (who: "admin" | "alice", op: string, project: string, attrs = {}) => {
    const env = Object.entries(logins[who]).map(([k, v]) => `${k}=${v}`);
    const r = await runIn(
      m.namespace,
      "env",
      [...env, "/usr/bin/python3", "-c", QUOTA_SCRIPT, op, project, JSON.stringify(attrs)],
      { allowFailure: true, timeoutMs: 60_000 },
    );
    return { ok: r.exitCode === 0, out: r.stdout, err: r.stderr };
  };
  const quotaOf = async (who: "admin" | "alice", project: string, op = "show") => {
    const r = await sdk(who, op, project);
    assert.ok(r.ok, r.err);
    return JSON.parse(r.out) as Record<string, unknown>;
  };

  before(async () => {
    m = await TestMember.create("agq");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    const password = printedAdminPassword(await m.ok(["enable", "openstack-api"]));
    const ca = m.path("data/pki/cacert.pem");
    const login = (user: string, project: string, secret: string) => ({
      OS_AUTH_URL: "https://127.0.0.1:5000/v3",
      OS_IDENTITY_API_VERSION: "3",
      OS_USERNAME: user,
      OS_PASSWORD: secret,
      OS_USER_DOMAIN_NAME: "Default",
      OS_PROJECT_NAME: project,
      OS_PROJECT_DOMAIN_NAME: "Default",
      OS_CACERT: ca,
    });
    logins = {
      admin: login("admin", "admin", password),
      alice: login("alice", "demo", "alice-secret"),
    };
    admin = new OpenStackCli(m.namespace, logins.admin);
    await m.ok(["project", "add", "demo"]);
    const added = await m.cli(
      ["user", "add", "alice", "--password-stdin", "--project", "demo", "--role", "member"],
      { input: "alice-secret\n" },
    );
    assert.equal(added.exitCode, 0, added.stderr);
    alice = new OpenStackCli(m.namespace, logins.alice);
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
    const table = await admin.run(["network", "agent", "list"]);
    assert.match(
      table.stdout,
      /\| node1 \| OVN Controller agent \| node1 \|\s+\| :-\) {3}\| UP {4}\| ovn-controller \|/,
    );
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
    const bad = await m.cli(["chassis", "set", "availability-zones", "az1,az2"]);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /"az1,az2" is not an availability zone name; give names of letters/);
    assert.match(await m.ok(["chassis", "show"]), /availability-zones: \(none\)/);
    await m.ok(["chassis", "set", "availability-zones", "az1:az2"]);
    assert.match(await m.ok(["chassis", "show"]), /gateway: true\navailability-zones: az1:az2/);
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
    await m.ok(["chassis", "set", "gateway", "false"]);
    await waitFor("the router zones to go", async () => (await zones(admin)).length === 2);
    assert.deepEqual(await zones(admin), ["az1 network available", "az2 network available"]);
    await m.ok(["chassis", "set", "gateway", "true"]);
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
  });

  it("tells alive from dead by how far a chassis' nb_cfg is behind and when it last answered", async () => {
    // A chassis whose ovn-controller answered nb_cfg 0 long ago, then stopped.
    await m.ok(["ovn-sbctl", "chassis-add", "stale", "geneve", "127.0.0.10"]);
    const uuid = (
      await m.ok(["ovn-sbctl", "--bare", "--columns=_uuid", "find", "Chassis", "name=stale"])
    ).trim();
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    await m.ok([
      "ovn-sbctl",
      "create",
      "Chassis_Private",
      "name=stale",
      `chassis=${uuid}`,
      "nb_cfg=0",
      "nb_cfg_timestamp=1000",
    ]);
    // Two raises of nb_cfg (what `--wait=sb` does), each carried to SB by ovn-northd.
    await m.ok(["ovn-nbctl", "--wait=sb", "sync"]);
    await m.ok(["ovn-nbctl", "--wait=sb", "sync"]);
    const alive = async () => Object.fromEntries((await agents()).map((a) => [a.ID, a.Alive]));
    await waitFor("node1 to answer the raises", async () => (await alive()).node1 === true);
    assert.deepEqual(await alive(), { node1: true, stale: false });
    // It answers again: alive.
    const global = (await m.ok(["ovn-nbctl", "get", "NB_Global", ".", "nb_cfg"])).trim();
    await m.ok([
      "ovn-sbctl",
      "set",
      "Chassis_Private",
      "stale",
      `nb_cfg=${global}`,
      `nb_cfg_timestamp=${Date.now()}`,
    ]);
    await waitFor("the answer to be seen", async () => (await alive()).stale === true);
    await m.ok(["ovn-sbctl", "chassis-del", "stale"]);
  });

  /** A raw Networking call with the CLI user's token, for what the CLI never sends. */
  const raw = async (cli: OpenStackCli) => {
    const token = await cli.json<{ id: string }>(["token", "issue"]);
    return new OpenStackCli(m.namespace, {
      OS_ENDPOINT: "https://127.0.0.1:9696",
      OS_TOKEN: token.id,
      OS_CACERT: m.path("data/pki/cacert.pem"),
    });
  };
  const demoPorts = async () =>
    (await alice.json<{ ID: string }[]>(["port", "list", "--network", "counted"])).length;

  it("shows Neutron's default quotas and the cluster's, as the operator sets them", async () => {
    const shown = await quotaOf("admin", demoProject);
    assert.equal(shown.networks, 100);
    assert.equal(shown.subnets, 100);
    assert.equal(shown.ports, 500);
    assert.equal(shown.routers, 10);
    assert.equal(shown.floating_ips, 50);
    assert.equal(shown.security_groups, 10);
    assert.equal(shown.security_group_rules, 100);
    assert.equal((await quotaOf("alice", demoProject)).ports, 500, "a member reads its own");
    const other = await sdk("alice", "show", "someone-else");
    assert.equal(other.ok, false);
    assert.match(other.err, /only an admin reads another project's quota/);

    await m.ok(["config", "set", "openstack-api.quota.network", "30"]);
    await waitFor(
      "the new default",
      async () => (await quotaOf("admin", demoProject)).networks === 30,
    );
    assert.equal((await quotaOf("admin", demoProject, "default")).networks, 30);
    const bad = await m.cli(["config", "set", "openstack-api.quota.network", "-2"]);
    assert.notEqual(bad.exitCode, 0);
    assert.match(bad.stderr, /whole number, 0 or more, or -1 for no limit/);
    assert.match(await m.ok(["config", "get", "openstack-api.quota.network"]), /\b30\b/);
    assert.equal((await quotaOf("admin", demoProject)).networks, 30);
  });

  it("enforces a project's port quota with Neutron's message, single and bulk, making nothing", async () => {
    const net = await alice.json<{ id: string }>(["network", "create", "counted"]);
    assert.ok((await sdk("admin", "set", demoProject, { ports: 2 })).ok);
    assert.equal((await quotaOf("admin", demoProject)).ports, 2);
    // What the CLI reads without a compute service: the projects whose quotas differ.
    type Listed = { "Project ID": string; Ports: number };
    const listed = await admin.json<Listed[]>(["quota", "list", "--network"]);
    assert.deepEqual(
      listed.map((q) => [q["Project ID"], q.Ports]),
      [[demoProject, 2]],
    );
    await alice.json(["port", "create", "--network", net.id, "p1"]);
    await alice.json(["port", "create", "--network", net.id, "p2"]);
    const refused = await alice.failure(["port", "create", "--network", net.id, "p3"]);
    assert.match(refused, /Quota exceeded for resources: \['port'\]\./);
    assert.equal(await demoPorts(), 2);

    assert.ok((await sdk("admin", "set", demoProject, { ports: 4 })).ok);
    const api = await raw(alice);
    const bulk = await api.call(
      "POST",
      "/v2.0/ports",
      JSON.stringify({ ports: [1, 2, 3].map((i) => ({ network_id: net.id, name: `b${i}` })) }),
    );
    assert.equal(bulk.status, 409, JSON.stringify(bulk.body));
    assert.deepEqual(bulk.body, {
      NeutronError: {
        type: "OverQuota",
        message: "Quota exceeded for resources: ['port'].",
        detail: "",
      },
    });
    assert.equal(await demoPorts(), 2, "the bulk request is counted whole");
    const nbPorts = await m.ok([
      "ovn-nbctl",
      "--bare",
      "--columns=ports",
      "list",
      "Logical_Switch",
      `neutron-${net.id}`,
    ]);
    assert.equal(nbPorts.trim().split(/\s+/).length, 2);

    type Detail = { Resource: string; "In Use": number; Reserved: number; Limit: number };
    const detailed = await admin.json<Detail[]>([
      "quota",
      "list",
      "--network",
      "--detail",
      "--project",
      "demo",
    ]);
    assert.deepEqual(
      detailed.find((d) => d.Resource === "ports"),
      { Resource: "ports", "In Use": 2, Reserved: 0, Limit: 4 },
    );
    const details = await quotaOf("alice", demoProject, "details");
    assert.deepEqual(details.ports, { limit: 4, used: 2, reserved: 0 });
    assert.deepEqual(details.networks, { limit: 30, used: 1, reserved: 0 });
  });

  it("refuses quota changes by a non-admin and bad limits, changing nothing", async () => {
    const before = await quotaOf("admin", demoProject);
    const byAlice = await sdk("alice", "set", demoProject, { ports: 50 });
    assert.equal(byAlice.ok, false);
    assert.match(byAlice.err, /only an admin sets quotas/);
    const negative = await sdk("admin", "set", demoProject, { ports: -5 });
    assert.equal(negative.ok, false);
    assert.match(
      negative.err,
      /Invalid input for port\. Reason: '-5' is not a whole number of port from 0 up, or -1 for no limit/,
    );
    const api = await raw(admin);
    const unknown = await api.call(
      "PUT",
      `/v2.0/quotas/${demoProject}`,
      JSON.stringify({ quota: { port: 7, widgets: 3 } }),
    );
    assert.equal(unknown.status, 400);
    assert.match(
      JSON.stringify(unknown.body),
      /Unrecognized attribute\(s\) 'widgets': quotas are set for network, subnet, port/,
    );
    const text = await api.call(
      "PUT",
      `/v2.0/quotas/${demoProject}`,
      JSON.stringify({ quota: { port: "many" } }),
    );
    assert.equal(text.status, 400);
    assert.deepEqual(await quotaOf("admin", demoProject), before);

    // -1 lifts the limit; DELETE returns the project to the defaults.
    assert.ok((await sdk("admin", "set", demoProject, { ports: -1 })).ok);
    assert.equal((await quotaOf("admin", demoProject)).ports, -1);
    assert.ok((await sdk("admin", "delete", demoProject)).ok);
    assert.equal((await quotaOf("admin", demoProject)).ports, 500);
    assert.deepEqual(await admin.json(["quota", "list", "--network"]), []);
    assert.doesNotMatch(await m.ok(["config", "list"]), /project-quota/);
  });
});
