/**
 * `GET/PUT/DELETE /v2.0/agents[/{id}]`, Neutron's `agent` extension as
 * ML2/OVN answers it: one agent per SB Chassis, its id the chassis name
 * (the system-id), of type "OVN Controller agent", or "OVN Controller
 * Gateway agent" on a chassis whose ovn-cms-options hold
 * `enable-chassis-as-gw` (one agent either way, never both). Agents are
 * SB rows ovn-controller owns, so the API writes little: a description
 * (Chassis_Private external_ids `neutron:description`, where ML2/OVN keeps
 * it) and the removal of a dead chassis. Administrators only, as Neutron's
 * policy has it: others see no agent.
 */
import { Type } from "typebox";
import { isAdmin, type Caller } from "../../auth/caller.js";
import type { Backend } from "../../backend.js";
import { ApiError } from "../../errors.js";
import type { Chassis, ChassisPrivate } from "../../../ovsdb/models/ovn-southbound.js";
import { listAnswer, notFound, type ReadableCollection } from "../collection.js";
import { callerOf, type ResourceRoutes } from "../context.js";
import { normalizeQuery, parseFields, selectFields, type RawQuery, type View } from "../query.js";
import { BooleanLike, Text255, toBoolean } from "../validation.js";
import { globalNbCfg, isAlive, pingAllChassis } from "./alive.js";
import { availabilityZonesOf, chassisOption, isGatewayChassis } from "./chassis-options.js";

export const CONTROLLER_AGENT = "OVN Controller agent";
export const GATEWAY_AGENT = "OVN Controller Gateway agent";
const BINARY = "ovn-controller";
/** Where ML2/OVN keeps an agent's description. */
export const AGENT_DESCRIPTION_KEY = "neutron:description";

/** The chassis options an agent's `configurations` show, beside chassis_name and bridge-mappings. */
const SHOWN_OPTIONS = ["datapath-type", "iface-types", "ovn-cms-options"] as const;

export const AGENT_ATTRIBUTES = [
  "id",
  "agent_type",
  "binary",
  "topic",
  "host",
  "admin_state_up",
  "alive",
  "availability_zone",
  "configurations",
  "description",
  "start_flag",
  "created_at",
  "started_at",
  "heartbeat_timestamp",
  "resources_synced",
] as const;

/** Neutron's form for agent times: UTC, "2026-11-29 22:40:01". */
export function agentTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

export function agentView(
  chassis: Chassis,
  privateRow: ChassisPrivate | undefined,
  nbCfg: number,
  nowMs: number,
): View {
  const configurations: Record<string, string> = {
    chassis_name: chassis.name,
    "bridge-mappings": chassisOption(chassis, "ovn-bridge-mappings") ?? "",
  };
  for (const key of SHOWN_OPTIONS) {
    const value = chassisOption(chassis, key);
    if (value !== undefined) configurations[key] = value;
  }
  const answered = privateRow && privateRow.nb_cfg_timestamp > 0;
  return {
    id: chassis.name,
    agent_type: isGatewayChassis(chassis) ? GATEWAY_AGENT : CONTROLLER_AGENT,
    binary: BINARY,
    topic: "n/a",
    host: chassis.hostname,
    admin_state_up: true,
    alive: isAlive({
      globalNbCfg: nbCfg,
      chassis: privateRow && {
        nbCfg: privateRow.nb_cfg,
        nbCfgTimestampMs: privateRow.nb_cfg_timestamp,
      },
      nowMs,
    }),
    availability_zone: availabilityZonesOf(chassis).join(", "),
    configurations,
    description:
      (privateRow ?? chassis).external_ids.get(AGENT_DESCRIPTION_KEY) ??
      chassis.external_ids.get(AGENT_DESCRIPTION_KEY) ??
      "",
    start_flag: true,
    // SB records no start; the last answer to a raise of nb_cfg is the heartbeat.
    created_at: null,
    started_at: null,
    heartbeat_timestamp: answered ? agentTime(privateRow.nb_cfg_timestamp) : null,
    resources_synced: null,
  };
}

/** The agents over the SB and NB replicas, as of now (alive changes with time alone). */
export function agentsCollection(backend: Backend): ReadableCollection {
  const privateRow = (name: string) =>
    backend.sbReplica.table("Chassis_Private").lookup({ name }) ?? undefined;
  const view = (chassis: Chassis) =>
    agentView(chassis, privateRow(chassis.name), globalNbCfg(backend.nbReplica), Date.now());
  return {
    singular: "agent",
    plural: "agents",
    label: "Agent",
    attributes: new Set(AGENT_ATTRIBUTES),
    *all() {
      for (const chassis of backend.sbReplica.table("Chassis").values()) yield view(chassis);
    },
    get(id) {
      const chassis = backend.sbReplica.table("Chassis").lookup({ name: id });
      return chassis ? view(chassis) : undefined;
    },
  };
}

const IdParams = Type.Object({ id: Type.String() });
const UpdateBody = Type.Object(
  {
    agent: Type.Object(
      { admin_state_up: Type.Optional(BooleanLike()), description: Type.Optional(Text255()) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/** The agent an administrator names; others are told it does not exist, as for any hidden resource. */
function agentFor(caller: Caller, agents: ReadableCollection, id: string): View {
  const view = isAdmin(caller) ? agents.get(id) : undefined;
  if (!view) throw notFound("Agent", id);
  return view;
}

async function setDescription(backend: Backend, id: string, description: string): Promise<void> {
  const txn = backend.sb.transaction();
  const table = backend.sbReplica.table("Chassis_Private").lookup({ name: id })
    ? "Chassis_Private"
    : "Chassis";
  txn.mutate(
    table,
    [["name", "==", id]],
    [
      ["external_ids", "delete", [AGENT_DESCRIPTION_KEY]],
      ["external_ids", "insert", new Map([[AGENT_DESCRIPTION_KEY, description]])],
    ],
  );
  await txn.commit();
}

async function removeChassis(backend: Backend, id: string): Promise<void> {
  const txn = backend.sb.transaction();
  txn.delete("Chassis_Private", [["name", "==", id]]);
  txn.delete("Chassis", [["name", "==", id]]);
  await txn.commit();
}

export const agentRoutes: ResourceRoutes = (app, context, baseUrl) => {
  const { backend } = context;
  const agents = agentsCollection(backend);
  const tags = ["agents"];
  const path = "/v2.0/agents";

  app.get(path, { schema: { summary: "List agents", tags } }, async (request) => {
    const caller = callerOf(request);
    if (!isAdmin(caller)) return { agents: [] };
    await pingAllChassis(backend.nb, backend.nbReplica);
    return listAnswer(
      agents,
      caller,
      normalizeQuery(request.query as RawQuery),
      `${baseUrl}${path}`,
    );
  });

  app.get(
    `${path}/:id`,
    { schema: { summary: "Show an agent", tags, params: IdParams } },
    async (request) => {
      const raw = (request.query as RawQuery).fields;
      const fields = raw === undefined ? [] : parseFields(Array.isArray(raw) ? raw : [raw]);
      return {
        agent: selectFields(agentFor(callerOf(request), agents, request.params.id), fields),
      };
    },
  );

  app.put(
    `${path}/:id`,
    { schema: { summary: "Update an agent", tags, params: IdParams, body: UpdateBody } },
    async (request) => {
      const { id } = request.params;
      agentFor(callerOf(request), agents, id);
      const changes = request.body.agent;
      if (
        changes.admin_state_up !== undefined &&
        !toBoolean(changes.admin_state_up, "admin_state_up")
      ) {
        // ovn-controller has no switch to turn it off with.
        throw new ApiError(
          400,
          "Bad agent request: OVN agent status cannot be updated.",
          "BadRequest",
        );
      }
      if (changes.description !== undefined) {
        await setDescription(backend, id, changes.description);
      }
      return { agent: agentFor(callerOf(request), agents, id) };
    },
  );

  app.delete(
    `${path}/:id`,
    { schema: { summary: "Delete a dead agent", tags, params: IdParams } },
    async (request, reply) => {
      const { id } = request.params;
      const agent = agentFor(callerOf(request), agents, id);
      if (agent.alive === true) {
        throw new ApiError(
          409,
          `Agent ${id} on host ${String(agent.host)} is alive: its ovn-controller would register ` +
            "the chassis again at once. Stop the chassis there first (microovn disable chassis " +
            "--node NAME) and delete the agent once it shows as not alive.",
          "AgentInUse",
        );
      }
      await removeChassis(backend, id);
      return reply.code(204).send();
    },
  );
};
