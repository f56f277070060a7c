/**
 * The Networking API as Debian's `openstack` CLI (python3-openstackclient
 * 6.0) and openstacksdk 0.101 drive it, against one member in its own
 * namespace: networks, subnets (IPv4 and IPv6) and ports created, listed
 * (`-f json`, `--long`), shown, set, unset and deleted; a provider VLAN
 * network; tags; bulk create and pagination through the SDK; the errors a
 * user meets, with the client showing our message; and `ovn-nbctl show`
 * reading as under Neutron. Authenticated with the static token (admin).
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { run } from "../../src/process/run.js";
import { TestMember } from "../helpers/member.js";
import { waitFor } from "../helpers/wait.js";

const TOKEN = "0123456789abcdef0123456789abcdef-cli";
const ENDPOINT = "https://127.0.0.1:9696";

/** Bulk create (the CLI has no command for it) and a walk through pages of two. */
const SDK_SCRIPT = `
import json, sys, openstack
from openstack.network.v2.port import Port
token, cacert, network = sys.argv[1:4]
conn = openstack.connect(auth_type="admin_token", auth={"endpoint": "${ENDPOINT}", "token": token}, cacert=cacert)
made = list(Port.bulk_create(conn.network, [{"network_id": network, "name": "bulk%d" % i} for i in range(3)]))
paged = [p.id for p in conn.network.ports(network_id=network, limit=2)]
print(json.dumps({"made": [p.id for p in made], "paged": paged}))
`;

const VLAN_100 = [
  "--provider-network-type",
  "vlan",
  "--provider-physical-network",
  "physnet1",
  "--provider-segment",
  "100",
];

describe("the Networking API through the openstack CLI", () => {
  let m: TestMember;

  const openstack = (args: readonly string[]) =>
    run("ip", ["netns", "exec", m.namespace, "openstack", ...args], {
      env: {
        OS_AUTH_TYPE: "admin_token",
        OS_ENDPOINT: ENDPOINT,
        OS_TOKEN: TOKEN,
        OS_CACERT: m.path("data/pki/cacert.pem"),
      },
      allowFailure: true,
      timeoutMs: 60_000,
    });
  const ok = async (args: readonly string[]) => {
    const r = await openstack(args);
    assert.equal(r.exitCode, 0, `openstack ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const json = async <T = Record<string, unknown>>(args: readonly string[]) =>
    JSON.parse(await ok([...args, "-f", "json"])) as T;
  /** A command that must fail, and what the client printed. */
  const refused = async (args: readonly string[]) => {
    const r = await openstack(args);
    assert.notEqual(r.exitCode, 0, `openstack ${args.join(" ")} succeeded`);
    return r.stderr + r.stdout;
  };
  const nbctl = (args: readonly string[]) => m.ok(["ovn-nbctl", ...args]);

  before(async () => {
    m = await TestMember.create("netcli");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    await m.ok(["enable", "openstack-api"]);
    await m.ok(["config", "set", "openstack-api.auth", "static-token"]);
    await m.ok(["config", "set", "openstack-api.static-token", TOKEN]);
    // The service reads the settings from the state database's replica.
    await waitFor(
      "the static token to be accepted",
      async () => (await openstack(["network", "list"])).exitCode === 0,
    );
  });

  after(async () => {
    await m?.cleanup();
  });

  it("creates, lists, shows, sets, unsets and deletes networks", async () => {
    const net = await json<{
      id: string;
      mtu: number;
      status: string;
      "provider:network_type": string;
    }>(["network", "create", "blue", "--description", "the blue one", "--tag", "env=test"]);
    assert.equal(net.mtu, 1442);
    assert.equal(net.status, "ACTIVE");
    const listed = await json<{ ID: string; Name: string }[]>(["network", "list"]);
    assert.ok(listed.some((n) => n.ID === net.id && n.Name === "blue"));
    const long = await json<Record<string, unknown>[]>(["network", "list", "--long"]);
    const row = long.find((n) => n.ID === net.id)!;
    assert.equal(row["Network Type"], "geneve");
    assert.equal(row.State, true);
    await ok(["network", "set", "blue", "--name", "azure", "--mtu", "1400", "--tag", "colour"]);
    const shown = await json<{
      name: string;
      mtu: number;
      tags: string[];
      revision_number: number;
      description: string;
    }>(["network", "show", net.id]);
    assert.equal(shown.name, "azure");
    assert.equal(shown.mtu, 1400);
    assert.deepEqual([...shown.tags].sort(), ["colour", "env=test"]);
    assert.equal(shown.description, "the blue one");
    assert.ok(shown.revision_number > 1);
    const tagged = await json<{ ID: string }[]>(["network", "list", "--tags", "colour"]);
    assert.deepEqual(
      tagged.map((n) => n.ID),
      [net.id],
    );
    await ok(["network", "unset", "azure", "--tag", "colour"]);
    assert.deepEqual((await json<{ tags: string[] }>(["network", "show", net.id])).tags, [
      "env=test",
    ]);
    assert.deepEqual(await json(["network", "list", "--tags", "colour"]), []);
    // As under Neutron: the switch is neutron-<id>, its name in external_ids.
    assert.match(
      await nbctl(["show"]),
      new RegExp(`switch \\S+ \\(neutron-${net.id}\\) \\(aka azure\\)`),
    );
    await ok(["network", "delete", "azure"]);
    assert.match(await refused(["network", "show", net.id]), /No Network found for/);
    assert.doesNotMatch(await nbctl(["show"]), new RegExp(net.id));
  });

  it("makes IPv4 and IPv6 subnets with OVN's DHCP as ML2/OVN writes it", async () => {
    const net = await json<{ id: string }>(["network", "create", "dhcp-net"]);
    const v4 = await json<{
      id: string;
      gateway_ip: string;
      allocation_pools: { start: string; end: string }[];
    }>([
      "subnet",
      "create",
      "v4",
      "--network",
      "dhcp-net",
      "--subnet-range",
      "10.1.0.0/24",
      "--dns-nameserver",
      "192.0.2.53",
      "--host-route",
      "destination=10.9.0.0/16,gateway=10.1.0.254",
    ]);
    assert.equal(v4.gateway_ip, "10.1.0.1");
    assert.deepEqual(v4.allocation_pools, [{ start: "10.1.0.2", end: "10.1.0.254" }]);
    const v6 = await json<{ id: string; ipv6_address_mode: string }>([
      "subnet",
      "create",
      "v6",
      "--network",
      "dhcp-net",
      "--ip-version",
      "6",
      "--subnet-range",
      "fd00:1::/64",
      "--ipv6-address-mode",
      "slaac",
      "--ipv6-ra-mode",
      "slaac",
    ]);
    assert.equal(v6.ipv6_address_mode, "slaac");
    const row = await nbctl([
      "--bare",
      "--columns=options",
      "find",
      "DHCP_Options",
      `external_ids:subnet_id=${v4.id}`,
    ]);
    for (const option of [
      "lease_time=43200",
      "mtu=1442",
      "router=10.1.0.1",
      "server_id=10.1.0.1",
      "dns_server={192.0.2.53}",
      "classless_static_route={10.9.0.0/16,10.1.0.254, 0.0.0.0/0,10.1.0.1}",
    ]) {
      assert.ok(row.includes(option), `${option} in ${row}`);
    }
    await ok(["subnet", "set", "v4", "--no-dns-nameservers", "--dns-nameserver", "192.0.2.54"]);
    assert.match(
      await nbctl([
        "--bare",
        "--columns=options",
        "find",
        "DHCP_Options",
        `external_ids:subnet_id=${v4.id}`,
      ]),
      /dns_server=\{192\.0\.2\.54\}/,
    );
    const subnets = await json<{ ID: string }[]>(["subnet", "list", "--network", net.id]);
    assert.deepEqual(subnets.map((s) => s.ID).sort(), [v4.id, v6.id].sort());
    const bad = await refused([
      "subnet",
      "create",
      "bad",
      "--network",
      "dhcp-net",
      "--subnet-range",
      "10.2.0.0/33",
    ]);
    assert.match(bad, /is not a recognized CIDR/);
    const overlap = await refused([
      "subnet",
      "create",
      "dup",
      "--network",
      "dhcp-net",
      "--subnet-range",
      "10.1.0.128/25",
    ]);
    assert.match(overlap, /overlaps with another subnet/);
  });

  it("creates ports with addresses of ours and refuses what Neutron refuses", async () => {
    const port = await json<{
      id: string;
      mac_address: string;
      fixed_ips: { ip_address: string; subnet_id: string }[];
      status: string;
      security_group_ids: string[];
    }>(["port", "create", "web", "--network", "dhcp-net"]);
    assert.match(port.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    assert.equal(port.status, "DOWN");
    assert.equal(port.fixed_ips.length, 2);
    const v4 = port.fixed_ips.find((f) => f.ip_address.startsWith("10.1.0."))!;
    const v6 = port.fixed_ips.find((f) => f.ip_address.startsWith("fd00:1::"))!;
    // SLAAC: EUI-64 of the MAC.
    const b = port.mac_address.split(":");
    const eui =
      `fd00:1::${(parseInt(b[0]!, 16) ^ 2).toString(16)}${b[1]}:${b[2]}ff:fe${b[3]}:${b[4]}${b[5]}`.replace(
        /:0+([0-9a-f])/g,
        ":$1",
      );
    assert.equal(v6.ip_address, eui);
    assert.equal(port.security_group_ids.length, 1, "the project's default group");
    const lsp = await nbctl([
      "--bare",
      "--columns=addresses,port_security,external_ids",
      "list",
      "Logical_Switch_Port",
      port.id,
    ]);
    assert.match(
      lsp,
      new RegExp(`${port.mac_address} ${v4.ip_address.replace(/\./g, "\\.")} ${v6.ip_address}`),
    );
    assert.match(lsp, /neutron:port_name=web/);
    assert.match(
      lsp,
      new RegExp(`neutron:cidrs=${v4.ip_address.replace(/\./g, "\\.")}/24 ${v6.ip_address}/64`),
    );
    assert.match(await nbctl(["show"]), new RegExp(`port ${port.id} \\(aka web\\)`));
    // An address no port holds yet (the service picks its own at random).
    const held = (
      await json<{ "Fixed IP Addresses": { ip_address: string }[] }[]>([
        "port",
        "list",
        "--network",
        "dhcp-net",
      ])
    ).flatMap((p) => p["Fixed IP Addresses"].map((f) => f.ip_address));
    const free = Array.from({ length: 30 }, (_, i) => `10.1.0.${70 + i}`).find(
      (a) => !held.includes(a),
    )!;
    const pinned = await json<{ fixed_ips: { ip_address: string }[] }>([
      "port",
      "create",
      "pinned",
      "--network",
      "dhcp-net",
      "--fixed-ip",
      `subnet=v4,ip-address=${free}`,
    ]);
    assert.equal(pinned.fixed_ips[0]!.ip_address, free);
    const taken = await refused([
      "port",
      "create",
      "again",
      "--network",
      "dhcp-net",
      "--fixed-ip",
      `subnet=v4,ip-address=${free}`,
    ]);
    assert.match(taken, /409/);
    assert.ok(taken.includes(`IP address ${free} already allocated`), taken);
    const mac = await refused([
      "port",
      "create",
      "samemac",
      "--network",
      "dhcp-net",
      "--mac-address",
      port.mac_address,
    ]);
    assert.match(mac, /The mac address .* is in use/);
    // --long, set and unset.
    const long = await json<Record<string, unknown>[]>([
      "port",
      "list",
      "--long",
      "--network",
      "dhcp-net",
    ]);
    assert.equal(long.length, 2);
    assert.ok(long.every((p) => p["Security Groups"] !== undefined));
    await ok([
      "port",
      "set",
      "web",
      "--name",
      "www",
      "--host",
      "node1",
      "--allowed-address",
      "ip-address=10.1.0.200",
    ]);
    const set = await json<{
      name: string;
      binding_host_id: string;
      allowed_address_pairs: { ip_address: string }[];
    }>(["port", "show", port.id]);
    assert.equal(set.name, "www");
    assert.equal(set.binding_host_id, "node1");
    assert.equal(set.allowed_address_pairs[0]!.ip_address, "10.1.0.200");
    assert.match(
      await nbctl(["get", "Logical_Switch_Port", port.id, "options:requested-chassis"]),
      /node1/,
    );
    await ok([
      "port",
      "unset",
      "www",
      "--allowed-address",
      // The pair as shown: its MAC is the port's when none was given (as Neutron).
      `ip-address=10.1.0.200,mac-address=${port.mac_address}`,
    ]);
    assert.deepEqual(
      (await json<{ allowed_address_pairs: unknown[] }>(["port", "show", port.id]))
        .allowed_address_pairs,
      [],
    );
    // In use: network and subnet stay while ports hold addresses.
    assert.match(await refused(["network", "delete", "dhcp-net"]), /ports still in use/);
    assert.match(await refused(["subnet", "delete", "v4"]), /IP allocation from this subnet/);
    assert.match(
      await refused(["port", "show", "00000000-0000-0000-0000-000000000000"]),
      /No Port found/,
    );
    await ok(["port", "delete", "www", "pinned"]);
  });

  it("makes provider VLAN networks with a localnet port, one per VLAN", async () => {
    const net = await json<{
      id: string;
      "provider:segmentation_id": number;
      "provider:network_type": string;
      mtu: number;
    }>(["network", "create", "vlan100", ...VLAN_100]);
    assert.equal(net["provider:network_type"], "vlan");
    assert.equal(net["provider:segmentation_id"], 100);
    assert.equal(net.mtu, 1500);
    const localnet = await nbctl([
      "--bare",
      "--columns=name,type,tag_request,options",
      "find",
      "Logical_Switch_Port",
      "type=localnet",
    ]);
    assert.match(localnet, /provnet-[0-9a-f-]{36}/);
    assert.match(localnet, /network_name=physnet1/);
    assert.match(localnet, /\b100\b/);
    const again = await refused(["network", "create", "vlan100b", ...VLAN_100]);
    assert.match(again, /The VLAN 100 on physical network physnet1 is in use/);
    await ok(["network", "delete", "vlan100"]);
    assert.equal(
      (
        await nbctl(["--bare", "--columns=name", "find", "Logical_Switch_Port", "type=localnet"])
      ).trim(),
      "",
    );
  });

  it("creates in bulk and pages through the SDK", async () => {
    const net = await json<{ id: string }>(["network", "create", "sdk-net"]);
    await ok([
      "subnet",
      "create",
      "sdk-v4",
      "--network",
      "sdk-net",
      "--subnet-range",
      "10.3.0.0/24",
    ]);
    const script = m.path("sdk.py");
    await writeFile(script, SDK_SCRIPT);
    const r = await run(
      "ip",
      [
        "netns",
        "exec",
        m.namespace,
        "/usr/bin/python3",
        script,
        TOKEN,
        m.path("data/pki/cacert.pem"),
        net.id,
      ],
      { timeoutMs: 60_000 },
    );
    const out = JSON.parse(r.stdout) as { made: string[]; paged: string[] };
    assert.equal(out.made.length, 3);
    assert.deepEqual([...out.paged].sort(), [...out.made].sort());
    const listed = await json<{ Name: string }[]>(["port", "list", "--network", "sdk-net"]);
    assert.deepEqual(listed.map((p) => p.Name).sort(), ["bulk0", "bulk1", "bulk2"]);
  });
});
