/**
 * Router interfaces under NB leader loss, in a 3-member lab with the API
 * service on m1: 48 add_router_interface calls (32 by subnet, 16 by port)
 * spread on four routers, two of them with an external gateway (so every
 * interface also rewrites the router's SNAT rows), 8 at a time; the NB Raft
 * leader hangs (SIGSTOP) as soon as 12 of them have answered and is
 * SIGKILLed 0.2 s later, so that some calls are committed to it and never
 * answered. Then, read from NB on m3:
 * - every call is answered 200 or 503: a commit lost with the leader is
 *   answered from the replica once it is back;
 * - every acknowledged (200) interface is whole: its Logical_Router_Port
 *   `lrp-<port>` in the router with ML2/OVN's keys, its switch port of type
 *   `router` naming it, and a SNAT row for its subnet when the router has
 *   a gateway;
 * - nothing is half-made: each router switch port has its router port and
 *   each router port its switch port, no address is claimed by a port that
 *   is not a whole interface, a port added by id is either untouched or a
 *   whole interface, and a gateway router's SNAT rows are exactly its
 *   subnets';
 * - a 503 means the interface is not there, and every call that failed
 *   succeeds when sent again.
 * Then the same with remove_router_interface for all 48 (every other one
 * by subnet, the others by port) and the new leader lost likewise: every
 * 200 is an interface gone whole (router port, switch port, its address
 * claims, its SNAT row), every 503 one still whole.
 * Then floating IPs (their answer lost is an update's: told by the
 * revision it wrote): 32 VM ports on four networks behind the two gateway
 * routers, 32 floating IPs, and the 32 associations (PUT port_id) sent 8 at
 * a time with the NB leader lost likewise: every 200 is a whole
 * association (one `dnat_and_snat` row with the floating IP's id on the
 * right router, from the VM's fixed address to the floating one, and
 * `neutron:port_fip` on the VM's port), every 503 left nothing, and every
 * failed call succeeds when sent again; then the 32 disassociations
 * (port_id null) the same way.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import type { Lab } from "../../src/lab/lab.js";
import { labWithApi } from "../helpers/api-member.js";
import { raftStatus, stopLab } from "../helpers/lab.js";
import type { ApiAnswer, OpenStackCli } from "../helpers/openstack-cli.js";
import { waitFor } from "../helpers/wait.js";

/** The burst: its calls spread on the routers in turn; routers r0 and r1 have a gateway with SNAT. */
const BURST = {
  routers: 4,
  gatewayRouters: 2,
  bySubnet: 32,
  byPort: 16,
  concurrency: 8,
  killAfter: 12,
};

interface Subnet {
  id: string;
  network_id: string;
  cidr: string;
  gateway_ip: string;
}

/** One add_router_interface call of the burst. */
interface Call {
  router: string;
  subnet: Subnet;
  /** Set for a call by port: the port given. */
  portId?: string;
}

type Row = Record<string, unknown>;

/** An OVSDB value from `ovn-nbctl --format=json` as plain JSON: maps as objects, sets as arrays. */
function decode(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  const [kind, inner] = value as [string, unknown];
  if (kind === "map") return Object.fromEntries(inner as [string, unknown][]);
  if (kind === "set") return (inner as unknown[]).map(decode);
  return inner; // ["uuid", …] or ["named-uuid", …]
}

const ids = (row: Row) => row.external_ids as Record<string, string>;
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : [v as string]);

describe("router interfaces when the NB leader is lost in the middle of them", () => {
  let lab: Lab;
  let os: OpenStackCli;
  const routers: string[] = [];
  const calls: Call[] = [];
  let extId = "";

  async function ok(method: string, path: string, body: unknown): Promise<Row> {
    const answer = await os.call(method, path, JSON.stringify(body));
    assert.ok(
      answer.status === 200 || answer.status === 201,
      `${method} ${path}: ${JSON.stringify(answer)}`,
    );
    return answer.body as Row;
  }

  /** Every row of `table` in NB, read on m3 (no API there). */
  async function nb(table: string): Promise<Row[]> {
    const out = await lab.ok("m3", ["ovn-nbctl", "--timeout=30", "--format=json", "list", table]);
    const { headings, data } = JSON.parse(out) as { headings: string[]; data: unknown[][] };
    return data.map((cells) => Object.fromEntries(headings.map((h, i) => [h, decode(cells[i])])));
  }

  function request(call: Call) {
    return {
      method: "PUT",
      path: `/v2.0/routers/${call.router}/add_router_interface`,
      body: call.portId !== undefined ? { port_id: call.portId } : { subnet_id: call.subnet.id },
    };
  }

  before(async () => {
    ({ lab, os } = await labWithApi(3));
    await waitFor(
      "the API to take the static token",
      async () => ((await os.call("GET", "/v2.0/routers")).status === 200 ? true : undefined),
      { timeoutMs: 30_000 },
    );
    const ext = (
      await ok("POST", "/v2.0/networks", {
        network: { name: "ext", "router:external": true },
      })
    ).network as Row;
    extId = ext.id as string;
    await ok("POST", "/v2.0/subnets", {
      subnet: { network_id: ext.id, cidr: "198.51.100.0/24", ip_version: 4 },
    });
    for (let r = 0; r < BURST.routers; r++) {
      const gateway =
        r < BURST.gatewayRouters ? { external_gateway_info: { network_id: ext.id } } : {};
      const router = (await ok("POST", "/v2.0/routers", { router: { name: `r${r}`, ...gateway } }))
        .router as Row;
      routers.push(router.id as string);
    }
    const count = BURST.bySubnet + BURST.byPort;
    const networks = (
      await ok("POST", "/v2.0/networks", {
        networks: Array.from({ length: count }, (_, i) => ({ name: `n${i}` })),
      })
    ).networks as Row[];
    const subnets = (
      await ok("POST", "/v2.0/subnets", {
        subnets: networks.map((n, i) => ({
          network_id: n.id,
          cidr: `10.${i + 1}.0.0/24`,
          ip_version: 4,
        })),
      })
    ).subnets as Subnet[];
    const ports = (
      await ok("POST", "/v2.0/ports", {
        ports: subnets
          .slice(BURST.bySubnet)
          .map((s) => ({ network_id: s.network_id, fixed_ips: [{ subnet_id: s.id }] })),
      })
    ).ports as Row[];
    subnets.forEach((subnet, i) => {
      const portId = i < BURST.bySubnet ? undefined : (ports[i - BURST.bySubnet]!.id as string);
      calls.push({ router: routers[i % BURST.routers]!, subnet, portId });
    });
  });

  after(async () => {
    await stopLab(lab);
  });

  /**
   * What NB holds of the calls' interfaces, checked whole-or-nothing;
   * returns the calls whose interface is there, with its port. Once
   * interfaces are being removed, a port added by id may be gone (removal
   * deletes it, as Neutron does).
   */
  async function checkNb(afterRemoval = false): Promise<Map<Call, string>> {
    const [lrs, lrps, lsps, nats] = await Promise.all(
      ["Logical_Router", "Logical_Router_Port", "Logical_Switch_Port", "NAT"].map(nb),
    );
    const lrpByName = new Map(lrps!.map((p) => [p.name as string, p]));
    const lrpByUuid = new Map(lrps!.map((p) => [p._uuid as string, p]));
    const lspByName = new Map(lsps!.map((p) => [p.name as string, p]));
    const natByUuid = new Map(nats!.map((n) => [n._uuid as string, n]));
    const routerOf = (id: string) => lrs!.find((lr) => lr.name === `neutron-${id}`)!;
    const interfaces = new Map<string, Row>(); // lrp name → its router
    for (const id of routers) {
      const lr = routerOf(id);
      assert.ok(lr, `router ${id} is not in NB`);
      for (const uuid of list(lr.ports)) {
        const lrp = lrpByUuid.get(uuid)!;
        // The gateway's router port is no interface.
        if (lrp.name === `lrp-${ids(lr)["neutron:gw_port_id"]}`) continue;
        interfaces.set(lrp.name as string, lr);
      }
    }

    // Each router switch port has its router port in a router, and each router port its switch port.
    for (const lsp of lsps!) {
      if (ids(lsp)["neutron:device_owner"] !== "network:router_interface") continue;
      assert.equal(
        lsp.type,
        "router",
        `${lsp.name as string}: an interface port not of type router`,
      );
      const peer = (lsp.options as Record<string, string>)["router-port"] ?? "";
      assert.equal(peer, `lrp-${lsp.name as string}`);
      assert.ok(lrpByName.has(peer), `switch port ${lsp.name as string} without its router port`);
      assert.ok(interfaces.has(peer), `router port ${peer} in no router`);
    }
    for (const name of interfaces.keys()) {
      const lsp = lspByName.get(name.slice("lrp-".length));
      assert.ok(lsp, `router port ${name} without its switch port`);
      assert.equal(lsp.type, "router");
    }

    const made = new Map<Call, string>();
    for (const call of calls) {
      const holders = lsps!.filter(
        (p) => ids(p)[`microovn:ip:${call.subnet.gateway_ip}`] === call.subnet.id,
      );
      const lrp = [...interfaces.keys()]
        .map((n) => lrpByName.get(n)!)
        .find((p) => ids(p)["neutron:subnet_ids"] === call.subnet.id);
      if (call.portId !== undefined) {
        const lsp = lspByName.get(call.portId);
        assert.ok(lsp || afterRemoval, `port ${call.portId} is gone`);
        if (lrp === undefined) {
          if (!lsp) continue;
          // Untouched: still an ordinary port, owned by nobody.
          assert.equal(lsp.type, "", `${call.portId}: half an interface`);
          assert.equal(ids(lsp)["neutron:device_owner"] ?? "", "");
          continue;
        }
      } else if (lrp === undefined) {
        // Not made: the subnet's gateway address is claimed by nobody.
        assert.deepEqual(
          holders.map((p) => p.name),
          [],
          `${call.subnet.id}: gateway claimed, no router port`,
        );
        continue;
      }
      const portId = (lrp.name as string).slice("lrp-".length);
      if (call.portId !== undefined) assert.equal(portId, call.portId);
      const lr = interfaces.get(lrp.name as string)!;
      assert.equal(lr.name, `neutron-${call.router}`, `${call.subnet.id} on the wrong router`);
      assert.equal(ids(lrp)["neutron:router_name"], call.router);
      assert.equal(ids(lrp)["neutron:network_name"], `neutron-${call.subnet.network_id}`);
      const lsp = lspByName.get(portId)!;
      assert.equal(ids(lsp)["neutron:device_id"], call.router);
      made.set(call, portId);
    }

    // A gateway router's SNAT rows are exactly its subnets'; the others have none.
    for (const [r, id] of routers.entries()) {
      const lr = routerOf(id);
      const snat = list(lr.nat)
        .map((u) => natByUuid.get(u)!)
        .filter((n) => n.type === "snat")
        .map((n) => n.logical_ip as string)
        .sort();
      const wanted =
        r < BURST.gatewayRouters
          ? calls
              .filter((c) => c.router === id && made.has(c))
              .map((c) => c.subnet.cidr)
              .sort()
          : [];
      assert.deepEqual(snat, wanted, `router r${r}'s SNAT rows`);
    }
    return made;
  }

  interface Request {
    method: string;
    path: string;
    body: unknown;
  }

  /**
   * Sends the requests at once while the NB leader hangs and dies, once all
   * three NB servers are up; every call must be answered 200 or 503 (a
   * commit lost with the leader is answered from the replica once it is
   * back, never with a 500 that leaves the client guessing).
   */
  async function withLeaderLoss(t: TestContext, requests: Request[]): Promise<ApiAnswer[]> {
    const views = await waitFor(
      "all three NB servers up, one of them leader",
      async () => {
        const all = await Promise.all(
          ["m1", "m2", "m3"].map(async (n) => ({ n, s: await raftStatus(lab, n, "nb") })),
        );
        return all.some((x) => x.s.role === "leader") ? all : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const leader = views.find((x) => x.s.role === "leader")!.n;
    const nbPid = (await lab.pids(leader)).ovnnb_db!;
    const { answers, killedAfter } = await os.calls(requests, BURST.concurrency, {
      after: BURST.killAfter,
      pid: nbPid,
    });
    assert.equal(killedAfter, BURST.killAfter, "the leader was killed in the middle of the calls");
    const tally = new Map<string, number>();
    for (const a of answers) {
      const key = a.status !== undefined ? String(a.status) : "no answer";
      tally.set(key, (tally.get(key) ?? 0) + 1);
    }
    t.diagnostic(
      `NB leader on ${leader} killed after ${BURST.killAfter} answers; answered: ` +
        [...tally].map(([k, n]) => `${k} ×${n}`).join(", "),
    );
    for (const key of tally.keys()) assert.ok(key === "200" || key === "503", `answered ${key}`);
    return answers;
  }

  /** Sends each request again until NB has its new leader; each must then be answered 200. */
  async function sendAgain(requests: Request[]): Promise<void> {
    for (const r of requests) {
      const answer = await waitFor(
        `${r.path} ${JSON.stringify(r.body)} again`,
        async (): Promise<ApiAnswer | undefined> => {
          const a = await os.call(r.method, r.path, JSON.stringify(r.body));
          // Until NB has its new leader, a call may fail again in the same ways.
          return a.status !== undefined && a.status < 500 ? a : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
    }
  }

  it("adds: every acknowledged interface whole, nothing half-made, a failed call made when sent again", async (t) => {
    const answers = await withLeaderLoss(t, calls.map(request));
    const made = await checkNb();
    answers.forEach((answer, i) => {
      const call = calls[i]!;
      if (answer.status === 200) {
        assert.ok(made.has(call), `acknowledged but not in NB: ${JSON.stringify(answer.body)}`);
        const info = answer.body as { subnet_id: string; port_id: string };
        assert.equal(info.subnet_id, call.subnet.id);
        if (call.portId !== undefined) assert.equal(info.port_id, call.portId);
      }
      if (answer.status === 503) assert.ok(!made.has(call), "503 although the interface is there");
    });
    await sendAgain(calls.filter((c, i) => answers[i]!.status !== 200).map(request));
    const all = await checkNb();
    assert.equal(all.size, calls.length, "every interface is there after the repeats");
  });

  it("removes: every acknowledged interface gone whole, nothing half-gone, a failed call done when sent again", async (t) => {
    const ports = await checkNb();
    // Every other one by subnet, the others by their port.
    const removals = calls.map((call, i) => ({
      method: "PUT",
      path: `/v2.0/routers/${call.router}/remove_router_interface`,
      body: i % 2 === 0 ? { subnet_id: call.subnet.id } : { port_id: ports.get(call)! },
    }));
    const answers = await withLeaderLoss(t, removals);
    const left = await checkNb(true);
    answers.forEach((answer, i) => {
      const call = calls[i]!;
      if (answer.status === 200) assert.ok(!left.has(call), `acknowledged but still in NB`);
      if (answer.status === 503) assert.ok(left.has(call), "503 although the interface is gone");
    });
    await sendAgain(removals.filter((_, i) => answers[i]!.status !== 200));
    const none = await checkNb(true);
    assert.equal(none.size, 0, "no interface is left after the repeats");
  });

  /** One floating IP of the burst and the VM port it is associated with. */
  interface Fip {
    id: string;
    address: string;
    router: string;
    portId: string;
    fixedIp: string;
  }

  /**
   * What NB holds of the floating IPs, checked whole-or-nothing: returns
   * those associated. Associated: exactly one `dnat_and_snat` row with its
   * id, on its router, from the VM's fixed address to the floating one,
   * naming the VM's port, and `neutron:port_fip` on that port. Not: no
   * NAT row with its id and no `neutron:port_fip` on the port.
   */
  async function checkFips(fips: readonly Fip[]): Promise<Set<Fip>> {
    const [lrs, lsps, nats] = await Promise.all(
      ["Logical_Router", "Logical_Switch_Port", "NAT"].map(nb),
    );
    const lspByName = new Map(lsps!.map((p) => [p.name as string, p]));
    const associated = new Set<Fip>();
    for (const fip of fips) {
      const rows = nats!.filter(
        (n) => n.type === "dnat_and_snat" && ids(n)["neutron:fip_id"] === fip.id,
      );
      const portFip = ids(lspByName.get(fip.portId)!)["neutron:port_fip"];
      if (rows.length === 0) {
        assert.equal(portFip, undefined, `${fip.id}: port_fip on the port, no NAT row`);
        continue;
      }
      assert.equal(rows.length, 1, `${fip.id}: ${rows.length} NAT rows`);
      const nat = rows[0]!;
      assert.equal(nat.logical_ip, fip.fixedIp, `${fip.id}: logical_ip`);
      assert.equal(nat.external_ip, fip.address, `${fip.id}: external_ip`);
      assert.equal(ids(nat)["neutron:fip_port_id"], fip.portId);
      assert.equal(ids(nat)["neutron:router_name"], `neutron-${fip.router}`);
      const holders = lrs!.filter((lr) => list(lr.nat).includes(nat._uuid as string));
      assert.deepEqual(
        holders.map((lr) => lr.name),
        [`neutron-${fip.router}`],
        `${fip.id}: its NAT row on the wrong router`,
      );
      assert.equal(portFip, fip.address, `${fip.id}: NAT row, no port_fip on the port`);
      associated.add(fip);
    }
    return associated;
  }

  it("associates and disassociates floating IPs: every 200 whole in NB, every 503 left nothing, a failed call done when sent again", async (t) => {
    // Four networks behind the two gateway routers, eight VM ports on each.
    const networks = (
      await ok("POST", "/v2.0/networks", {
        networks: Array.from({ length: 4 }, (_, i) => ({ name: `vm${i}` })),
      })
    ).networks as Row[];
    const subnets = (
      await ok("POST", "/v2.0/subnets", {
        subnets: networks.map((n, i) => ({
          network_id: n.id,
          cidr: `172.16.${i}.0/24`,
          ip_version: 4,
        })),
      })
    ).subnets as Subnet[];
    const behind = (i: number) => routers[i % BURST.gatewayRouters]!;
    for (const [i, subnet] of subnets.entries()) {
      await ok("PUT", `/v2.0/routers/${behind(i)}/add_router_interface`, {
        subnet_id: subnet.id,
      });
    }
    const count = 32;
    const ports = (
      await ok("POST", "/v2.0/ports", {
        ports: Array.from({ length: count }, (_, i) => ({
          network_id: networks[i % networks.length]!.id,
        })),
      })
    ).ports as Row[];
    const created = (
      await ok("POST", "/v2.0/floatingips", {
        floatingips: Array.from({ length: count }, () => ({ floating_network_id: extId })),
      })
    ).floatingips as Row[];
    const fips: Fip[] = created.map((f, i) => ({
      id: f.id as string,
      address: f.floating_ip_address as string,
      router: behind(i % networks.length),
      portId: ports[i]!.id as string,
      fixedIp: (ports[i]!.fixed_ips as { ip_address: string }[])[0]!.ip_address,
    }));
    const put = (fip: Fip, portId: string | null) => ({
      method: "PUT",
      path: `/v2.0/floatingips/${fip.id}`,
      body: { floatingip: { port_id: portId } },
    });
    assert.equal((await checkFips(fips)).size, 0, "no floating IP associated before the burst");

    const associations = fips.map((f) => put(f, f.portId));
    const answers = await withLeaderLoss(t, associations);
    const made = await checkFips(fips);
    answers.forEach((answer, i) => {
      const fip = fips[i]!;
      if (answer.status === 200) {
        assert.ok(made.has(fip), `acknowledged but not in NB: ${JSON.stringify(answer.body)}`);
        const view = (answer.body as { floatingip: Row }).floatingip;
        assert.equal(view.port_id, fip.portId);
        assert.equal(view.router_id, fip.router);
        assert.equal(view.fixed_ip_address, fip.fixedIp);
      }
      if (answer.status === 503) assert.ok(!made.has(fip), "503 although it is associated");
    });
    await sendAgain(associations.filter((_, i) => answers[i]!.status !== 200));
    assert.equal((await checkFips(fips)).size, count, "every floating IP associated at the end");

    const disassociations = fips.map((f) => put(f, null));
    const offAnswers = await withLeaderLoss(t, disassociations);
    const left = await checkFips(fips);
    offAnswers.forEach((answer, i) => {
      const fip = fips[i]!;
      if (answer.status === 200) {
        assert.ok(!left.has(fip), `acknowledged but still in NB`);
        assert.equal((answer.body as { floatingip: Row }).floatingip.port_id, null);
      }
      if (answer.status === 503) assert.ok(left.has(fip), "503 although it is disassociated");
    });
    await sendAgain(disassociations.filter((_, i) => offAnswers[i]!.status !== 200));
    assert.equal((await checkFips(fips)).size, 0, "no floating IP associated at the end");
  });
});
