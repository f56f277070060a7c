/**
 * Gateway rescheduling over a real standalone NB and SB, with two API
 * servers each running its own gateway watch, as two members' services
 * do. SB's Chassis rows are written here as ovn-controller registers them
 * (name, ovn-cms-options and ovn-bridge-mappings in other_config), so
 * chassis come, go and change their options without a lab: the gateway's
 * Gateway_Chassis follow, the active (highest priority) one stays, and
 * each change is written once though both servers see it.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMIN_ROLE, effectiveRoles, type Caller } from "../../src/openstack/auth/caller.js";
import {
  watchGateways,
  type GatewayWatch,
} from "../../src/openstack/networking/routers/gateway-watch.js";
import {
  inProcessApi,
  startNbSb,
  type InProcessApi,
  type NbSb,
} from "../helpers/in-process-api.js";
import { injectCall } from "../helpers/openstack-api.js";
import { waitFor } from "../helpers/wait.js";

const ADMIN: Caller = {
  userId: "id-admin",
  userName: "admin",
  projectId: "p-admin",
  projectName: "admin",
  roles: effectiveRoles([ADMIN_ROLE]),
};

/** Short, so the test is quick; long enough that back-to-back SB changes fall in one pass. */
const DELAY_MS = 400;
const GW = "enable-chassis-as-gw";

interface Server {
  api: InProcessApi;
  watch: GatewayWatch;
  log: string[];
}

let databases: NbSb;
const servers: Server[] = [];
let encapIp = 1;

async function server(): Promise<Server> {
  const api = await inProcessApi(databases, { admin: ADMIN });
  const log: string[] = [];
  const watch = watchGateways(api.context, (m) => log.push(m), DELAY_MS);
  return { api, watch, log };
}

async function call(method: "GET" | "POST" | "PUT", url: string, body?: unknown) {
  const r = await injectCall(servers[0]!.api.app, "admin", method, url, body);
  assert.ok(r.status < 300, `${method} ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** A chassis as ovn-controller registers it, with the options `microovn chassis set` gives. */
async function addChassis(name: string, options: Record<string, string>): Promise<void> {
  const txn = databases.sb.transaction();
  const encap = txn.insert("Encap", {
    type: "geneve",
    ip: `127.0.1.${encapIp++}`,
    chassis_name: name,
  });
  txn.insert("Chassis", {
    name,
    hostname: name,
    encaps: [encap],
    other_config: new Map(Object.entries(options)),
  });
  await txn.commit();
}

async function setChassisOptions(name: string, options: Record<string, string>): Promise<void> {
  const txn = databases.sb.transaction();
  txn.update("Chassis", [["name", "==", name]], {
    other_config: new Map(Object.entries(options)),
  });
  await txn.commit();
}

async function deleteChassis(name: string): Promise<void> {
  const txn = databases.sb.transaction();
  txn.delete("Chassis", [["name", "==", name]]);
  txn.delete("Encap", [["chassis_name", "==", name]]);
  await txn.commit();
}

/** The gateway port's Gateway_Chassis as NB has them, highest first: `chassis:priority`. */
async function gatewayChassis(lrp: string): Promise<string[]> {
  const [port] = await databases.nb.select(
    "Logical_Router_Port",
    [["name", "==", lrp]],
    ["gateway_chassis"],
  );
  assert.ok(port, `NB has ${lrp}`);
  const rows = await databases.nb.select(
    "Gateway_Chassis",
    [],
    ["_uuid", "name", "chassis_name", "priority"],
  );
  const mine = rows.filter((r) => port.gateway_chassis.includes(r._uuid));
  for (const r of mine) assert.equal(r.name, `${lrp}_${r.chassis_name}`);
  // No row of this port is left unreferenced or made twice.
  assert.equal(rows.filter((r) => r.name.startsWith(`${lrp}_`)).length, mine.length);
  return mine.sort((a, b) => b.priority - a.priority).map((r) => `${r.chassis_name}:${r.priority}`);
}

async function expectGatewayChassis(lrp: string, wanted: string[], why: string): Promise<void> {
  await waitFor(why, async () => {
    const now = await gatewayChassis(lrp);
    return JSON.stringify(now) === JSON.stringify(wanted) ? now : undefined;
  });
}

function rescheduled(): string[] {
  return servers.flatMap((s) => s.log.filter((l) => l.startsWith("gateway chassis rescheduled")));
}

/** Waits for exactly `count` reschedules in all, written by either server, and no more for a while. */
async function expectWrites(count: number): Promise<void> {
  await waitFor(`${count} reschedules`, () => rescheduled().length >= count);
  // A second server writing the same change would do so within its own pass.
  await new Promise((resolve) => setTimeout(resolve, DELAY_MS * 3));
  assert.equal(rescheduled().length, count, rescheduled().join("\n"));
}

async function externalNetwork(name: string, physnet: string, cidr: string): Promise<string> {
  const net = await call("POST", "/v2.0/networks", {
    network: {
      name,
      "router:external": true,
      "provider:network_type": "flat",
      "provider:physical_network": physnet,
    },
  });
  const id = (net.network as { id: string }).id;
  await call("POST", "/v2.0/subnets", {
    subnet: { network_id: id, cidr, ip_version: 4, enable_dhcp: false },
  });
  return id;
}

/** A router with a gateway on `network`: its gateway router port's name. */
async function routerWithGateway(name: string, network: string): Promise<string> {
  const r = await call("POST", "/v2.0/routers", {
    router: { name, external_gateway_info: { network_id: network } },
  });
  const router = r.router as { id: string };
  const ports = await call("GET", `/v2.0/ports?device_id=${router.id}`);
  const [port] = ports.ports as { id: string }[];
  assert.ok(port, "the gateway port");
  return `lrp-${port.id}`;
}

before(async () => {
  databases = await startNbSb("gwsched");
  servers.push(await server(), await server());
});

after(async () => {
  for (const s of servers) {
    s.watch.close();
    await s.api.close();
  }
  await databases?.stop();
});

describe("gateway rescheduling, two API servers", () => {
  let lrp: string;
  /** r2's gateway, on a network no chassis bridges at first. */
  let lonely: string;
  const physnet1 = { "ovn-cms-options": GW, "ovn-bridge-mappings": "physnet1:br-ex" };

  it("schedules a new gateway on the qualifying chassis, by name", async () => {
    await addChassis("gw-b", physnet1);
    await addChassis("gw-a", physnet1);
    // Bridges physnet1 but is no gateway; is a gateway but bridges another network.
    await addChassis("hv", { "ovn-bridge-mappings": "physnet1:br-ex" });
    await addChassis("gw-x", { "ovn-cms-options": GW, "ovn-bridge-mappings": "physnet2:br-x" });
    const ext = await externalNetwork("ext1", "physnet1", "203.0.113.0/24");
    // Both servers see every chassis before the gateway is set.
    await waitFor("the chassis in the servers' SB", () =>
      servers.every((s) => s.api.sbReplica.table("Chassis").size === 4),
    );
    lrp = await routerWithGateway("r1", ext);
    assert.deepEqual(await gatewayChassis(lrp), ["gw-a:2", "gw-b:1"]);
    // The watches find nothing to change.
    await expectWrites(0);
  });

  it("adds a chassis that starts to qualify below the others; the active one stays", async () => {
    await addChassis("gw-0", physnet1);
    // No room below gw-b (1): renumbered in the order they had, gw-a still first.
    await expectGatewayChassis(lrp, ["gw-a:3", "gw-b:2", "gw-0:1"], "gw-0 to join last");
    await expectWrites(1);
    // The gateway option given to a chassis that bridges physnet1 already.
    await setChassisOptions("hv", physnet1);
    await expectGatewayChassis(lrp, ["gw-a:4", "gw-b:3", "gw-0:2", "hv:1"], "hv to join last");
    await expectWrites(2);
  });

  it("removes a chassis that stops qualifying or leaves SB, and no other", async () => {
    // Bridges another network now: no longer a candidate for physnet1.
    await setChassisOptions("gw-b", {
      "ovn-cms-options": GW,
      "ovn-bridge-mappings": "physnet2:br-x",
    });
    await expectGatewayChassis(lrp, ["gw-a:4", "gw-0:2", "hv:1"], "gw-b to go");
    await expectWrites(3);
    // The active chassis' row goes with its Chassis row; the next in line is first now.
    await deleteChassis("gw-a");
    await expectGatewayChassis(lrp, ["gw-0:2", "hv:1"], "gw-a to go");
    await expectWrites(4);
  });

  it("keeps a chassis that is down but still registered", async () => {
    // ovn-controller of gw-0 stopped answering long ago; its Chassis row stays.
    const txn = databases.sb.transaction();
    const [gw0] = await databases.sb.select("Chassis", [["name", "==", "gw-0"]], ["_uuid"]);
    txn.insert("Chassis_Private", {
      name: "gw-0",
      chassis: gw0!._uuid,
      nb_cfg: 0,
      nb_cfg_timestamp: 1000,
    });
    await txn.commit();
    // Two chassis arriving back to back, with the down one: one pass, one write.
    await addChassis("gw-c", physnet1);
    await addChassis("gw-d", physnet1);
    await expectGatewayChassis(
      lrp,
      ["gw-0:4", "hv:3", "gw-c:2", "gw-d:1"],
      "gw-c and gw-d to join, gw-0 to stay",
    );
    await expectWrites(5);
  });

  it("gives a gateway set with no candidate its rows once one qualifies", async () => {
    const ext2 = await externalNetwork("ext2", "physnet3", "198.51.100.0/24");
    lonely = await routerWithGateway("r2", ext2);
    assert.deepEqual(await gatewayChassis(lonely), []);
    await setChassisOptions("gw-x", {
      "ovn-cms-options": GW,
      "ovn-bridge-mappings": "physnet2:br-x,physnet3:br-y",
    });
    await expectGatewayChassis(lonely, ["gw-x:1"], "gw-x to host r2's gateway");
    await expectWrites(6);
    // r1's gateway was not touched.
    assert.deepEqual(await gatewayChassis(lrp), ["gw-0:4", "hv:3", "gw-c:2", "gw-d:1"]);
  });

  it("removes every row when no chassis qualifies any more, leaving the gateway unbound", async () => {
    await setChassisOptions("gw-x", { "ovn-bridge-mappings": "physnet3:br-y" });
    await expectGatewayChassis(lonely, [], "r2's gateway to have no chassis");
    await expectWrites(7);
  });
});
