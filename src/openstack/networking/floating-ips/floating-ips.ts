/**
 * Floating IPs (`/v2.0/floatingips`), as Neutron serves them with the
 * ML2/OVN driver. A floating IP is an address of a `router:external`
 * network held by a port of its own there (device_owner
 * `network:floatingip`, device_id the floating IP, no project, as Neutron
 * makes it), handed out by the ports' allocator. ML2/OVN writes no switch
 * port for it; NB being our only store, ours is a switch port without
 * addresses, so the datapath never sees it, which keeps the address, the
 * floating IP's project and its standard attributes. Associated with a
 * VM's port, it is a NAT row on the router that reaches the external
 * network (association.ts); `status` is ACTIVE while that row is there.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import { isAdmin, type Caller } from "../../auth/caller.js";
import type { LoadBalancer, LogicalSwitchPort, Nat } from "../../../ovsdb/models/ovn-northbound.js";
import { contains, parseIp, parsePrefix } from "../addresses.js";
import { COMMON_ATTRIBUTES, MICROOVN, revisionOf, standardAttributes } from "../attributes.js";
import {
  notFound,
  owningProject,
  writeHoldingRow,
  type Collection,
  type Item,
} from "../collection.js";
import { NETWORK_KEYS } from "../networks.js";
import { createServicePort, deletePort, portView, type AddressesTaken } from "../ports.js";
import type { View } from "../query.js";
import { type NbRows } from "../rows.js";
import { asService } from "../routers/service.js";
import { subnetView } from "../subnets.js";
import { CREATE_ONLY, Text255 } from "../validation.js";
import type { NbTransaction } from "../write.js";
import { ApiError } from "../../errors.js";
import { associate, type FipContext, type FloatingIp } from "./association.js";
import type { HostLookup } from "./host.js";
import { FIP_KEYS, FIP_PROJECT, FLOATINGIP_OWNER, badFloatingipRequest } from "./names.js";
import { fipLoadBalancers, fipNat, fipPort, fipPorts, natRouterId, removeFipNat } from "./rows.js";

const NullableId = Type.Union([Type.String({ maxLength: 255 }), Type.Null()]);

const CreateFloatingIp = Type.Object(
  {
    floating_network_id: Type.String({ maxLength: 255 }),
    floating_ip_address: Type.Optional(Type.String({ maxLength: 64 })),
    subnet_id: Type.Optional(NullableId),
    port_id: Type.Optional(NullableId),
    fixed_ip_address: Type.Optional(NullableId),
    description: Type.Optional(Text255()),
    ...CREATE_ONLY,
  },
  { additionalProperties: false },
);

const UpdateFloatingIp = Type.Object(
  {
    port_id: Type.Optional(NullableId),
    fixed_ip_address: Type.Optional(NullableId),
    description: Type.Optional(Text255()),
  },
  { additionalProperties: false },
);

export const FLOATINGIP_ATTRIBUTES = [
  ...COMMON_ATTRIBUTES.filter((a) => a !== "name"),
  "floating_network_id",
  "floating_ip_address",
  "router_id",
  "port_id",
  "fixed_ip_address",
  "status",
] as const;

/** A floating IP as the API answers it, from its port and, while associated, its NAT row. */
export function floatingIpView(
  id: string,
  lsp: LogicalSwitchPort,
  nat: Nat | undefined,
  forwardings: readonly LoadBalancer[] = [],
): View {
  const port = portView(lsp);
  // A floating IP with port forwardings goes through their router, and is in use.
  const through = nat ?? forwardings[0];
  const project = lsp.external_ids.get(FIP_PROJECT) ?? "";
  const address = (port.fixed_ips as { ip_address: string }[])[0]?.ip_address ?? null;
  return {
    id,
    tenant_id: project,
    project_id: project,
    floating_network_id: port.network_id,
    floating_ip_address: address,
    router_id: (through && natRouterId(through)) ?? null,
    port_id: nat?.external_ids.get(FIP_KEYS.fipPortId) ?? null,
    fixed_ip_address: nat?.logical_ip ?? null,
    status: through ? "ACTIVE" : "DOWN",
    ...standardAttributes(lsp.external_ids),
  };
}

/** The external network, as the caller may see it: 404 if not, 400 (Neutron's) if not external. */
function externalNetwork(rows: NbRows, caller: Caller, networkId: string) {
  const ls = rows.network(networkId);
  const ids = ls?.external_ids;
  const external = ids?.get(NETWORK_KEYS.routerExternal) === "true";
  // As Neutron's policy: external and shared networks are seen by every project.
  const visible =
    ls !== undefined &&
    (isAdmin(caller) ||
      external ||
      ids?.get(NETWORK_KEYS.shared) === "true" ||
      rows.networkProject(ls) === caller.projectId);
  if (!visible) throw notFound("Network", networkId);
  if (!external) {
    throw badFloatingipRequest(
      `Network ${networkId} is not a valid external network; give one created with --external (router:external true)`,
    );
  }
  return ls;
}

type FixedIpRequest = { subnet_id?: string; ip_address?: string };

/** The IPv4 subnets a floating IP's address may come from, checked against what was asked. */
function addressRequests(rows: NbRows, networkId: string, item: Item): FixedIpRequest[] {
  const subnets = rows.subnetsOf(networkId).map((r) => subnetView(r));
  const v4 = subnets.filter((s) => s.ip_version === 4);
  const subnetId = item.subnet_id as string | null | undefined;
  const address = item.floating_ip_address as string | undefined;
  if (subnetId !== undefined && subnetId !== null) {
    const s = subnets.find((x) => x.id === subnetId);
    if (!s)
      throw badFloatingipRequest(`Subnet ${subnetId} is not a subnet of network ${networkId}`);
    if (s.ip_version !== 4) {
      throw badFloatingipRequest(`Subnet ${subnetId} is not an IPv4 subnet: floating IPs are IPv4`);
    }
  }
  if (address !== undefined) {
    const ip = parseIp(address);
    if (!ip || ip.version !== 4) {
      throw badFloatingipRequest(`${address} is not an IPv4 address`);
    }
    const within = v4.filter((s) => {
      const p = parsePrefix(s.cidr as string);
      return p !== undefined && contains(p, ip.version, ip.value);
    });
    const ok = subnetId ? within.some((s) => s.id === subnetId) : within.length > 0;
    if (!ok) {
      throw badFloatingipRequest(
        `${address} is in no IPv4 subnet of network ${networkId}${subnetId ? ` (subnet ${subnetId})` : ""}`,
      );
    }
    return [{ ...(subnetId ? { subnet_id: subnetId } : {}), ip_address: address }];
  }
  if (subnetId) return [{ subnet_id: subnetId }];
  if (v4.length === 0) {
    throw badFloatingipRequest(
      `Network ${networkId} has no IPv4 subnet to take a floating IP address from; add one`,
    );
  }
  return v4.map((s) => ({ subnet_id: s.id }));
}

/** The floating IP's port, on the first subnet (of those asked) with an address left. */
function makePort(g: FipContext, id: string, networkId: string, item: Item, taken: AddressesTaken) {
  const requests = addressRequests(g.rows, networkId, item);
  for (const [i, request] of requests.entries()) {
    try {
      return createServicePort(
        g.rows,
        g.txn,
        {
          network_id: networkId,
          name: "",
          project_id: "",
          device_owner: FLOATINGIP_OWNER,
          device_id: id,
          fixed_ips: [request],
          description: item.description,
          tags: item.tags,
        },
        asService(g.caller),
        taken,
      );
    } catch (e) {
      // A full subnet: the next one may have room (nothing was written for this one).
      const full = e instanceof ApiError && e.type === "IpAddressGenerationFailure";
      if (!full || i === requests.length - 1) throw e;
    }
  }
  throw new Error("no subnet was tried");
}

function createFloatingIp(g: FipContext, item: Item, taken: AddressesTaken): string {
  const { rows, txn, caller } = g;
  const project = owningProject(caller, item, "floatingip");
  const networkId = item.floating_network_id as string;
  externalNetwork(rows, caller, networkId);
  const portId = item.port_id as string | null | undefined;
  const fixed = item.fixed_ip_address as string | null | undefined;
  if (!portId && fixed) {
    throw badFloatingipRequest("fixed_ip_address is given without port_id: name the port too");
  }
  const id = randomUUID();
  const port = makePort(g, id, networkId, item, taken);
  // The port answers for nothing on the wire (ML2/OVN writes none): it only holds the address.
  txn.update("Logical_Switch_Port", [["name", "==", port.id]], {
    addresses: [],
    port_security: [],
  });
  txn.mutate(
    "Logical_Switch_Port",
    [["name", "==", port.id]],
    [["external_ids", "insert", new Map([[FIP_PROJECT, project]])]],
  );
  if (portId) {
    const fip: FloatingIp = {
      id,
      floatingIp: port.fixedIps[0]!.ip_address,
      mac: port.mac,
      networkId,
      revision: 1,
    };
    associate(g, fip, portId, fixed ?? undefined);
  }
  return id;
}

function updateFloatingIp(g: FipContext, view: View, changes: Item): void {
  const { rows, txn } = g;
  const lsp = fipPort(rows, view.id);
  if (!lsp) throw notFound("FloatingIP", view.id);
  const nat = fipNat(rows, view.id);
  let portId = changes.port_id as string | null | undefined;
  const fixed = changes.fixed_ip_address as string | null | undefined;
  if (portId === undefined && fixed !== undefined && fixed !== null) {
    // A new fixed address alone is for the port it is associated with.
    portId = view.port_id as string | null;
    if (portId === null) {
      throw badFloatingipRequest("fixed_ip_address is given without port_id: name the port too");
    }
  }
  if (portId === null && nat) removeFipNat(rows, txn, nat);
  if (portId) {
    const fip: FloatingIp = {
      id: view.id,
      floatingIp: view.floating_ip_address as string,
      mac: portView(lsp).mac_address as string,
      networkId: view.floating_network_id as string,
      revision: revisionOf(lsp.external_ids) + 1,
    };
    associate(g, fip, portId, fixed ?? undefined, nat);
  }
  const change: Record<string, string> = {};
  if (changes.description !== undefined)
    change[MICROOVN.description] = changes.description as string;
  writeHoldingRow(
    txn,
    { table: "Logical_Switch_Port", uuid: lsp._uuid, externalIds: lsp.external_ids },
    change,
  );
}

function removeFloatingIp(g: FipContext, id: string): void {
  const { rows, txn } = g;
  const lsp = fipPort(rows, id);
  if (!lsp) throw notFound("FloatingIP", id);
  const nat = fipNat(rows, id);
  if (nat) removeFipNat(rows, txn, nat);
  // Its port forwardings go with it (Load_Balancers are root rows: deleted, not dropped).
  for (const lb of fipLoadBalancers(rows, id)) {
    txn.delete("Load_Balancer", [["_uuid", "==", lb._uuid]]);
  }
  deletePort(rows, txn, portView(lsp));
}

/**
 * The floating IP collection over the replica; `host` tells where a VM's
 * port is and `distributedAllowed` reads the cluster setting, both asked
 * only when an association is written.
 */
export function floatingIpsCollection(
  rows: NbRows,
  host: HostLookup,
  distributedAllowed: () => boolean,
): Collection {
  const context = (txn: NbTransaction, caller: Caller): FipContext => ({
    rows,
    txn,
    caller,
    host,
    distributedAllowed,
  });
  const view = (id: string, lsp: LogicalSwitchPort) =>
    floatingIpView(id, lsp, fipNat(rows, id), fipLoadBalancers(rows, id));
  return {
    singular: "floatingip",
    plural: "floatingips",
    label: "FloatingIP",
    attributes: new Set(FLOATINGIP_ATTRIBUTES),
    createSchema: CreateFloatingIp,
    updateSchema: UpdateFloatingIp,
    *all() {
      for (const [id, lsp] of fipPorts(rows)) yield view(id, lsp);
    },
    get(id) {
      const lsp = fipPort(rows, id);
      return lsp && view(id, lsp);
    },
    generation: () => rows.generation,
    holdingRow(id) {
      const lsp = fipPort(rows, id);
      return (
        lsp && { table: "Logical_Switch_Port", uuid: lsp._uuid, externalIds: lsp.external_ids }
      );
    },
    create(txn, items, caller) {
      const taken: AddressesTaken = new Map();
      return items.map((item) => createFloatingIp(context(txn, caller), item, taken));
    },
    update(txn, view, changes, caller) {
      updateFloatingIp(context(txn, caller), view, changes);
    },
    remove(txn, view, caller) {
      removeFloatingIp(context(txn, caller), view.id);
    },
  };
}
