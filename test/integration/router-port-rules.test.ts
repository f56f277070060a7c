/**
 * Neutron's rules for a router's ports and the calls around them, checked
 * against openstack/neutron and served over a real standalone NB and SB:
 * the gateway port belongs to no project; every router port says in its
 * external_ids whether it is the gateway; a router's port keeps its
 * device_owner and device_id while the router holds it; a `network:`
 * device_owner is set only by an admin or the network's project; and
 * `GET /v2.0/quotas/tenant` (and `/project`) names the caller's project.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  ADMIN_ROLE,
  effectiveRoles,
  MEMBER_ROLE,
  type Caller,
} from "../../src/openstack/auth/caller.js";
import {
  inProcessApi,
  startNbSb,
  type InProcessApi,
  type NbSb,
} from "../helpers/in-process-api.js";
import { injectCall, type InjectedAnswer } from "../helpers/openstack-api.js";

function caller(name: string, project: string | undefined, role: string): Caller {
  return {
    userId: `id-${name}`,
    userName: name,
    projectId: project,
    projectName: project,
    roles: effectiveRoles([role]),
  };
}
const CALLERS: Record<string, Caller> = {
  admin: caller("admin", "p-admin", ADMIN_ROLE),
  alice: caller("alice", "p-alice", MEMBER_ROLE),
  // A token scoped to no project (as an unscoped Keystone token is).
  nobody: caller("nobody", undefined, MEMBER_ROLE),
};

interface PortView {
  id: string;
  project_id: string;
  tenant_id: string;
  device_owner: string;
  device_id: string;
  revision_number: number;
}

let databases: NbSb;
let api: InProcessApi;

function call(
  who: string,
  method: "GET" | "POST" | "PUT",
  url: string,
  body?: unknown,
): Promise<InjectedAnswer> {
  return injectCall(api.app, who, method, url, body);
}

async function ok(who: string, method: "GET" | "POST" | "PUT", url: string, body?: unknown) {
  const r = await call(who, method, url, body);
  assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

function message(r: InjectedAnswer): string {
  return (r.body.NeutronError as { message: string }).message;
}

async function port(id: string): Promise<PortView> {
  return (await ok("admin", "GET", `/v2.0/ports/${id}`)).port as PortView;
}

async function network(who: string, name: string, extra: Record<string, unknown> = {}) {
  const net = await ok(who, "POST", "/v2.0/networks", { network: { name, ...extra } });
  return (net.network as { id: string }).id;
}

async function subnet(who: string, networkId: string, cidr: string, extra = {}) {
  const s = await ok(who, "POST", "/v2.0/subnets", {
    subnet: { network_id: networkId, cidr, ip_version: 4, ...extra },
  });
  return (s.subnet as { id: string }).id;
}

let shared: string;
let mine: string;
let routerId: string;
let interfacePort: string;
let gatewayPort: string;

before(async () => {
  databases = await startNbSb("routerports");
  api = await inProcessApi(databases, CALLERS);
  shared = await network("admin", "shared", { shared: true });
  await subnet("admin", shared, "10.50.0.0/24");
  mine = await network("alice", "mine");
  const mySubnet = await subnet("alice", mine, "10.51.0.0/24");
  const ext = await network("admin", "ext", { "router:external": true });
  await subnet("admin", ext, "203.0.113.0/24", { enable_dhcp: false });
  const router = await ok("alice", "POST", "/v2.0/routers", { router: { name: "r" } });
  routerId = (router.router as { id: string }).id;
  const added = await ok("alice", "PUT", `/v2.0/routers/${routerId}/add_router_interface`, {
    subnet_id: mySubnet,
  });
  interfacePort = added.port_id as string;
  const gw = await ok("alice", "PUT", `/v2.0/routers/${routerId}`, {
    router: { external_gateway_info: { network_id: ext } },
  });
  const info = (gw.router as { external_gateway_info: { external_fixed_ips: unknown[] } })
    .external_gateway_info;
  assert.equal(info.external_fixed_ips.length, 1);
  const all = await ok("admin", "GET", `/v2.0/ports?device_id=${routerId}`);
  gatewayPort = (all.ports as PortView[]).find(
    (p) => p.device_owner === "network:router_gateway",
  )!.id;
});

after(async () => {
  await api?.close();
  await databases?.stop();
});

describe("a router's ports, as Neutron has them", () => {
  it("gives the gateway port no project, so its router's project neither sees nor counts it", async () => {
    const gw = await port(gatewayPort);
    assert.equal(gw.project_id, "");
    assert.equal(gw.tenant_id, "");
    assert.equal(gw.device_id, routerId);
    const seen = await ok("alice", "GET", `/v2.0/ports?device_id=${routerId}`);
    assert.deepEqual(
      (seen.ports as PortView[]).map((p) => p.id),
      [interfacePort],
    );
    const details = await ok("alice", "GET", "/v2.0/quotas/p-alice/details");
    assert.equal((details.quota as Record<string, { used: number }>).port!.used, 1);
  });

  it("tags every router port with neutron:is_ext_gw, True only on the gateway", async () => {
    const rows = await databases.nb.select("Logical_Router_Port", [], ["name", "external_ids"]);
    const flag = (id: string) =>
      rows.find((r) => r.name === `lrp-${id}`)?.external_ids.get("neutron:is_ext_gw");
    assert.equal(flag(gatewayPort), "True");
    assert.equal(flag(interfacePort), "False");
  });

  it("keeps a router port's device_owner and device_id while the router holds it", async () => {
    const before = await port(interfacePort);
    const owner = await call("alice", "PUT", `/v2.0/ports/${interfacePort}`, {
      port: { device_owner: "compute:nova" },
    });
    assert.equal(owner.status, 409, JSON.stringify(owner.body));
    assert.equal((owner.body.NeutronError as { type: string }).type, "PortInUse");
    assert.match(message(owner), /device_owner cannot be changed.*router remove port/);
    const device = await call("admin", "PUT", `/v2.0/ports/${interfacePort}`, {
      port: { device_id: "elsewhere" },
    });
    assert.equal(device.status, 409, JSON.stringify(device.body));
    assert.match(message(device), /device_id cannot be changed/);
    const gw = await call("admin", "PUT", `/v2.0/ports/${gatewayPort}`, {
      port: { device_owner: "", device_id: "" },
    });
    assert.equal(gw.status, 409, JSON.stringify(gw.body));
    assert.match(message(gw), /device_owner and device_id .*router unset --external-gateway/);
    // Nothing changed; the values it has already, and other attributes, are accepted.
    assert.deepEqual(await port(interfacePort), before);
    const same = await call("admin", "PUT", `/v2.0/ports/${interfacePort}`, {
      port: { device_owner: before.device_owner, device_id: routerId, name: "if" },
    });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.equal((await port(interfacePort)).device_owner, "network:router_interface");
  });

  it("lets only an admin or the network's project set a network: device_owner", async () => {
    const refused = await call("alice", "POST", "/v2.0/ports", {
      port: { network_id: shared, device_owner: "network:dhcp" },
    });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(
      message(refused),
      /rule:create_port:device_owner.*only an admin or the network's project/,
    );
    const before = await ok("admin", "GET", `/v2.0/ports?network_id=${shared}`);
    assert.equal((before.ports as unknown[]).length, 0, "the refused port was not made");

    const compute = await ok("alice", "POST", "/v2.0/ports", {
      port: { network_id: shared, device_owner: "compute:nova" },
    });
    const id = (compute.port as PortView).id;
    const upgrade = await call("alice", "PUT", `/v2.0/ports/${id}`, {
      port: { device_owner: "network:router_interface" },
    });
    assert.equal(upgrade.status, 403, JSON.stringify(upgrade.body));
    assert.match(message(upgrade), /rule:update_port:device_owner/);
    assert.equal((await port(id)).device_owner, "compute:nova");

    // On its own network a project may, and an admin may anywhere.
    const own = await call("alice", "POST", "/v2.0/ports", {
      port: { network_id: mine, device_owner: "network:distributed" },
    });
    assert.equal(own.status, 201, JSON.stringify(own.body));
    const admin = await call("admin", "PUT", `/v2.0/ports/${id}`, {
      port: { device_owner: "network:distributed" },
    });
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
  });
});

describe("GET /v2.0/quotas/tenant", () => {
  it("names the caller's project, under the old name and the new", async () => {
    assert.deepEqual(await ok("alice", "GET", "/v2.0/quotas/tenant"), {
      tenant: { tenant_id: "p-alice" },
    });
    assert.deepEqual(await ok("alice", "GET", "/v2.0/quotas/project"), {
      project: { project_id: "p-alice" },
    });
    assert.deepEqual(await ok("admin", "GET", "/v2.0/quotas/tenant"), {
      tenant: { tenant_id: "p-admin" },
    });
  });

  it("answers a token scoped to no project with Neutron's 400", async () => {
    const r = await call("nobody", "GET", "/v2.0/quotas/tenant");
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal((r.body.NeutronError as { type: string }).type, "QuotaMissingTenant");
    assert.match(message(r), /Tenant-id was missing.*scoped to a project/);
  });
});
