/**
 * Two API servers over a real standalone NB and SB, each with its own
 * clients, replicas and migration watch, as two members' services have.
 * SB's Port_Binding is written here as ovn-controller writes it during a
 * migration (the main chassis, the destination as additional chassis, the
 * destination's activation), so what the servers do with it is seen
 * without a lab: both see the end, exactly one writes it; a migration that
 * is abandoned or not over yet is left alone; only an admin starts one.
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
  watchMigrations,
  type MigrationWatch,
} from "../../src/openstack/networking/migration-watch.js";
import {
  inProcessApi,
  startNbSb,
  type InProcessApi,
  type NbSb,
} from "../helpers/in-process-api.js";
import { injectCall, type InjectedAnswer } from "../helpers/openstack-api.js";
import { waitFor } from "../helpers/wait.js";

/** Callers of the admin project, by token: an admin and a member. */
function caller(userName: string, role: string): Caller {
  return {
    userId: `id-${userName}`,
    userName,
    projectId: "p-admin",
    projectName: "admin",
    roles: effectiveRoles([role]),
  };
}
const CALLERS: Record<string, Caller> = {
  admin: caller("admin", ADMIN_ROLE),
  alice: caller("alice", MEMBER_ROLE),
};

interface Server {
  api: InProcessApi;
  watch: MigrationWatch;
  log: string[];
}

interface PortView {
  id: string;
  revision_number: number;
  "binding:host_id": string;
  "binding:profile": Record<string, unknown>;
}

let databases: NbSb;
const servers: Server[] = [];
const chassisUuid: Record<string, string> = {};
let datapath: string;

async function apiServer(): Promise<Server> {
  const api = await inProcessApi(databases, CALLERS);
  const log: string[] = [];
  const watch = watchMigrations(api.context, (m) => log.push(m));
  return { api, watch, log };
}

function call(
  who: string,
  method: "GET" | "POST" | "PUT",
  url: string,
  body?: unknown,
  server = 0,
): Promise<InjectedAnswer> {
  return injectCall(servers[server]!.api.app, who, method, url, body);
}

async function port(id: string, server = 0): Promise<PortView> {
  const r = await call("admin", "GET", `/v2.0/ports/${id}`, undefined, server);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.port as PortView;
}

async function nbOptions(id: string): Promise<Record<string, string>> {
  const [row] = await databases.nb.select("Logical_Switch_Port", [["name", "==", id]], ["options"]);
  assert.ok(row, `NB has port ${id}`);
  return Object.fromEntries(row.options);
}

/** SB's Port_Binding of a port, as ovn-controller leaves it: chassis by name. */
async function bindInSb(
  id: string,
  main: string | undefined,
  additional: string[],
  activated?: string,
): Promise<void> {
  const [existing] = await databases.sb.select(
    "Port_Binding",
    [["logical_port", "==", id]],
    ["_uuid"],
  );
  const values = {
    chassis: main === undefined ? undefined : chassisUuid[main],
    additional_chassis: additional.map((c) => chassisUuid[c]!),
    options: new Map(activated ? [["additional-chassis-activated", activated]] : []),
  };
  const txn = databases.sb.transaction();
  if (existing) {
    txn.update("Port_Binding", [["_uuid", "==", existing._uuid]], values);
  } else {
    txn.insert("Port_Binding", {
      logical_port: id,
      datapath,
      tunnel_key: 1 + Object.keys(chassisUuid).length + Math.floor(Math.random() * 30000),
      ...values,
    });
  }
  await txn.commit();
}

async function newPort(name: string, network: string): Promise<PortView> {
  const r = await call("admin", "POST", "/v2.0/ports", {
    port: { network_id: network, name, "binding:host_id": "m1" },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.port as PortView;
}

async function migrate(id: string, profile: Record<string, unknown>, who = "admin") {
  return call(who, "PUT", `/v2.0/ports/${id}`, { port: { "binding:profile": profile } });
}

let network: string;

before(async () => {
  databases = await startNbSb("migwatch");
  const txn = databases.sb.transaction();
  const names = ["m1", "m2"];
  const refs = names.map((name, i) => {
    const encap = txn.insert("Encap", {
      type: "geneve",
      ip: `127.0.0.${i + 1}`,
      chassis_name: name,
    });
    return txn.insert("Chassis", { name, hostname: name, encaps: [encap] });
  });
  const dp = txn.insert("Datapath_Binding", { tunnel_key: 1 });
  const result = await txn.commit();
  names.forEach((name, i) => (chassisUuid[name] = result.uuid(refs[i]!)));
  datapath = result.uuid(dp);
  servers.push(await apiServer(), await apiServer());
  const net = await call("admin", "POST", "/v2.0/networks", { network: { name: "mig" } });
  network = (net.body.network as { id: string }).id;
  const sub = await call("admin", "POST", "/v2.0/subnets", {
    subnet: { network_id: network, cidr: "10.40.0.0/24", ip_version: 4 },
  });
  assert.equal(sub.status, 201, JSON.stringify(sub.body));
});

after(async () => {
  for (const s of servers) {
    s.watch.close();
    await s.api.close();
  }
  await databases?.stop();
});

describe("the end of a live migration, seen by two API servers", () => {
  it("lets only an admin start a migration; a refused one changes nothing", async () => {
    const p = await newPort("policy", network);
    const r = await migrate(p.id, { migrating_to: "m2" }, "alice");
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.match(
      (r.body.NeutronError as { message: string }).message,
      /rule:update_port:binding:profile.*only an admin/,
    );
    assert.equal((await port(p.id)).revision_number, p.revision_number);
    assert.equal((await nbOptions(p.id))["requested-chassis"], "m1");
  });

  it("ends a migration once, when both servers see the destination activated", async () => {
    const p = await newPort("moving", network);
    await bindInSb(p.id, "m1", []);
    const set = await migrate(p.id, { migrating_to: "m2", keep: "this" });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const during = set.body.port as PortView;
    assert.equal(during["binding:host_id"], "m1");
    const options = await nbOptions(p.id);
    assert.equal(options["requested-chassis"], "m1,m2");
    assert.equal(options["activation-strategy"], "rarp");

    // The VM plugged on m2, still blocked there: not over.
    await bindInSb(p.id, "m1", ["m2"]);
    // Its RARP from m2: over.
    await bindInSb(p.id, "m1", ["m2"], "m2");
    for (const server of [0, 1]) {
      await waitFor(`server ${server} to show the port on m2`, async () => {
        const now = await port(p.id, server);
        return now["binding:host_id"] === "m2" ? now : undefined;
      });
    }
    const ended = await port(p.id);
    assert.equal(ended.revision_number, during.revision_number + 1, "one write ended it");
    assert.deepEqual(ended["binding:profile"], { keep: "this" }, "only migrating_to went");
    assert.deepEqual(await nbOptions(p.id), {
      "requested-chassis": "m2",
      mcast_flood_reports: "true",
    });
    const ends = servers.flatMap((s) => s.log).filter((l) => l.includes(p.id));
    assert.deepEqual(ends, [
      `port ${p.id}: migration from m1 to m2 ended (the VM announced itself on m2)`,
    ]);
    // A later change is the next revision: no second end slipped in.
    const renamed = await call(
      "admin",
      "PUT",
      `/v2.0/ports/${p.id}`,
      { port: { name: "moved" } },
      1,
    );
    assert.equal((renamed.body.port as PortView).revision_number, ended.revision_number + 1);
  });

  it("ends a migration when the source lets the port go, without a RARP", async () => {
    const p = await newPort("released", network);
    await bindInSb(p.id, "m1", ["m2"]);
    await migrate(p.id, { migrating_to: "m2" });
    await bindInSb(p.id, undefined, ["m2"]);
    await waitFor("the port on m2", async () => (await port(p.id))["binding:host_id"] === "m2");
    assert.deepEqual(await nbOptions(p.id), {
      "requested-chassis": "m2",
      mcast_flood_reports: "true",
    });
  });

  it("ends a migration, as Nova does, when the port is bound to its destination", async () => {
    const p = await newPort("nova", network);
    await bindInSb(p.id, "m1", []);
    await migrate(p.id, { migrating_to: "m2", keep: 1 });
    const r = await call("admin", "PUT", `/v2.0/ports/${p.id}`, {
      port: { "binding:host_id": "m2" },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const moved = r.body.port as PortView;
    assert.equal(moved["binding:host_id"], "m2");
    assert.deepEqual(moved["binding:profile"], { keep: 1 });
    assert.deepEqual(await nbOptions(p.id), {
      "requested-chassis": "m2",
      mcast_flood_reports: "true",
    });
  });

  it("leaves an abandoned migration's port on its host, whatever SB shows", async () => {
    const p = await newPort("abandoned", network);
    await bindInSb(p.id, "m1", []);
    await migrate(p.id, { migrating_to: "m2" });
    await bindInSb(p.id, "m1", ["m2"]);
    const back = await migrate(p.id, {});
    assert.equal(back.status, 200, JSON.stringify(back.body));
    const revision = (back.body.port as PortView).revision_number;
    assert.deepEqual(await nbOptions(p.id), {
      "requested-chassis": "m1",
      mcast_flood_reports: "true",
    });
    // m2 still holds it (its NIC not yet unplugged), even activated: no migration to end.
    await bindInSb(p.id, "m1", ["m2"], "m2");
    await bindInSb(p.id, undefined, ["m2"]);
    // SB's changes reach a server in order: once it has a later binding it
    // has seen those, and a write of its own after that is committed after
    // any end it would have started (one writer per server, in order).
    const marker = await newPort("marker", network);
    await bindInSb(marker.id, "m1", []);
    for (const [i, server] of servers.entries()) {
      await waitFor(`server ${i} to see SB's last change`, () =>
        server.api.sbReplica.table("Port_Binding").lookup({ logical_port: marker.id }),
      );
      const r = await call(
        "admin",
        "PUT",
        `/v2.0/ports/${marker.id}`,
        { port: { name: `m${i}` } },
        i,
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const now = await port(p.id);
    assert.equal(now["binding:host_id"], "m1");
    assert.equal(now.revision_number, revision);
  });
});
