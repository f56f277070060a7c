/**
 * The Networking API over a real NB ovsdb-server, driven in-process
 * (fastify's injection, no port): two API servers, each with its own
 * client and replica as two members' services have, and callers of four
 * kinds from a stand-in authenticator (the token names the caller). What
 * the `openstack` CLI cannot show is checked here: project scoping, bulk
 * all-or-nothing, read-after-write, pages and their links, bad input that
 * leaves NB unchanged, DHCP rows as ports and subnets change, and two
 * servers allocating on one subnet at once, putting one subnet on two
 * routers at once, or giving one fixed address two floating IPs at once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ADMIN_ROLE,
  effectiveRoles,
  MEMBER_ROLE,
  READER_ROLE,
  type Caller,
} from "../../src/openstack/auth/caller.js";
import { unauthorized } from "../../src/openstack/auth/plugins.js";
import { NB_SELECTION, type Backend } from "../../src/openstack/backend.js";
import { buildApiServer, type ApiServer } from "../../src/openstack/http.js";
import { networkingApi } from "../../src/openstack/networking/api.js";
import { OvsdbClient, Replica } from "../../src/ovsdb/index.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { SCHEMAS, startStandalone, type OvsdbServerHandle } from "../helpers/ovsdb-server.js";
import { injectCall } from "../helpers/openstack-api.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

const CALLERS: Record<string, Caller> = {
  admin: {
    userId: "u0",
    userName: "admin",
    projectId: "p-admin",
    projectName: "admin",
    roles: effectiveRoles([ADMIN_ROLE]),
  },
  alice: {
    userId: "u1",
    userName: "alice",
    projectId: "p-a",
    projectName: "a",
    roles: effectiveRoles([MEMBER_ROLE]),
  },
  bob: {
    userId: "u2",
    userName: "bob",
    projectId: "p-b",
    projectName: "b",
    roles: effectiveRoles([MEMBER_ROLE]),
  },
  reader: {
    userId: "u3",
    userName: "rita",
    projectId: "p-a",
    projectName: "a",
    roles: effectiveRoles([READER_ROLE]),
  },
};

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface Server {
  app: ApiServer;
  nb: OvsdbClient<OvnNorthboundDatabase>;
  replica: Replica<OvnNorthboundDatabase>;
}

let dir: string;
let ovsdb: OvsdbServerHandle;
const servers: Server[] = [];

async function apiServer(remote: string, tls: { key: string; cert: string }): Promise<Server> {
  const nb = await OvsdbClient.connect<OvnNorthboundDatabase>({
    remotes: remote,
    database: "OVN_Northbound",
    leaderOnly: false,
  });
  const replica = await Replica.start(nb, NB_SELECTION);
  // No state database here: no cluster settings, so Neutron's default quotas.
  // No SB either: no chassis, so floating IPs are centralised.
  const noRows = { lookup: () => undefined, get: () => undefined, values: () => [] };
  const sbReplica = { table: () => noRows };
  const backend = {
    nb,
    nbReplica: replica,
    sbReplica,
    config: () => undefined,
  } as unknown as Backend;
  const auth = {
    authenticate: (token: string | undefined) =>
      token && CALLERS[token] ? Promise.resolve(CALLERS[token]) : Promise.reject(unauthorized()),
  };
  const app = await buildApiServer({
    api: networkingApi({ backend, auth, address: "127.0.0.1" }),
    host: "127.0.0.1",
    port: 9696,
    tls,
    log: () => undefined,
  });
  return { app, nb, replica };
}

function call(
  who: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  url: string,
  body?: unknown,
  server = 0,
): Promise<Answer> {
  return injectCall(servers[server]!.app, who, method, url, body);
}

async function created<T = Record<string, unknown>>(
  who: string,
  url: string,
  body: unknown,
  server = 0,
): Promise<T> {
  const r = await call(who, "POST", url, body, server);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return Object.values(r.body)[0] as T;
}

function errorOf(a: Answer): { type: string; message: string } {
  return (a.body as { NeutronError: { type: string; message: string } }).NeutronError;
}

/** Every row of the tables the API writes, read from NB itself. */
async function nbDump(): Promise<string> {
  const tables = [
    "Logical_Switch",
    "Logical_Switch_Port",
    "DHCP_Options",
    "Port_Group",
    "ACL",
    "Logical_Router",
    "Logical_Router_Port",
    "Logical_Router_Static_Route",
  ] as const;
  const out: Record<string, unknown> = {};
  for (const t of tables) {
    const rows = await servers[0]!.nb.select(t, [true]);
    out[t] = rows
      .map((r) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Map ? [...v].sort() : v)))
      .sort();
  }
  return JSON.stringify(out);
}

before(async () => {
  dir = await makeTempDir("netapi");
  ovsdb = await startStandalone({ dir, schemaFile: SCHEMAS.northbound });
  const ca = await createCa();
  const pair = await issueCertificate({ ca, member: "node1", service: "openstack-api" });
  const tls = { key: pair.keyPem, cert: pair.certPem };
  servers.push(await apiServer(ovsdb.unixRemote, tls), await apiServer(ovsdb.unixRemote, tls));
});

after(async () => {
  for (const s of servers) {
    await s.app.close();
    s.replica.close();
    s.nb.close();
  }
  await ovsdb?.stop();
  if (dir) await removeDir(dir);
});

/**
 * An admin's external network on `extCidr`, and `who`'s network on
 * `innerCidr` behind `who`'s router with its gateway there: where floating
 * IPs come from and go to.
 */
async function behindRouter(who: string, extCidr: string, innerCidr: string) {
  const ext = await created<{ id: string }>("admin", "/v2.0/networks", {
    network: { name: `ext-${extCidr}`, "router:external": true },
  });
  await created("admin", "/v2.0/subnets", {
    subnet: { network_id: ext.id, cidr: extCidr, enable_dhcp: false },
  });
  const inner = await created<{ id: string }>(who, "/v2.0/networks", {
    network: { name: `in-${innerCidr}` },
  });
  const innerSub = await created<{ id: string }>(who, "/v2.0/subnets", {
    subnet: { network_id: inner.id, cidr: innerCidr },
  });
  const router = await created<{ id: string }>(who, "/v2.0/routers", {
    router: { name: `r-${innerCidr}`, external_gateway_info: { network_id: ext.id } },
  });
  const added = await call(who, "PUT", `/v2.0/routers/${router.id}/add_router_interface`, {
    subnet_id: innerSub.id,
  });
  assert.equal(added.status, 200, JSON.stringify(added.body));
  return { ext, inner, router };
}

describe("the Networking API over NB", () => {
  it("answers a GET right after each write with what was written", async () => {
    for (let i = 0; i < 20; i++) {
      const net = await created<{ id: string }>("admin", "/v2.0/networks", {
        network: { name: `raw-${i}` },
      });
      const shown = await call("admin", "GET", `/v2.0/networks/${net.id}`);
      assert.equal(shown.status, 200);
      // Lists are answered from a copy while nothing changes: a write is seen at once.
      const listed = (await call("admin", "GET", "/v2.0/networks?fields=id")).body.networks;
      assert.ok((listed as { id: string }[]).some((n) => n.id === net.id));
      const renamed = await call("admin", "PUT", `/v2.0/networks/${net.id}`, {
        network: { name: `r-${i}` },
      });
      assert.equal((renamed.body.network as { revision_number: number }).revision_number, 2);
      assert.equal(
        ((await call("admin", "GET", `/v2.0/networks/${net.id}`)).body.network as { name: string })
          .name,
        `r-${i}`,
      );
      assert.equal((await call("admin", "DELETE", `/v2.0/networks/${net.id}`)).status, 204);
      assert.equal((await call("admin", "GET", `/v2.0/networks/${net.id}`)).status, 404);
      const after = (await call("admin", "GET", "/v2.0/networks?fields=id")).body.networks;
      assert.ok(!(after as { id: string }[]).some((n) => n.id === net.id));
    }
  });

  it("keeps each project to its own resources and shared networks; readers only read", async () => {
    const mine = await created<{ id: string; project_id: string }>("alice", "/v2.0/networks", {
      network: { name: "alice-net" },
    });
    assert.equal(mine.project_id, "p-a");
    const shared = await created<{ id: string }>("admin", "/v2.0/networks", {
      network: { name: "public", shared: true },
    });
    // Bob sees neither Alice's network nor a way to it, but sees the shared one.
    assert.equal((await call("bob", "GET", `/v2.0/networks/${mine.id}`)).status, 404);
    assert.equal(
      errorOf(await call("bob", "PUT", `/v2.0/networks/${mine.id}`, { network: { name: "x" } }))
        .type,
      "NetworkNotFound",
    );
    const bobs = (await call("bob", "GET", "/v2.0/networks")).body.networks as { id: string }[];
    assert.ok(!bobs.some((n) => n.id === mine.id));
    assert.ok(bobs.some((n) => n.id === shared.id));
    const del = await call("bob", "DELETE", `/v2.0/networks/${shared.id}`);
    assert.equal(del.status, 403);
    // A reader of Alice's project sees her network and changes nothing.
    assert.equal((await call("reader", "GET", `/v2.0/networks/${mine.id}`)).status, 200);
    assert.equal(
      (await call("reader", "PUT", `/v2.0/networks/${mine.id}`, { network: { name: "y" } })).status,
      403,
    );
    assert.equal(
      (await call("reader", "POST", "/v2.0/networks", { network: { name: "z" } })).status,
      403,
    );
    // Members cannot make resources for another project, nor set admin-only attributes.
    assert.equal(
      (await call("alice", "POST", "/v2.0/networks", { network: { project_id: "p-b" } })).status,
      403,
    );
    assert.equal(
      (
        await call("alice", "POST", "/v2.0/networks", {
          network: { "provider:network_type": "geneve" },
        })
      ).status,
      403,
    );
    // Ports of a shared network: Bob makes one there, Alice does not see it.
    await created("admin", "/v2.0/subnets", {
      subnet: { network_id: shared.id, cidr: "192.0.2.0/24", ip_version: 4 },
    });
    const bobPort = await created<{ id: string }>("bob", "/v2.0/ports", {
      port: { network_id: shared.id },
    });
    assert.equal((await call("alice", "GET", `/v2.0/ports/${bobPort.id}`)).status, 404);
    assert.equal((await call("admin", "GET", `/v2.0/ports/${bobPort.id}`)).status, 200);
    assert.equal(
      errorOf(
        await call("admin", "PUT", `/v2.0/networks/${shared.id}`, { network: { shared: false } }),
      ).type,
      "InvalidSharedSetting",
    );
    assert.equal((await call("unknown", "GET", "/v2.0/networks")).status, 401);
  });

  it("creates in bulk all or nothing", async () => {
    const net = await created<{ id: string }>("admin", "/v2.0/networks", {
      network: { name: "bulk" },
    });
    const subnet = await created<{ id: string }>("admin", "/v2.0/subnets", {
      subnet: { network_id: net.id, cidr: "10.20.0.0/24" },
    });
    const r = await call("admin", "POST", "/v2.0/ports", {
      ports: [1, 2, 3].map((i) => ({ network_id: net.id, name: `b${i}` })),
    });
    assert.equal(r.status, 201);
    const ports = r.body.ports as { fixed_ips: { ip_address: string }[] }[];
    assert.equal(ports.length, 3);
    assert.equal(new Set(ports.map((p) => p.fixed_ips[0]!.ip_address)).size, 3);
    const before = await nbDump();
    const clash = await call("admin", "POST", "/v2.0/ports", {
      ports: [
        { network_id: net.id, fixed_ips: [{ subnet_id: subnet.id, ip_address: "10.20.0.50" }] },
        { network_id: net.id, fixed_ips: [{ ip_address: "10.20.0.50" }] },
      ],
    });
    assert.equal(clash.status, 409);
    assert.equal(errorOf(clash).type, "IpAddressInUse");
    assert.equal(await nbDump(), before);
  });

  it("lists with filters, tags, sorting, fields and pages linked both ways", async () => {
    for (const [name, tags] of [
      ["page-a", ["red"]],
      ["page-b", ["red", "blue"]],
      ["page-c", []],
    ] as const) {
      await created("admin", "/v2.0/networks", { network: { name, tags } });
    }
    const names = async (q: string) =>
      ((await call("admin", "GET", `/v2.0/networks?${q}`)).body.networks as { name: string }[]).map(
        (n) => n.name,
      );
    assert.deepEqual(await names("name=page-a&name=page-c&sort_key=name"), ["page-a", "page-c"]);
    assert.deepEqual(await names("tags=red&sort_key=name&sort_dir=desc"), ["page-b", "page-a"]);
    assert.deepEqual(await names("tags-any=blue"), ["page-b"]);
    assert.deepEqual(await names("not-tags=red&name=page-a&name=page-b&name=page-c"), ["page-c"]);
    const only = (await call("admin", "GET", "/v2.0/networks?name=page-a&fields=id&fields=name"))
      .body.networks as object[];
    assert.deepEqual(Object.keys(only[0]!).sort(), ["id", "name"]);
    assert.equal((await call("admin", "GET", "/v2.0/networks?colour=red")).status, 400);
    // Pages of two, sorted by name, followed through their links.
    const seen: string[] = [];
    let url: string | undefined =
      "/v2.0/networks?limit=2&sort_key=name&name=page-a&name=page-b&name=page-c";
    let previous: string | undefined;
    while (url) {
      const page = await call("admin", "GET", url);
      seen.push(...(page.body.networks as { name: string }[]).map((n) => n.name));
      const links = (page.body.networks_links ?? []) as { rel: string; href: string }[];
      previous = links.find((l) => l.rel === "previous")?.href ?? previous;
      const next = links.find((l) => l.rel === "next")?.href;
      url = next ? next.replace(/^https:\/\/[^/]+/, "") : undefined;
    }
    assert.deepEqual(seen, ["page-a", "page-b", "page-c"]);
    assert.ok(previous);
    const back = await call("admin", "GET", previous.replace(/^https:\/\/[^/]+/, ""));
    assert.deepEqual(
      (back.body.networks as { name: string }[]).map((n) => n.name),
      ["page-a", "page-b"],
    );
  });

  it("refuses bad input with a NeutronError and leaves NB as it was", async () => {
    const net = await created<{ id: string }>("admin", "/v2.0/networks", {
      network: { name: "bad-input" },
    });
    await created("admin", "/v2.0/subnets", {
      subnet: { network_id: net.id, cidr: "10.30.0.0/24" },
    });
    const before = await nbDump();
    const cases: [string, string, unknown, number][] = [
      ["malformed JSON", "/v2.0/networks", '{"network": {', 400],
      ["wrong type", "/v2.0/networks", { network: { name: 5 } }, 400],
      ["unknown attribute", "/v2.0/networks", { network: { colour: "red" } }, 400],
      ["long name", "/v2.0/networks", { network: { name: "n".repeat(256) } }, 400],
      ["bad mtu", "/v2.0/networks", { network: { mtu: "big" } }, 400],
      ["mtu above geneve's", "/v2.0/networks", { network: { mtu: 9000 } }, 400],
      [
        "bad network type",
        "/v2.0/networks",
        { network: { "provider:network_type": "vxlan" } },
        400,
      ],
      [
        "vlan out of range",
        "/v2.0/networks",
        {
          network: {
            "provider:network_type": "vlan",
            "provider:physical_network": "p",
            "provider:segmentation_id": 4095,
          },
        },
        400,
      ],
      ["bad CIDR", "/v2.0/subnets", { subnet: { network_id: net.id, cidr: "10.0.0.0/33" } }, 400],
      [
        "host bits set",
        "/v2.0/subnets",
        { subnet: { network_id: net.id, cidr: "10.40.0.1/24" } },
        400,
      ],
      [
        "overlapping CIDR",
        "/v2.0/subnets",
        { subnet: { network_id: net.id, cidr: "10.30.0.128/25" } },
        400,
      ],
      [
        "gateway outside",
        "/v2.0/subnets",
        { subnet: { network_id: net.id, cidr: "10.41.0.0/24", gateway_ip: "10.42.0.1" } },
        400,
      ],
      [
        "slaac without /64",
        "/v2.0/subnets",
        {
          subnet: {
            network_id: net.id,
            cidr: "fd00:9::/80",
            ip_version: 6,
            ipv6_address_mode: "slaac",
          },
        },
        400,
      ],
      [
        "bad MAC",
        "/v2.0/ports",
        { port: { network_id: net.id, mac_address: "fa:16:3e:zz:00:01" } },
        400,
      ],
      [
        "multicast MAC",
        "/v2.0/ports",
        { port: { network_id: net.id, mac_address: "01:00:5e:00:00:01" } },
        400,
      ],
      [
        "bad IP",
        "/v2.0/ports",
        { port: { network_id: net.id, fixed_ips: [{ ip_address: "10.30.0.300" }] } },
        400,
      ],
      [
        "IP in no subnet",
        "/v2.0/ports",
        { port: { network_id: net.id, fixed_ips: [{ ip_address: "10.99.0.5" }] } },
        400,
      ],
      [
        "the gateway's address",
        "/v2.0/ports",
        { port: { network_id: net.id, fixed_ips: [{ ip_address: "10.30.0.1" }] } },
        409,
      ],
      ["unknown network", "/v2.0/ports", { port: { network_id: "no-such-net" } }, 404],
      [
        "unknown security group",
        "/v2.0/ports",
        { port: { network_id: net.id, security_groups: ["nope"] } },
        404,
      ],
      [
        "DHCP option OVN lacks",
        "/v2.0/ports",
        {
          port: {
            network_id: net.id,
            extra_dhcp_opts: [{ opt_name: "nis-domain", opt_value: "x" }],
          },
        },
        400,
      ],
      ["both single and bulk", "/v2.0/networks", { network: {}, networks: [{}] }, 400],
      ["no body", "/v2.0/networks", undefined, 400],
    ];
    for (const [what, url, body, status] of cases) {
      const r = await call("admin", "POST", url, body);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      const e = errorOf(r);
      assert.ok(e.type && e.message, `${what}: a NeutronError with type and message`);
    }
    const huge = await call("admin", "POST", "/v2.0/networks", {
      network: { name: "x", description: "d".repeat(9 * 1024 * 1024) },
    });
    assert.equal(huge.status, 413);
    assert.equal(await nbDump(), before);
    // Unicode is a name like any other.
    const named = await created<{ name: string }>("admin", "/v2.0/networks", {
      network: { name: "réseau 网络 🌐" },
    });
    assert.equal(named.name, "réseau 网络 🌐");
  });

  it("wires ports to their subnets' DHCP rows and follows subnet changes", async () => {
    const net = await created<{ id: string }>("admin", "/v2.0/networks", {
      network: { name: "dhcp" },
    });
    const subnet = await created<{ id: string; allocation_pools: unknown; gateway_ip: string }>(
      "admin",
      "/v2.0/subnets",
      {
        subnet: {
          network_id: net.id,
          cidr: "10.50.0.0/24",
          dns_nameservers: ["192.0.2.53"],
          host_routes: [{ destination: "10.60.0.0/16", nexthop: "10.50.0.254" }],
        },
      },
    );
    assert.equal(subnet.gateway_ip, "10.50.0.1");
    assert.deepEqual(subnet.allocation_pools, [{ start: "10.50.0.2", end: "10.50.0.254" }]);
    const v6 = await created<{ id: string }>("admin", "/v2.0/subnets", {
      subnet: {
        network_id: net.id,
        cidr: "fd00:50::/64",
        ip_version: 6,
        ipv6_address_mode: "dhcpv6-stateful",
        ipv6_ra_mode: "dhcpv6-stateful",
      },
    });
    const port = await created<{
      id: string;
      mac_address: string;
      fixed_ips: { subnet_id: string; ip_address: string }[];
    }>("admin", "/v2.0/ports", { port: { network_id: net.id } });
    assert.match(port.mac_address, /^fa:16:3e(:[0-9a-f]{2}){3}$/);
    assert.deepEqual(port.fixed_ips.map((f) => f.subnet_id).sort(), [subnet.id, v6.id].sort());
    const replica = servers[0]!.replica;
    const dhcpRow = (id: string) =>
      [...replica.table("DHCP_Options").values()].find(
        (r) => r.external_ids.get("subnet_id") === id && !r.external_ids.has("port_id"),
      )!;
    const lsp = () => replica.table("Logical_Switch_Port").lookup({ name: port.id })!;
    const v4 = dhcpRow(subnet.id);
    assert.deepEqual(Object.fromEntries([...v4.options].filter(([k]) => k !== "server_mac")), {
      server_id: "10.50.0.1",
      router: "10.50.0.1",
      lease_time: "43200",
      mtu: "1442",
      dns_server: "{192.0.2.53}",
      classless_static_route: "{10.60.0.0/16,10.50.0.254, 0.0.0.0/0,10.50.0.1}",
    });
    assert.equal(v4.external_ids.get("neutron:revision_number"), "1");
    assert.equal(lsp().dhcpv4_options, v4._uuid);
    assert.equal(lsp().dhcpv6_options, dhcpRow(v6.id)._uuid);
    assert.equal(lsp().external_ids.get("neutron:network_name"), `neutron-${net.id}`);
    // The network's own ports (here a DHCP agent's) get no DHCP, as under ML2/OVN.
    const agentPort = await created<{ id: string }>("admin", "/v2.0/ports", {
      port: { network_id: net.id, device_owner: "network:dhcp" },
    });
    const agentLsp = () => replica.table("Logical_Switch_Port").lookup({ name: agentPort.id })!;
    assert.equal(agentLsp().dhcpv4_options, undefined);
    assert.equal(agentLsp().dhcpv6_options, undefined);
    // A changed subnet changes the options; DHCP off unhooks the ports.
    await call("admin", "PUT", `/v2.0/subnets/${subnet.id}`, {
      subnet: { dns_nameservers: ["192.0.2.54"] },
    });
    assert.equal(dhcpRow(subnet.id).options.get("dns_server"), "{192.0.2.54}");
    assert.equal(dhcpRow(subnet.id).options.get("server_mac"), v4.options.get("server_mac"));
    await call("admin", "PUT", `/v2.0/subnets/${subnet.id}`, { subnet: { enable_dhcp: false } });
    assert.equal(lsp().dhcpv4_options, undefined);
    await call("admin", "PUT", `/v2.0/subnets/${subnet.id}`, { subnet: { enable_dhcp: true } });
    assert.equal(lsp().dhcpv4_options, v4._uuid);
    assert.equal(agentLsp().dhcpv4_options, undefined, "rewiring leaves the network's ports out");
    assert.equal((await call("admin", "DELETE", `/v2.0/ports/${agentPort.id}`)).status, 204);
    // Options of the port's own get a row of its own; an MTU change reaches it too.
    const own = await call("admin", "PUT", `/v2.0/ports/${port.id}`, {
      port: { extra_dhcp_opts: [{ opt_name: "bootfile-name", opt_value: "pxelinux.0" }] },
    });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    const ownRow = replica.table("DHCP_Options").get(lsp().dhcpv4_options!)!;
    assert.equal(ownRow.external_ids.get("port_id"), port.id);
    assert.equal(ownRow.options.get("bootfile_name"), '"pxelinux.0"');
    await call("admin", "PUT", `/v2.0/networks/${net.id}`, { network: { mtu: 1400 } });
    assert.equal(dhcpRow(subnet.id).options.get("mtu"), "1400");
    assert.equal(
      replica.table("DHCP_Options").get(lsp().dhcpv4_options!)!.options.get("mtu"),
      "1400",
    );
    // In use: the subnet and the network stay.
    assert.equal(
      errorOf(await call("admin", "DELETE", `/v2.0/subnets/${subnet.id}`)).type,
      "SubnetInUse",
    );
    assert.equal(
      errorOf(await call("admin", "DELETE", `/v2.0/networks/${net.id}`)).type,
      "NetworkInUse",
    );
    assert.equal((await call("admin", "DELETE", `/v2.0/ports/${port.id}`)).status, 204);
    assert.equal((await call("admin", "DELETE", `/v2.0/networks/${net.id}`)).status, 204);
    assert.equal(dhcpRow(subnet.id), undefined);
  });

  it("runs out of addresses with IpAddressGenerationFailure", async () => {
    const net = await created<{ id: string }>("admin", "/v2.0/networks", {
      network: { name: "small" },
    });
    await created("admin", "/v2.0/subnets", {
      subnet: { network_id: net.id, cidr: "10.70.0.0/29" },
    });
    const addresses = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const p = await created<{ fixed_ips: { ip_address: string }[] }>("admin", "/v2.0/ports", {
        port: { network_id: net.id },
      });
      addresses.add(p.fixed_ips[0]!.ip_address);
    }
    assert.deepEqual([...addresses].sort(), [
      "10.70.0.2",
      "10.70.0.3",
      "10.70.0.4",
      "10.70.0.5",
      "10.70.0.6",
    ]);
    const full = await call("admin", "POST", "/v2.0/ports", { port: { network_id: net.id } });
    assert.equal(full.status, 409);
    assert.equal(errorOf(full).type, "IpAddressGenerationFailure");
  });

  it("never gives one address twice when two servers allocate on one subnet at once", async () => {
    const net = await created<{ id: string }>("admin", "/v2.0/networks", {
      network: { name: "race" },
    });
    await created("admin", "/v2.0/subnets", {
      subnet: { network_id: net.id, cidr: "10.80.0.0/22" },
    });
    const perServer = 150;
    const answers = await Promise.all(
      [0, 1].flatMap((server) =>
        Array.from({ length: perServer }, () =>
          call("admin", "POST", "/v2.0/ports", { port: { network_id: net.id } }, server),
        ),
      ),
    );
    const made = answers
      .filter((a) => a.status === 201)
      .map((a) => a.body.port as { id: string; fixed_ips: { ip_address: string }[] });
    assert.equal(
      made.length,
      2 * perServer,
      JSON.stringify(answers.find((a) => a.status !== 201)?.body),
    );
    const ips = made.map((p) => p.fixed_ips[0]!.ip_address);
    assert.equal(new Set(ips).size, ips.length, "no address handed out twice");
    // Server 1 sees server 0's writes once its replica has them: read-after-write
    // is promised on the server that wrote, so wait (bounded) for the other.
    const expected = made.map((p) => p.id).sort();
    const listedIds = async () =>
      (
        (await call("admin", "GET", `/v2.0/ports?network_id=${net.id}&fields=id`, undefined, 1))
          .body.ports as { id: string }[]
      )
        .map((p) => p.id)
        .sort();
    await waitFor("server 1 to list every acknowledged port", async () =>
      (await listedIds()).length === expected.length ? true : undefined,
    ).catch(() => undefined);
    assert.deepEqual(await listedIds(), expected);
  });

  it("puts a subnet on one router only when two servers add it to two routers at once", async () => {
    const net = await created<{ id: string }>("alice", "/v2.0/networks", {
      network: { name: "routed" },
    });
    const subnet = await created<{ id: string }>("alice", "/v2.0/subnets", {
      subnet: { network_id: net.id, cidr: "10.77.0.0/24" },
    });
    const routers = [
      await created<{ id: string }>("alice", "/v2.0/routers", { router: { name: "ra" } }),
      await created<{ id: string }>("alice", "/v2.0/routers", { router: { name: "rb" } }, 1),
    ];
    // Routers are scoped like everything else: bob cannot see alice's, a reader makes none.
    assert.equal((await call("bob", "GET", `/v2.0/routers/${routers[0]!.id}`)).status, 404);
    const foreign = await call(
      "bob",
      "PUT",
      `/v2.0/routers/${routers[0]!.id}/add_router_interface`,
      {
        subnet_id: subnet.id,
      },
    );
    assert.equal(foreign.status, 404);
    assert.equal(
      (await call("reader", "POST", "/v2.0/routers", { router: { name: "x" } })).status,
      403,
    );
    await waitFor(
      "server 1 to see both routers",
      async () =>
        (await call("alice", "GET", `/v2.0/routers/${routers[0]!.id}`, undefined, 1)).status ===
        200,
    );

    const answers = await Promise.all(
      routers.map((r, server) =>
        call(
          "alice",
          "PUT",
          `/v2.0/routers/${r.id}/add_router_interface`,
          { subnet_id: subnet.id },
          server,
        ),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status).sort(),
      [200, 400],
      JSON.stringify(answers.map((a) => a.body)),
    );
    const loser = answers.find((a) => a.status === 400)!;
    assert.match(errorOf(loser).message, new RegExp(`Subnet ${subnet.id} is already on router`));
    const winner = answers.find((a) => a.status === 200)!.body as { id: string; port_id: string };
    // NB holds exactly one interface: one router port, one switch port of type router.
    const lrps = await servers[0]!.nb.select("Logical_Router_Port", [true]);
    assert.deepEqual(
      lrps.map((p) => p.name),
      [`lrp-${winner.port_id}`],
    );
    const routerLsps = await servers[0]!.nb.select("Logical_Switch_Port", [
      ["type", "==", "router"],
    ]);
    assert.deepEqual(
      routerLsps.map((p) => p.name),
      [winner.port_id],
    );
    const lrs = await servers[0]!.nb.select("Logical_Router", [true]);
    assert.deepEqual(
      lrs.map((lr) => [lr.name, lr.ports.length]).sort(),
      routers.map((r) => [`neutron-${r.id}`, r.id === winner.id ? 1 : 0]).sort(),
    );
    const removed = await call(
      "alice",
      "PUT",
      `/v2.0/routers/${winner.id}/remove_router_interface`,
      {
        subnet_id: subnet.id,
      },
    );
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.deepEqual(removed.body, {
      id: winner.id,
      tenant_id: "p-a",
      project_id: "p-a",
      port_id: winner.port_id,
      subnet_id: subnet.id,
      subnet_ids: [subnet.id],
      network_id: net.id,
    });
    for (const r of routers) {
      assert.equal((await call("alice", "DELETE", `/v2.0/routers/${r.id}`)).status, 204);
    }
    assert.deepEqual(await servers[0]!.nb.select("Logical_Router_Port", [true]), []);
  });

  it("gives a fixed address one floating IP, and keeps a gateway a floating IP needs, with two servers at once", async () => {
    const { ext, inner, router } = await behindRouter("admin", "198.51.100.0/24", "10.88.0.0/24");
    const vm = await created<{ id: string; fixed_ips: { ip_address: string }[] }>(
      "admin",
      "/v2.0/ports",
      { port: { network_id: inner.id, name: "fip-vm" } },
    );
    const fips = [
      await created<{ id: string }>("admin", "/v2.0/floatingips", {
        floatingip: { floating_network_id: ext.id },
      }),
      await created<{ id: string }>("admin", "/v2.0/floatingips", {
        floatingip: { floating_network_id: ext.id },
      }),
    ];
    await waitFor(
      "server 1 to see both floating IPs",
      async () =>
        (await call("admin", "GET", `/v2.0/floatingips/${fips[1]!.id}`, undefined, 1)).status ===
        200,
    );
    const fipNats = async () =>
      (await servers[0]!.nb.select("NAT", [["type", "==", "dnat_and_snat"]])).map(
        (n) => `${n.external_ids.get("neutron:fip_id")}>${n.logical_ip}`,
      );

    const associate = (fip: number, server: number) =>
      call(
        "admin",
        "PUT",
        `/v2.0/floatingips/${fips[fip]!.id}`,
        {
          floatingip: { port_id: vm.id },
        },
        server,
      );
    const both = await Promise.all([associate(0, 0), associate(1, 1)]);
    assert.deepEqual(
      both.map((a) => a.status).sort(),
      [200, 409],
      JSON.stringify(both.map((a) => a.body)),
    );
    assert.equal(
      errorOf(both.find((a) => a.status === 409)!).type,
      "FloatingIPPortAlreadyAssociated",
    );
    const winner = both.findIndex((a) => a.status === 200);
    assert.deepEqual(await fipNats(), [`${fips[winner]!.id}>${vm.fixed_ips[0]!.ip_address}`]);

    // Associating on one server while the other clears the router's gateway: one of them wins.
    const off = await call("admin", "PUT", `/v2.0/floatingips/${fips[winner]!.id}`, {
      floatingip: { port_id: null },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    await waitFor(
      "server 1 to see the floating IP disassociated",
      async () =>
        (
          (await call("admin", "GET", `/v2.0/floatingips/${fips[0]!.id}`, undefined, 1)).body
            .floatingip as { port_id: string | null }
        ).port_id === null &&
        (
          (await call("admin", "GET", `/v2.0/floatingips/${fips[1]!.id}`, undefined, 1)).body
            .floatingip as { port_id: string | null }
        ).port_id === null,
    );
    const [assoc, clear] = await Promise.all([
      associate(0, 0),
      call(
        "admin",
        "PUT",
        `/v2.0/routers/${router.id}`,
        {
          router: { external_gateway_info: null },
        },
        1,
      ),
    ]);
    const lr = (
      await servers[0]!.nb.select("Logical_Router", [["name", "==", `neutron-${router.id}`]])
    )[0]!;
    const hasGateway = (lr.external_ids.get("neutron:gw_port_id") ?? "") !== "";
    if (assoc.status === 200) {
      assert.equal(clear.status, 409, JSON.stringify(clear.body));
      assert.equal(errorOf(clear).type, "RouterExternalGatewayInUseByFloatingIp");
      assert.ok(hasGateway);
      assert.deepEqual(await fipNats(), [`${fips[0]!.id}>${vm.fixed_ips[0]!.ip_address}`]);
    } else {
      assert.equal(assoc.status, 404, JSON.stringify(assoc.body));
      assert.equal(errorOf(assoc).type, "ExternalGatewayForFloatingIPNotFound");
      assert.equal(clear.status, 200, JSON.stringify(clear.body));
      assert.ok(!hasGateway);
      assert.deepEqual(await fipNats(), []);
    }
    for (const f of fips) {
      assert.equal((await call("admin", "DELETE", `/v2.0/floatingips/${f.id}`)).status, 204);
    }
    assert.deepEqual(await fipNats(), []);
    assert.equal(
      (
        await call("admin", "GET", "/v2.0/ports?device_owner=network:floatingip")
      ).body.ports?.toString(),
      "",
    );
  });

  it("associates many floating IPs on one router at once without turning any away", async () => {
    const { ext, inner, router } = await behindRouter("admin", "203.0.113.0/24", "10.87.0.0/24");
    const count = 32;
    const vms = await Promise.all(
      Array.from({ length: count }, () =>
        created<{ id: string; fixed_ips: { ip_address: string }[] }>("admin", "/v2.0/ports", {
          port: { network_id: inner.id },
        }),
      ),
    );
    const fips = await Promise.all(
      vms.map(() =>
        created<{ id: string }>("admin", "/v2.0/floatingips", {
          floatingip: { floating_network_id: ext.id },
        }),
      ),
    );
    await waitFor("server 1 to see every floating IP and port", async () => {
      const listed = await call("admin", "GET", "/v2.0/floatingips?fields=id", undefined, 1);
      const ports = await call(
        "admin",
        "GET",
        `/v2.0/ports?network_id=${inner.id}&fields=id`,
        undefined,
        1,
      );
      return (listed.body.floatingips as unknown[]).length >= count &&
        (ports.body.ports as unknown[]).length >= count + 1
        ? true
        : undefined;
    });
    // Half through each server, all at once: associations on one router share its
    // NAT rows but none needs another's, so each is made at the first or a later try.
    const answers = await Promise.all(
      fips.map((f, i) =>
        call(
          "admin",
          "PUT",
          `/v2.0/floatingips/${f.id}`,
          { floatingip: { port_id: vms[i]!.id } },
          i % 2,
        ),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      answers.map(() => 200),
      JSON.stringify(answers.find((a) => a.status !== 200)?.body),
    );
    const nats = await servers[0]!.nb.select("NAT", [["type", "==", "dnat_and_snat"]]);
    const made = new Map(nats.map((n) => [n.external_ids.get("neutron:fip_id"), n.logical_ip]));
    fips.forEach((f, i) => assert.equal(made.get(f.id), vms[i]!.fixed_ips[0]!.ip_address));
    const [lr] = await servers[0]!.nb.select("Logical_Router", [
      ["name", "==", `neutron-${router.id}`],
    ]);
    assert.equal(lr!.nat.length, count + 1, "every floating IP's row and the SNAT row");
    for (const f of fips) {
      assert.equal((await call("admin", "DELETE", `/v2.0/floatingips/${f.id}`)).status, 204);
    }
  });

  it("keeps floating IPs to their project, on an external network every project may use", async () => {
    const { ext, inner: net, router } = await behindRouter("alice", "192.0.2.0/24", "10.89.0.0/24");
    const port = await created<{ id: string }>("alice", "/v2.0/ports", {
      port: { network_id: net.id },
    });
    const fip = await created<{
      id: string;
      project_id: string;
      status: string;
      router_id: string;
    }>("alice", "/v2.0/floatingips", {
      floatingip: { floating_network_id: ext.id, port_id: port.id },
    });
    assert.equal(fip.project_id, "p-a");
    assert.equal(fip.status, "ACTIVE");
    assert.equal(fip.router_id, router.id);
    // Another project sees none of it, and cannot use alice's port.
    assert.equal((await call("bob", "GET", `/v2.0/floatingips/${fip.id}`)).status, 404);
    assert.deepEqual((await call("bob", "GET", "/v2.0/floatingips")).body, { floatingips: [] });
    const foreign = await call("bob", "POST", "/v2.0/floatingips", {
      floatingip: { floating_network_id: ext.id, port_id: port.id },
    });
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    assert.equal(errorOf(foreign).type, "PortNotFound");
    const readers = await call("reader", "POST", "/v2.0/floatingips", {
      floatingip: { floating_network_id: ext.id },
    });
    assert.equal(readers.status, 403);
    // The floating IP's port belongs to no project: only admins see it among the ports.
    const ports = (who: string) =>
      call(who, "GET", "/v2.0/ports?device_owner=network:floatingip&fields=device_id");
    assert.deepEqual((await ports("alice")).body, { ports: [] });
    assert.deepEqual((await ports("admin")).body, { ports: [{ device_id: fip.id }] });
    assert.equal((await call("alice", "DELETE", `/v2.0/floatingips/${fip.id}`)).status, 204);
    assert.deepEqual((await ports("admin")).body, { ports: [] });
  });
});
