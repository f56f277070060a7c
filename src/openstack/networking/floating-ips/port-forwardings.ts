/**
 * Port forwardings (`/v2.0/floatingips/{id}/port_forwardings`), Neutron's
 * `floating-ip-port-forwarding` extension as ML2/OVN writes it: a floating
 * IP that is associated with no port forwards chosen TCP or UDP ports to
 * ports of VMs behind the router that reaches its network, as Load_Balancer
 * rows on that router (pf-rows.ts). Every change rewrites the floating IP's
 * Load_Balancers from the list it makes and bumps the floating IP's
 * revision, so two servers changing one floating IP's forwardings at once
 * are told apart by its port's external_ids; the router's ports are
 * checked as they were read, as an association checks them.
 */
import { randomUUID } from "node:crypto";
import { Type } from "typebox";
import type { Caller } from "../../auth/caller.js";
import { ApiError } from "../../errors.js";
import { parseIp } from "../addresses.js";
import {
  visibleResource,
  writableResource,
  writeUpdateTelling,
  type Collection,
} from "../collection.js";
import { callerOf, type ResourceRoutes } from "../context.js";
import { matches, parseListQuery, selectFields, type RawQuery, type View } from "../query.js";
import { fixedIpsOf, nbRows } from "../rows.js";
import { IntegerLike, Text255, toInteger } from "../validation.js";
import { expectSame, type NbTransaction } from "../write.js";
import { routerFor, vmPort, type FipContext } from "./association.js";
import { FIP_KEYS } from "./names.js";
import { PF_PROTOCOLS, type PfProtocol, type PortForwarding } from "./pf-rows.js";
import { fipNat, natsOfPort } from "./rows.js";
import { forwardingsOfFip, writeForwardings, type FipForwardings } from "./pf-write.js";

const Protocol = Type.Union(PF_PROTOCOLS.map((p) => Type.Literal(p)));
const TcpPort = () => IntegerLike({ minimum: 1, maximum: 65535 });

const pfAttributes = {
  internal_port_id: Type.String({ maxLength: 255 }),
  internal_ip_address: Type.String({ maxLength: 64 }),
  internal_port: TcpPort(),
  external_port: TcpPort(),
  protocol: Protocol,
};
const CreateBody = Type.Object(
  {
    port_forwarding: Type.Object(
      { ...pfAttributes, description: Type.Optional(Text255()) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const UpdateBody = Type.Object(
  {
    port_forwarding: Type.Object(
      {
        ...Type.Partial(Type.Object(pfAttributes)).properties,
        description: Type.Optional(Text255()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
const FipParams = Type.Object({ id: Type.String() });
const PfParams = Type.Object({ id: Type.String(), pf: Type.String() });

const PF_ATTRIBUTES = new Set([
  "id",
  "protocol",
  "external_port",
  "internal_port",
  "internal_ip_address",
  "internal_port_id",
  "description",
]);

type PfRequest = Partial<Record<keyof typeof pfAttributes | "description", unknown>>;

function badRequest(message: string): ApiError {
  return new ApiError(400, `Bad port_forwarding request: ${message}.`, "BadRequest");
}

function pfNotFound(fipId: string, id: string): ApiError {
  return new ApiError(
    404,
    `Port Forwarding ${id} could not be found for floating IP ${fipId}.`,
    "PortForwardingNotFound",
  );
}

/** The forwarding a request makes of `current` (none: a new one), checked on its own. */
function forwardingOf(body: PfRequest, current: PortForwarding | undefined): PortForwarding {
  const port = (v: unknown, name: string, old: number | undefined) =>
    v === undefined ? old! : toInteger(v as number | string, name, { min: 1, max: 65535 });
  const pf: PortForwarding = {
    id: current?.id ?? randomUUID(),
    protocol: (body.protocol as PfProtocol | undefined) ?? current!.protocol,
    external_port: port(body.external_port, "external_port", current?.external_port),
    internal_port: port(body.internal_port, "internal_port", current?.internal_port),
    internal_ip_address:
      (body.internal_ip_address as string | undefined) ?? current!.internal_ip_address,
    internal_port_id: (body.internal_port_id as string | undefined) ?? current!.internal_port_id,
    description: (body.description as string | undefined) ?? current?.description ?? "",
  };
  const ip = parseIp(pf.internal_ip_address);
  if (!ip || ip.version !== 4) {
    throw badRequest(`internal_ip_address ${pf.internal_ip_address} is not an IPv4 address`);
  }
  return pf;
}

/**
 * Checks the forwarding against its floating IP and the others it has,
 * and answers the router it goes through.
 */
function checkForwarding(g: FipContext, fip: FipForwardings, pf: PortForwarding): string {
  const { rows } = g;
  const nat = fipNat(rows, fip.id);
  if (nat) {
    throw new ApiError(
      409,
      `Floating IP ${fip.id} is associated with port ${nat.external_ids.get(FIP_KEYS.fipPortId) ?? ""}: a floating IP has port forwardings or a port, not both; disassociate it first.`,
      "FipInUseByPort",
    );
  }
  const lsp = vmPort(g, pf.internal_port_id);
  const fixed = fixedIpsOf(lsp.external_ids).find(
    (f) => parseIp(f.ip_address)?.value === parseIp(pf.internal_ip_address)!.value,
  );
  if (!fixed) {
    throw badRequest(
      `The internal IP ${pf.internal_ip_address} is not a fixed IP of port ${pf.internal_port_id}`,
    );
  }
  const bound = natsOfPort(rows, lsp.name).find((n) => n.logical_ip === fixed.ip_address);
  if (bound) {
    throw new ApiError(
      409,
      `Cannot create port forwarding to floating IP ${fip.address} (${fip.id}) with port ${lsp.name} using fixed IP ${fixed.ip_address}, as that port already has a binding floating IP.`,
      "PortHasBindingFloatingIP",
    );
  }
  const router = routerFor(rows, fip.networkId, fixed, lsp.name);
  const others = fip.forwardings.filter((f) => f.id !== pf.id);
  if (fip.routerId !== undefined && others.length > 0 && router.id !== fip.routerId) {
    throw badRequest(
      `Port ${lsp.name} is behind router ${router.id}, and the other port forwardings of floating IP ${fip.id} go through router ${fip.routerId}; one floating IP forwards through one router`,
    );
  }
  const clash = others.find(
    (f) =>
      (f.protocol === pf.protocol && f.external_port === pf.external_port) ||
      (f.protocol === pf.protocol &&
        f.internal_port_id === pf.internal_port_id &&
        f.internal_ip_address === pf.internal_ip_address &&
        f.internal_port === pf.internal_port),
  );
  if (clash) {
    throw new ApiError(
      409,
      `A duplicate port forwarding entry with same attributes already exists, conflicting values are {'floatingip_id': '${fip.id}', 'external_port': ${clash.external_port}, 'protocol': '${clash.protocol}'} (port forwarding ${clash.id}).`,
      "PortForwardingAlreadyExists",
    );
  }
  // The router's interfaces and gateway must still be as they were read.
  expectSame(g.txn, "Logical_Router", router.lr._uuid, { ports: router.lr.ports });
  return router.id;
}

function pfView(pf: PortForwarding): View {
  return { ...pf };
}

export function portForwardingRoutes(fips: Collection): ResourceRoutes {
  return (app, context) => {
    const rows = nbRows(context);
    const tags = ["floatingips"];
    const path = "/v2.0/floatingips/:id/port_forwardings";
    const fipContext = (txn: NbTransaction, caller: Caller): FipContext => ({
      rows,
      txn,
      caller,
      host: () => undefined,
      distributedAllowed: () => false,
    });
    const visible = (caller: Caller, fipId: string) => {
      visibleResource(caller, fips, fipId);
      return forwardingsOfFip(rows, fipId);
    };
    const one = (fip: FipForwardings, id: string) => {
      const pf = fip.forwardings.find((f) => f.id === id);
      if (!pf) throw pfNotFound(fip.id, id);
      return pf;
    };

    app.get(
      path,
      { schema: { summary: "List a floating IP's port forwardings", tags, params: FipParams } },
      async (request) => {
        const fip = visible(callerOf(request), request.params.id);
        const query = parseListQuery(request.query as RawQuery, PF_ATTRIBUTES);
        return {
          port_forwardings: fip.forwardings
            .map(pfView)
            .filter((v) => matches(v, query))
            .map((v) => selectFields(v, query.fields)),
        };
      },
    );
    app.get(
      `${path}/:pf`,
      { schema: { summary: "Show a port forwarding", tags, params: PfParams } },
      async (request) => {
        const fip = visible(callerOf(request), request.params.id);
        return { port_forwarding: pfView(one(fip, request.params.pf)) };
      },
    );
    app.post(
      path,
      {
        schema: { summary: "Create a port forwarding", tags, params: FipParams, body: CreateBody },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const { id } = request.params;
        const made = await writeUpdateTelling(context, fips, id, (txn) => {
          writableResource(caller, fips, id, "update");
          const fip = forwardingsOfFip(rows, id);
          const pf = forwardingOf(request.body.port_forwarding, undefined);
          const routerId = checkForwarding(fipContext(txn, caller), fip, pf);
          writeForwardings(rows, txn, fip, routerId, [...fip.forwardings, pf]);
          return pf;
        });
        return reply.code(201).send({ port_forwarding: pfView(made) });
      },
    );
    app.put(
      `${path}/:pf`,
      {
        schema: { summary: "Update a port forwarding", tags, params: PfParams, body: UpdateBody },
      },
      async (request) => {
        const caller = callerOf(request);
        const { id, pf: pfId } = request.params;
        const changed = await writeUpdateTelling(context, fips, id, (txn) => {
          writableResource(caller, fips, id, "update");
          const fip = forwardingsOfFip(rows, id);
          const pf = forwardingOf(request.body.port_forwarding, one(fip, pfId));
          const routerId = checkForwarding(fipContext(txn, caller), fip, pf);
          const list = fip.forwardings.map((f) => (f.id === pf.id ? pf : f));
          writeForwardings(rows, txn, fip, routerId, list);
          return pf;
        });
        return { port_forwarding: pfView(changed) };
      },
    );
    app.delete(
      `${path}/:pf`,
      { schema: { summary: "Delete a port forwarding", tags, params: PfParams } },
      async (request, reply) => {
        const caller = callerOf(request);
        const { id, pf: pfId } = request.params;
        await writeUpdateTelling(context, fips, id, (txn) => {
          writableResource(caller, fips, id, "update");
          const fip = forwardingsOfFip(rows, id);
          one(fip, pfId);
          const kept = fip.forwardings.filter((f) => f.id !== pfId);
          writeForwardings(rows, txn, fip, fip.routerId, kept);
        });
        return reply.code(204).send();
      },
    );
  };
}
