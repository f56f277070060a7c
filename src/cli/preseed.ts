/**
 * `microovn init`'s plan, and the checks both ways of making one share: the
 * preseed file (YAML, read whole and checked whole before anything is
 * done) and the answers the wizard gets. Pure: no I/O, no daemon; the
 * clock only through `now`.
 */
import { parseDocument } from "yaml";
import { MicroOvnError } from "../errors.js";
import { decodeJoinToken, isExpired, tokenExpired, type JoinToken } from "../cluster/join-token.js";
import { parseLifetime } from "../lifecycle/add.js";
import {
  SETUP_SERVICES,
  checkAddress,
  checkMemberName,
  setupServiceProblem,
  type ServiceName,
} from "../member/config.js";

/** Make this machine the first member of a new cluster. */
export interface BootstrapPlan {
  kind: "bootstrap";
  /** Default (daemon's): the first non-loopback IPv4 address, else a global IPv6 one. */
  address?: string;
  /** Default (daemon's): the host name. */
  name?: string;
  /** Absent: auto (all of them). */
  services?: ServiceName[];
  /** The interface whose addresses move onto br-phy (userspace datapath). */
  underlayInterface?: string;
  encapIp?: string;
  /** A join token is issued for each of these names, in this order. */
  tokens: string[];
  /** The tokens' lifetime as `cluster add --timeout` takes it (default 3h). */
  tokensTimeout?: string;
  /** Go ahead although another Open vSwitch/OVN runs here. */
  allowForeignOvs?: boolean;
}

/** Join the cluster that issued `token`; the cluster places this member. */
export interface JoinPlan {
  kind: "join";
  token: string;
  /** This member's name: the token's. */
  name: string;
  address?: string;
  underlayInterface?: string;
  encapIp?: string;
  /** Go ahead although another Open vSwitch/OVN runs here. */
  allowForeignOvs?: boolean;
}

export type InitPlan = BootstrapPlan | JoinPlan;

/** The preseed file's keys (top level; `join` holds `token`). */
export const PRESEED_KEYS = [
  "address",
  "name",
  "create",
  "services",
  "encap_ip",
  "underlay_interface",
  "tokens",
  "tokens_timeout",
  "join",
  "allow_foreign_ovs",
] as const;
const JOIN_KEYS = ["token"] as const;

// ---------------------------------------------------------------------------
// Checks of single values. Each returns the value, or throws a MicroOvnError
// whose message is one line saying what is wrong (the wizard shows it and
// asks again; the preseed reader puts the field's name in front).

function invalid(message: string): MicroOvnError {
  return new MicroOvnError("INVALID_ANSWER", message);
}

/** An IPv4 or IPv6 address. */
export function checkIp(text: string): string {
  return checkAddress(text);
}

/**
 * A network interface name as Linux allows it (1-15 characters, no
 * slash, colon or blank, not "." or ".."); whether this machine has it
 * is checked apart.
 */
export function checkInterfaceName(text: string): string {
  if (!/^[^/:\s]{1,15}$/.test(text) || text === "." || text === "..") {
    throw invalid(`"${text}" is not a network interface name (e.g. eth1; see \`ip link\`)`);
  }
  return text;
}

/** yes/y/no/n, any case; empty is `defaultValue`. */
export function parseYesNo(text: string, defaultValue: boolean): boolean {
  const t = text.trim().toLowerCase();
  if (t === "") return defaultValue;
  if (t === "yes" || t === "y") return true;
  if (t === "no" || t === "n") return false;
  throw invalid(`"${text.trim()}" is neither yes nor no`);
}

/** A member name (1-63 letters, digits, dots and dashes). */
export function checkName(text: string): string {
  try {
    return checkMemberName(text);
  } catch (e) {
    throw invalid((e as Error).message);
  }
}

/**
 * A list of services: unique, known, not empty, and chassis only with
 * switch. Returned in the usual order (central, switch, chassis).
 */
export function checkServiceList(items: readonly string[]): ServiceName[] {
  if (items.length === 0) {
    throw invalid(`the list of services is empty; choose from ${SETUP_SERVICES.join(", ")}`);
  }
  const seen = new Set<string>();
  for (const s of items) {
    const problem = setupServiceProblem(s);
    if (problem !== undefined) {
      throw invalid(`${problem}; choose from ${SETUP_SERVICES.join(", ")}`);
    }
    if (seen.has(s)) throw invalid(`"${s}" is listed twice`);
    seen.add(s);
  }
  if (seen.has("chassis") && !seen.has("switch")) {
    throw invalid("the chassis service needs the switch service");
  }
  return SETUP_SERVICES.filter((s) => seen.has(s));
}

/** The wizard's answer: empty or "auto" is undefined (auto), else a comma list. */
export function parseServicesAnswer(text: string): ServiceName[] | undefined {
  const t = text.trim().toLowerCase();
  if (t === "" || t === "auto") return undefined;
  return checkServiceList(t.split(",").map((s) => s.trim()));
}

/** A join token that reads and has not expired at `now`. */
export function checkJoinToken(text: string, now = new Date()): JoinToken {
  let token: JoinToken;
  try {
    token = decodeJoinToken(text);
  } catch (e) {
    throw invalid((e as Error).message);
  }
  if (isExpired(token, now))
    throw invalid(tokenExpired(token.name, new Date(token.expiresAt)).message);
  return token;
}

/** Names to issue join tokens for: valid, each once, none of them this member. */
export function checkTokenName(text: string, taken: readonly string[]): string {
  const name = checkName(text);
  if (taken.includes(name)) throw invalid(`"${name}" is already taken (${taken.join(", ")})`);
  return name;
}

// ---------------------------------------------------------------------------
// The preseed file.

const MEMBER_NAME =
  "a member name (1-63 letters, digits, dots and dashes, starting and ending with a letter or digit)";

function show(value: unknown): string {
  if (value === null) return "nothing";
  if (Array.isArray(value)) return `a list (${JSON.stringify(value)})`;
  if (typeof value === "object") return `a mapping (${JSON.stringify(value)})`;
  return JSON.stringify(value);
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a mapping" : JSON.stringify(value);
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function unknownKey(key: string, known: readonly string[], prefix = ""): string {
  const snake = key.replaceAll("-", "_").toLowerCase();
  const hint = snake !== key && known.includes(snake) ? ` (did you mean "${prefix}${snake}"?)` : "";
  return `unknown key "${prefix}${key}"${hint}; known keys: ${known.map((k) => prefix + k).join(", ")}`;
}

/**
 * Reads a preseed file and checks all of it. Throws BAD_PRESEED listing
 * every problem, one per line, each naming its field.
 */
export function parsePreseed(text: string, options: { now?: Date } = {}): InitPlan {
  const now = options.now ?? new Date();
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!.message.split("\n")[0]!.replace(/:$/, "");
    throw new MicroOvnError("BAD_PRESEED", `preseed: not valid YAML: ${first}`);
  }
  const data: unknown = doc.toJS({ maxAliasCount: 100 });
  if (data === null || data === undefined) {
    throw new MicroOvnError(
      "BAD_PRESEED",
      `preseed: the file is empty; give at least "create: true" or "join: {token: …}"`,
    );
  }
  if (!isMapping(data)) {
    throw new MicroOvnError(
      "BAD_PRESEED",
      `preseed: the file must be a mapping of keys (${PRESEED_KEYS.join(", ")}), got ${kindOf(data)}`,
    );
  }

  const problems: string[] = [];
  const problem = (field: string, message: string) => problems.push(`"${field}" ${message}`);
  for (const key of Object.keys(data)) {
    if (!(PRESEED_KEYS as readonly string[]).includes(key)) {
      problems.push(unknownKey(key, PRESEED_KEYS));
    }
  }

  /**
   * A field that must be a string (a number is taken as written) passing
   * `check`; otherwise "KEY must be EXPECTED, got VALUE".
   */
  const field = <T>(
    key: string,
    value: unknown,
    expected: string,
    check: (s: string) => T,
  ): T | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value === "string" || typeof value === "number") {
      try {
        return check(String(value));
      } catch {
        /* said below */
      }
    }
    problem(key, `must be ${expected}, got ${show(value)}`);
    return undefined;
  };
  const ip = (key: string) => field(key, data[key], "an IP address", checkIp);

  const address = ip("address");
  const encapIp = ip("encap_ip");
  const underlayInterface = field(
    "underlay_interface",
    data.underlay_interface,
    "a network interface name (e.g. eth1)",
    checkInterfaceName,
  );
  const name = field("name", data.name, MEMBER_NAME, checkName);

  /** A true/false field (false when absent). */
  const flag = (key: string): boolean => {
    const value = data[key];
    if (value === undefined || value === null) return false;
    if (typeof value === "boolean") return value;
    problem(key, `must be true or false, got ${show(value)}`);
    return false;
  };
  const create = flag("create");
  const allowForeignOvs = flag("allow_foreign_ovs");

  let token: JoinToken | undefined;
  let tokenText: string | undefined;
  if (data.join !== undefined && data.join !== null) {
    if (!isMapping(data.join)) {
      problem("join", `must be a mapping with "token", got ${show(data.join)}`);
    } else {
      for (const key of Object.keys(data.join)) {
        if (!(JOIN_KEYS as readonly string[]).includes(key)) {
          problems.push(unknownKey(key, JOIN_KEYS, "join."));
        }
      }
      const t = data.join.token;
      if (t === undefined || t === null) {
        problem("join.token", "is missing: give the token `microovn cluster add NAME` printed");
      } else if (typeof t !== "string") {
        problem("join.token", `must be a join token (a string), got ${show(t)}`);
      } else {
        try {
          token = checkJoinToken(t, now);
          tokenText = t.trim();
        } catch (e) {
          problem("join.token", `cannot be used: ${(e as Error).message}`);
        }
      }
    }
  }
  const joining = data.join !== undefined && data.join !== null;
  if (create && joining) {
    problems.push(
      `"create: true" and "join" exclude each other: bootstrap a new cluster or join one, not both`,
    );
  } else if (!create && !joining) {
    problems.push(
      `nothing to do: give "create: true" to bootstrap a new cluster, or "join.token" to join one`,
    );
  }

  let services: ServiceName[] | undefined;
  const s = data.services;
  if (s === "auto" || s === undefined || s === null) {
    services = undefined;
  } else if (Array.isArray(s) && s.every((x) => typeof x === "string")) {
    try {
      services = checkServiceList(s);
      if (joining && !create) {
        problem(
          "services",
          `must be "auto" when joining: the cluster decides what a joining member runs ` +
            "(change it afterwards with `microovn enable|disable SERVICE`)",
        );
      }
    } catch (e) {
      problem("services", `must be "auto" or a list of services: ${(e as Error).message}`);
    }
  } else {
    problem(
      "services",
      `must be "auto" or a list of ${SETUP_SERVICES.join(", ")} (e.g. [central, switch, chassis]), ` +
        `got ${show(s)}`,
    );
  }
  for (const [key, value] of [
    ["encap_ip", encapIp],
    ["underlay_interface", underlayInterface],
  ] as const) {
    if (value !== undefined && services !== undefined && !services.includes("chassis")) {
      problem(key, `is for the chassis service, which "services" does not include`);
    }
  }

  const tokens: string[] = [];
  if (data.tokens !== undefined && data.tokens !== null) {
    if (!Array.isArray(data.tokens)) {
      problem("tokens", `must be a list of member names (e.g. [m2, m3]), got ${show(data.tokens)}`);
    } else {
      for (const [i, t] of data.tokens.entries()) {
        const n = field(`tokens[${i}]`, t, MEMBER_NAME, checkName);
        if (n === undefined) continue;
        if (tokens.includes(n)) problem(`tokens[${i}]`, `names "${n}" a second time`);
        else if (n === name) problem(`tokens[${i}]`, `is this member's own name ("${n}")`);
        else tokens.push(n);
      }
      if (joining && !create) {
        problem(
          "tokens",
          "is only for bootstrapping (create: true); once joined, issue tokens with " +
            "`microovn cluster add NAME` on a voter",
        );
      }
    }
  }
  const tokensTimeout = field(
    "tokens_timeout",
    data.tokens_timeout,
    "a token lifetime: seconds, or e.g. 30m, 3h, 2d (at most 30d)",
    (x) => {
      parseLifetime(x);
      return x;
    },
  );
  if (tokensTimeout !== undefined && (data.tokens === undefined || data.tokens === null)) {
    problem("tokens_timeout", `needs "tokens": it is the lifetime of the tokens issued for them`);
  }

  if (token !== undefined && name !== undefined && name !== token.name) {
    problem(
      "name",
      `must be the name the join token was issued for ("${token.name}"), got "${name}"; ` +
        "leave it out to use the token's",
    );
  }

  if (problems.length > 0) {
    throw new MicroOvnError("BAD_PRESEED", problems.map((p) => `preseed: ${p}`).join("\n"));
  }
  if (create) {
    return {
      kind: "bootstrap",
      ...(address !== undefined ? { address } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(services !== undefined ? { services } : {}),
      ...(underlayInterface !== undefined ? { underlayInterface } : {}),
      ...(encapIp !== undefined ? { encapIp } : {}),
      tokens,
      ...(tokensTimeout !== undefined ? { tokensTimeout } : {}),
      ...(allowForeignOvs ? { allowForeignOvs } : {}),
    };
  }
  return {
    kind: "join",
    token: tokenText!,
    name: token!.name,
    ...(address !== undefined ? { address } : {}),
    ...(underlayInterface !== undefined ? { underlayInterface } : {}),
    ...(encapIp !== undefined ? { encapIp } : {}),
    ...(allowForeignOvs ? { allowForeignOvs } : {}),
  };
}
