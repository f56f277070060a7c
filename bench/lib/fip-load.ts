/**
 * The floating IP part of `npm run bench:api`, on one router with an
 * external gateway (the usual shape: a project's VMs behind one router,
 * their floating IPs on its external network):
 *
 * - create: `POST /v2.0/floatingips` with only the external network,
 *   against the floor of its one row, the floating IP's switch port (copied
 *   from one the API made), one transaction each;
 * - associate: `PUT /v2.0/floatingips/{id}` with a VM's `port_id`, against
 *   the floor of the rows that changes: the `dnat_and_snat` NAT row in the
 *   router's `nat` and `neutron:port_fip` on the VM's switch port (copied
 *   from an association the API made), one transaction each.
 *
 * Each sequential and 16 at once. A 409 (the service gave up building an
 * association again after conflicts) is counted, as what a client would have
 * had to send again, and sent again.
 */
import { randomUUID } from "node:crypto";
import type { LogicalSwitchPort, Nat } from "../../src/ovsdb/models/ovn-northbound.js";
import {
  call,
  networking,
  sequentialThenConcurrent,
  twoWays,
  type ApiSession,
} from "./api-session.js";
import { log } from "./stats.js";

/** Floating IPs made and associated one at a time, then so many at once; VM ports made in bulks of so many. */
const COUNTS = { sequential: 200, concurrent: 400, bulk: 100 };

/** Row `i`'s address in a /16 whose first two octets are `prefix`. */
function address(prefix: string, i: number): string {
  return `${prefix}.${1 + (i >> 8)}.${i & 255}`;
}

function withoutIdentity<T extends { _uuid: string; _version: string }>(row: T) {
  const { _uuid, _version, ...rest } = row;
  return rest;
}

/** One external network with a router gateway on it and one internal network behind it, with `count` VM ports. */
async function setUp(session: ApiSession, count: number) {
  const post = async (path: string, body: unknown) => networking(session, "POST", path, body, 201);
  const ext = (
    (await post("/v2.0/networks", { network: { name: "fip-ext", "router:external": true } }))
      .network as { id: string }
  ).id;
  await post("/v2.0/subnets", {
    subnet: { network_id: ext, cidr: "100.64.0.0/16", ip_version: 4 },
  });
  const router = (
    (
      await post("/v2.0/routers", {
        router: { name: "fip-router", external_gateway_info: { network_id: ext } },
      })
    ).router as { id: string }
  ).id;
  const inside = (
    (await post("/v2.0/networks", { network: { name: "fip-vms" } })).network as {
      id: string;
    }
  ).id;
  const subnet = (
    (
      await post("/v2.0/subnets", {
        subnet: { network_id: inside, cidr: "10.250.0.0/16", ip_version: 4 },
      })
    ).subnet as { id: string }
  ).id;
  await networking(
    session,
    "PUT",
    `/v2.0/routers/${router}/add_router_interface`,
    { subnet_id: subnet },
    200,
  );
  const vms: string[] = [];
  for (let start = 0; start < count; start += COUNTS.bulk) {
    const size = Math.min(COUNTS.bulk, count - start);
    const { ports } = (await post("/v2.0/ports", {
      ports: Array.from({ length: size }, (_, k) => ({
        network_id: inside,
        name: `vm${start + k}`,
      })),
    })) as { ports: { id: string }[] };
    vms.push(...ports.map((p) => p.id));
  }
  return { ext, router, vms };
}

/** Measures the floating IP rates; the API's floating IPs and VM ports stay. */
export async function measureFloatingIps(session: ApiSession, concurrency: number) {
  const { nb } = session;
  const total = COUNTS.sequential + COUNTS.concurrent;
  const { ext, vms } = await setUp(session, total);

  const fips: string[] = [];
  const create = async () => {
    const { floatingip } = (await networking(
      session,
      "POST",
      "/v2.0/floatingips",
      { floatingip: { floating_network_id: ext } },
      201,
    )) as { floatingip: { id: string } };
    fips.push(floatingip.id);
  };
  const counts = { ...COUNTS, concurrency };
  const created = await sequentialThenConcurrent(nb, counts, create);
  const [createSequential, createConcurrent] = [created.sequential, created.concurrent];
  log(
    `  API floating IP create: ${createSequential.toFixed(1)}/s sequential, ` +
      `${createConcurrent.toFixed(1)}/s ${concurrency} concurrent`,
  );

  let conflicts = 0;
  const associate = async (i: number) => {
    for (;;) {
      const answer = await call(
        session,
        9696,
        "PUT",
        `/v2.0/floatingips/${fips[i]!}`,
        session.token,
        {
          floatingip: { port_id: vms[i] },
        },
      );
      if (answer.status === 200) return;
      if (answer.status !== 409) {
        throw new Error(`floating IP associate: ${answer.status} ${JSON.stringify(answer.body)}`);
      }
      conflicts++;
    }
  };
  const associated = await sequentialThenConcurrent(nb, counts, associate);
  const [associateSequential, associateConcurrent] = [associated.sequential, associated.concurrent];
  log(
    `  API floating IP associate: ${associateSequential.toFixed(1)}/s sequential, ` +
      `${associateConcurrent.toFixed(1)}/s ${concurrency} concurrent (${conflicts} answered 409 and sent again)`,
  );

  // The floor's templates: the last floating IP's port and NAT row, and the VM port it is on.
  const lastFip = fips[total - 1]!;
  const [fipPort] = await nb.select("Logical_Switch_Port", [
    ["external_ids", "includes", new Map([["neutron:device_id", lastFip]])],
  ]);
  const [nat] = await nb.select("NAT", [
    ["external_ids", "includes", new Map([["neutron:fip_id", lastFip]])],
  ]);
  const [vm] = await nb.select("Logical_Switch_Port", [["name", "==", vms[total - 1]!]]);
  if (!fipPort || !nat || !vm) throw new Error(`floating IP ${lastFip}'s rows are not in NB`);
  const tag = `bench-floor-${randomUUID()}`;
  const made = nb.transaction();
  const floorVms = Array.from({ length: total }, () => randomUUID());
  const vmRows = floorVms.map((name) =>
    made.insert("Logical_Switch_Port", {
      ...(withoutIdentity(vm) as LogicalSwitchPort),
      name,
      external_ids: new Map([...vm.external_ids].filter(([k]) => k !== "neutron:port_fip")),
    }),
  );
  made.insert("Logical_Switch", { name: `${tag}-vms`, ports: vmRows });
  made.insert("Logical_Switch", { name: `${tag}-ext` });
  made.insert("Logical_Router", { name: `${tag}-r` });
  await made.commit();

  const writeFloorFip = async () => {
    const txn = nb.transaction();
    const port = txn.insert("Logical_Switch_Port", {
      ...(withoutIdentity(fipPort) as LogicalSwitchPort),
      name: randomUUID(),
    });
    txn.mutate("Logical_Switch", [["name", "==", `${tag}-ext`]], [["ports", "insert", [port]]]);
    await txn.commit();
  };
  const floorCreated = await sequentialThenConcurrent(nb, counts, writeFloorFip);
  const [floorCreateSequential, floorCreateConcurrent] = [
    floorCreated.sequential,
    floorCreated.concurrent,
  ];

  const writeFloorNat = async (i: number) => {
    const txn = nb.transaction();
    const row = txn.insert("NAT", {
      ...(withoutIdentity(nat) as Nat),
      logical_ip: address("10.251", i),
      external_ip: address("100.65", i),
    });
    txn.mutate("Logical_Router", [["name", "==", `${tag}-r`]], [["nat", "insert", [row]]]);
    txn.mutate(
      "Logical_Switch_Port",
      [["name", "==", floorVms[i]!]],
      [["external_ids", "insert", new Map([["neutron:port_fip", address("100.65", i)]])]],
    );
    await txn.commit();
  };
  const floorAssociated = await sequentialThenConcurrent(nb, counts, writeFloorNat);
  const [floorAssociateSequential, floorAssociateConcurrent] = [
    floorAssociated.sequential,
    floorAssociated.concurrent,
  ];
  log(
    `  floor (our client, one txn each): create ${floorCreateSequential.toFixed(1)}/s sequential, ` +
      `${floorCreateConcurrent.toFixed(1)}/s ${concurrency} concurrent; associate ` +
      `${floorAssociateSequential.toFixed(1)}/s sequential, ${floorAssociateConcurrent.toFixed(1)}/s ${concurrency} concurrent`,
  );
  const drop = nb.transaction();
  for (const name of [`${tag}-vms`, `${tag}-ext`]) {
    drop.delete("Logical_Switch", [["name", "==", name]]);
  }
  drop.delete("Logical_Router", [["name", "==", `${tag}-r`]]);
  await drop.commit();

  const pair = (seq: number, con: number, digits?: number) =>
    twoWays(concurrency, seq, con, digits);
  return {
    api_fip_create_per_s: pair(createSequential, createConcurrent),
    floor_fip_create_per_s: pair(floorCreateSequential, floorCreateConcurrent),
    api_fip_create_ratio_to_floor: pair(
      createSequential / floorCreateSequential,
      createConcurrent / floorCreateConcurrent,
      3,
    ),
    api_fip_associate_per_s: pair(associateSequential, associateConcurrent),
    floor_fip_associate_per_s: pair(floorAssociateSequential, floorAssociateConcurrent),
    api_fip_associate_ratio_to_floor: pair(
      associateSequential / floorAssociateSequential,
      associateConcurrent / floorAssociateConcurrent,
      3,
    ),
    fip_associate_conflicts_resent: conflicts,
  };
}
