/**
 * A security group rule as Neutron defines it, and the checks Neutron makes
 * before it accepts one: each refusal is a 400 naming what is wrong. Pure.
 */
import { ApiError } from "../../errors.js";
import { parseIpPrefix } from "./prefix.js";
import {
  ICMP,
  ICMPV6,
  IPV6_ONLY_PROTOCOLS,
  PORT_PROTOCOLS,
  protocolNumber,
  validProtocolsText,
} from "./protocols.js";

export type Direction = "ingress" | "egress";
export type Ethertype = "IPv4" | "IPv6";

/** What decides a rule's traffic: the part of a rule its ACL is made from. */
export interface RuleSpec {
  id: string;
  direction: Direction;
  ethertype: Ethertype;
  /** As given (a name or a number as a string); null for any protocol. */
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  /** As given, with its prefix length; null for anywhere. */
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}

/** The attributes of a rule request that decide its traffic, unchecked. */
export interface RuleRequest {
  direction?: unknown;
  ethertype?: unknown;
  protocol?: unknown;
  port_range_min?: unknown;
  port_range_max?: unknown;
  remote_ip_prefix?: unknown;
  remote_group_id?: unknown;
}

/** A value as the client wrote it, for messages. */
function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function badRequest(message: string, type = "HTTPBadRequest"): ApiError {
  return new ApiError(400, message, type);
}

function invalidInput(attribute: string, reason: string): ApiError {
  return badRequest(`Invalid input for ${attribute}. Reason: ${reason}.`, "InvalidInput");
}

function checkDirection(value: unknown): Direction {
  if (value === undefined || value === null) {
    throw badRequest(
      "Failed to parse request. Required attribute 'direction' not specified: give 'ingress' or 'egress'.",
    );
  }
  if (value !== "ingress" && value !== "egress") {
    throw invalidInput("direction", `'${shown(value)}' is not in ['ingress', 'egress']`);
  }
  return value;
}

function checkEthertype(value: unknown): Ethertype {
  if (value === undefined || value === null) return "IPv4";
  // Neutron takes the family in any case and answers it as IPv4/IPv6.
  if (typeof value === "string" && value.toLowerCase() === "ipv4") return "IPv4";
  if (typeof value === "string" && value.toLowerCase() === "ipv6") return "IPv6";
  throw invalidInput("ethertype", `'${shown(value)}' is not in ['IPv4', 'IPv6']`);
}

function checkProtocol(value: unknown): { text: string; number: number } | null {
  if (value === undefined || value === null || value === "" || value === "any") return null;
  const given = typeof value === "string" || typeof value === "number" ? value : undefined;
  const n = given === undefined ? undefined : protocolNumber(given);
  if (given === undefined || n === undefined) {
    throw badRequest(
      `Security group rule protocol ${JSON.stringify(value)} not supported: give ${validProtocolsText()}.`,
      "SecurityGroupRuleInvalidProtocol",
    );
  }
  return { text: typeof given === "number" ? String(given) : given.toLowerCase(), number: n };
}

function checkInteger(attribute: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  const n = typeof value === "string" && /^-?[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw invalidInput(attribute, `'${shown(value)}' is not an integer`);
  }
  return n;
}

function checkPorts(
  protocol: { text: string; number: number } | null,
  min: number | null,
  max: number | null,
): [number | null, number | null] {
  if (min === null && max === null) return [null, null];
  if (!protocol) {
    throw badRequest(
      "Must also specify protocol if port range is given.",
      "SecurityGroupProtocolRequiredWithPorts",
    );
  }
  if (protocol.number === ICMP || protocol.number === ICMPV6) {
    for (const [field, attr, v] of [
      ["type", "port_range_min", min],
      ["code", "port_range_max", max],
    ] as const) {
      if (v !== null && (v < 0 || v > 255)) {
        throw badRequest(
          `Invalid value for ICMP ${field} (${attr}) ${v}. It must be 0 to 255.`,
          "SecurityGroupInvalidIcmpValue",
        );
      }
    }
    if (min === null) {
      throw badRequest(
        `ICMP code (port_range_max) ${max} is provided but ICMP type (port_range_min) is missing: give the type too.`,
        "SecurityGroupMissingIcmpType",
      );
    }
    return [min, max];
  }
  if (!PORT_PROTOCOLS.has(protocol.number)) {
    throw badRequest(
      `Invalid protocol ${protocol.text} for port range: port ranges are only supported for tcp, udp and sctp.`,
      "SecurityGroupInvalidProtocolForPortRange",
    );
  }
  for (const v of [min, max]) {
    if (v !== null && (v < 1 || v > 65535)) {
      throw badRequest(
        `Invalid value for port ${v}: ports are 1 to 65535.`,
        "SecurityGroupInvalidPortValue",
      );
    }
  }
  // One end alone names one port.
  const low = min ?? max!;
  const high = max ?? min!;
  if (low > high) {
    throw badRequest(
      `For TCP/UDP/SCTP protocols, port_range_min (${low}) must be <= port_range_max (${high}).`,
      "SecurityGroupInvalidPortRange",
    );
  }
  return [low, high];
}

/**
 * The rule a request asks for, checked as Neutron checks it: direction
 * required, ethertype IPv4 by default, a known protocol, ports only with a
 * protocol that has them (ICMP: type and code 0–255), a prefix of the
 * rule's family, not both a prefix and a remote group.
 */
export function checkRule(id: string, request: RuleRequest): RuleSpec {
  const direction = checkDirection(request.direction);
  const ethertype = checkEthertype(request.ethertype);
  const protocol = checkProtocol(request.protocol);
  if (protocol && ethertype === "IPv4" && IPV6_ONLY_PROTOCOLS.has(protocol.number)) {
    throw badRequest(
      `Invalid ethertype IPv4 for protocol ${protocol.text}: use ethertype IPv6.`,
      "SecurityGroupEthertypeConflictWithProtocol",
    );
  }
  const [min, max] = checkPorts(
    protocol,
    checkInteger("port_range_min", request.port_range_min),
    checkInteger("port_range_max", request.port_range_max),
  );
  let remoteIpPrefix: string | null = null;
  if (request.remote_ip_prefix !== undefined && request.remote_ip_prefix !== null) {
    const prefix =
      typeof request.remote_ip_prefix === "string"
        ? parseIpPrefix(request.remote_ip_prefix)
        : undefined;
    if (!prefix) {
      throw invalidInput(
        "remote_ip_prefix",
        `'${shown(request.remote_ip_prefix)}' is not a valid IP subnet (give e.g. 10.0.0.0/24 or 2001:db8::/64)`,
      );
    }
    if (prefix.family !== ethertype) {
      throw badRequest(
        `Conflicting value ethertype ${ethertype} for CIDR ${prefix.shown}: give ethertype ${prefix.family} or a prefix of the ${ethertype} family.`,
        "SecurityGroupRuleParameterConflict",
      );
    }
    remoteIpPrefix = prefix.shown;
  }
  let remoteGroupId: string | null = null;
  if (request.remote_group_id !== undefined && request.remote_group_id !== null) {
    if (typeof request.remote_group_id !== "string") {
      throw invalidInput("remote_group_id", `'${shown(request.remote_group_id)}' is not a string`);
    }
    remoteGroupId = request.remote_group_id;
  }
  if (remoteIpPrefix !== null && remoteGroupId !== null) {
    throw badRequest(
      "Only remote_ip_prefix or remote_group_id may be provided, not both.",
      "SecurityGroupRemoteGroupAndRemoteIpPrefix",
    );
  }
  return {
    id,
    direction,
    ethertype,
    protocol: protocol?.text ?? null,
    port_range_min: min,
    port_range_max: max,
    remote_ip_prefix: remoteIpPrefix,
    remote_group_id: remoteGroupId,
  };
}

/**
 * What makes two rules of one group the same rule for Neutron's
 * SecurityGroupRuleExists: the protocol by number, the prefix by the
 * network it names (anywhere given as 0.0.0.0/0 is anywhere).
 */
export function ruleKey(rule: RuleSpec): string {
  const prefix = rule.remote_ip_prefix === null ? undefined : parseIpPrefix(rule.remote_ip_prefix);
  const anywhere = prefix?.network === "0.0.0.0/0" || prefix?.network === "::/0";
  return JSON.stringify([
    rule.direction,
    rule.ethertype,
    rule.protocol === null ? null : protocolNumber(rule.protocol),
    rule.port_range_min,
    rule.port_range_max,
    anywhere ? null : (prefix?.network ?? null),
    rule.remote_group_id,
  ]);
}
