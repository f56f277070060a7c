/**
 * Cluster-wide settings (`microovn config set|get|list|delete KEY`), kept
 * in the Config table of the cluster state database so every member sees
 * the same values and refreshes when one changes. Each key checks its value
 * before anything is written.
 */
import { isIP } from "node:net";
import { MicroOvnError } from "../errors.js";
import { addressProblem, canonicalAddress } from "../util/address.js";
import { SECURITY_LOG_VALUES } from "../security/switch.js";
import {
  DEFAULT_ELECTION_TIMER_MS,
  MAX_ELECTION_TIMER_MS,
  MIN_ELECTION_TIMER_MS,
} from "../ovn/election-timer.js";
import { formatListenAddress, parseListenAddress } from "./listen-address.js";

interface ConfigKey {
  description: string;
  /** The value in its canonical form, or an error saying what is wrong. */
  check(value: string): string;
  /** Refuses a value the cluster's members (by address) cannot take, saying why. */
  checkMembers?(value: string, addresses: readonly string[]): void;
}

export const CENTRAL_IPS = "ovn.central-ips";
export const SECURITY_LOG = "security-log";
export const METRICS_ADDRESS = "metrics.address";
export const METRICS_TLS = "metrics.tls";
/** Loopback only unless `metrics.address` says otherwise. */
export const DEFAULT_METRICS_ADDRESS = "127.0.0.1:9310";
export const ELECTION_TIMER = "ovn.election-timer";

/** Whole milliseconds within the range; throws saying what to give. */
export function parseElectionTimer(value: string): number {
  const ms = Number(value.trim());
  if (!/^\s*\d+\s*$/.test(value) || ms < MIN_ELECTION_TIMER_MS || ms > MAX_ELECTION_TIMER_MS) {
    throw badValue(
      ELECTION_TIMER,
      value,
      `give whole milliseconds from ${MIN_ELECTION_TIMER_MS} to ${MAX_ELECTION_TIMER_MS}, ` +
        `e.g. ${DEFAULT_ELECTION_TIMER_MS}`,
    );
  }
  return ms;
}

/**
 * Not a setting: `cluster recover` records the new SB cluster's ID under
 * this key, so that every chassis starts ovn-controller afresh on the new
 * cluster (see refresh.ts). `config list` leaves it out; `config set`
 * refuses it like any unknown key.
 */
export const RECOVERY_MARKER = "cluster.recovered-sb";

/**
 * Not settings either: the leases under which one member converts NB or SB
 * to a newer schema (src/upgrade/lease.ts), one key per database. Neither
 * `config list` nor the layout shows them.
 */
export const CONVERSION_LEASE_PREFIX = "upgrade.conversion-lease/";

/** "10.0.0.1, 10.0.0.2" → ["10.0.0.1", "10.0.0.2"]; throws naming the bad entry. */
export function parseCentralIps(value: string): string[] {
  if (value.trim() === "") {
    throw badValue(CENTRAL_IPS, value, "give at least one IP address, e.g. 10.0.0.1,10.0.0.2");
  }
  const given = value.split(",").map((e) => e.trim());
  for (const entry of given) {
    const problem = addressProblem(entry);
    if (problem !== undefined) {
      throw badValue(
        CENTRAL_IPS,
        value,
        `${problem}; give a comma-separated list such as 10.0.0.1,10.0.0.2 or fd00::1,fd00::2`,
      );
    }
  }
  const entries = given.map(canonicalAddress);
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry)) throw badValue(CENTRAL_IPS, value, `${entry} is listed twice`);
    seen.add(entry);
  }
  return entries;
}

function badValue(key: string, value: string, why: string): MicroOvnError {
  return new MicroOvnError("BAD_CONFIG_VALUE", `${key} cannot be "${value}": ${why}`);
}

export const DASHBOARD_ADDRESS = "dashboard.address";
/** Each member's own cluster address, port 6690, with the member's cluster certificate. */
export const DEFAULT_DASHBOARD_ADDRESS = "member:6690";

export const OPENSTACK_API_AUTH = "openstack-api.auth";
export const OPENSTACK_API_STATIC_TOKEN = "openstack-api.static-token";
export const OPENSTACK_API_TOKEN_EXPIRATION = "openstack-api.token-expiration";
export const OPENSTACK_API_OVIRT_URL = "openstack-api.ovirt-url";
export const OPENSTACK_API_OVIRT_CA_FILE = "openstack-api.ovirt-ca-file";
export const OPENSTACK_API_OVIRT_CLIENT_ID = "openstack-api.ovirt-client-id";
export const OPENSTACK_API_OVIRT_CLIENT_SECRET = "openstack-api.ovirt-client-secret";
export const OPENSTACK_API_OVIRT_ADMIN_USER = "openstack-api.ovirt-admin-user-name";
export const OPENSTACK_API_OVIRT_ADMIN_GROUP = "openstack-api.ovirt-admin-group";
export const OPENSTACK_API_OVIRT_ADMIN_ROLE = "openstack-api.ovirt-admin-role";
export const OPENSTACK_API_KEYSTONE_URL = "openstack-api.keystone-url";
export const OPENSTACK_API_KEYSTONE_CA_FILE = "openstack-api.keystone-ca-file";
export const OPENSTACK_API_DISTRIBUTED_FIPS = "openstack-api.distributed-floating-ips";

/** Tokens of the local plugin live this long unless openstack-api.token-expiration says otherwise. */
export const DEFAULT_TOKEN_EXPIRATION_S = 3600;
const MIN_TOKEN_EXPIRATION_S = 5;
const MAX_TOKEN_EXPIRATION_S = 7 * 24 * 3600;

/**
 * Where `noauth` may be used: a member address on loopback (127.0.0.0/8,
 * ::1), or in 198.18.0.0/15, the range set aside for test networks (RFC
 * 2544) in which the lab puts its members and nothing else does. Anywhere
 * else, anyone who reaches the port would be an administrator.
 */
export function noauthAllowedAt(address: string): boolean {
  if (address === "::1") return true;
  if (isIP(address) !== 4) return false;
  const [a, b] = address.split(".").map(Number);
  return a === 127 || (a === 198 && (b === 18 || b === 19));
}

/** How the OpenStack API checks tokens (see src/openstack/auth/). */
export const AUTH_PLUGINS = ["local", "static-token", "noauth", "keystone", "ovirt"] as const;
export type AuthPluginName = (typeof AUTH_PLUGINS)[number];

function oneOf(key: string, choices: readonly string[]): (value: string) => string {
  return (value) => {
    if (!choices.includes(value)) {
      throw badValue(key, value, `choose one of ${choices.join(", ")}`);
    }
    return value;
  };
}

function nonEmpty(key: string, value: string): string {
  if (value.trim() === "")
    throw badValue(key, value, "give a value, or `microovn config delete` it");
  return value.trim();
}

function absolutePath(key: string, value: string): string {
  if (!value.startsWith("/"))
    throw badValue(key, value, "give an absolute path, e.g. /etc/ssl/ca.pem");
  return value;
}

/**
 * An https URL without a trailing slash. `plainHttp` also takes http to
 * loopback, for a Keystone on the same machine that only speaks plain HTTP.
 */
function httpsUrl(key: string, value: string, plainHttp = false): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw badValue(key, value, "give a URL such as https://host:443");
  }
  const schemes = plainHttp ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol) || url.search !== "" || url.hash !== "") {
    throw badValue(
      key,
      value,
      `give a ${schemes.join(" or ").replaceAll(":", "")} URL such as https://host:443, without a query`,
    );
  }
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  if (url.protocol === "http:" && !loopback) {
    throw badValue(
      key,
      value,
      "plain http carries tokens in the clear: use https, or http only to loopback",
    );
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Neutron's default quotas, per project, for what the OpenStack API
 * counts; `openstack-api.quota.<resource>` changes a default for every
 * project, `openstack quota set` one project's. -1 is no limit.
 */
export const QUOTA_DEFAULTS = {
  network: 100,
  subnet: 100,
  port: 500,
  router: 10,
  floatingip: 50,
  security_group: 10,
  security_group_rule: 100,
} as const;
export type QuotaResource = keyof typeof QUOTA_DEFAULTS;
export const QUOTA_RESOURCES = Object.keys(QUOTA_DEFAULTS) as QuotaResource[];

export function quotaDefaultKey(resource: QuotaResource): string {
  return `openstack-api.quota.${resource}`;
}

/**
 * Not settings: a project's own quotas (`openstack quota set`) are kept in
 * the Config table under `openstack-api.project-quota/<project id>/<resource>`.
 * `config list` leaves them out and `config set|get|delete` refuses them
 * like any unknown key; the OpenStack API is where they are changed.
 */
export const PROJECT_QUOTA_PREFIX = "openstack-api.project-quota/";

/** A limit: a whole number from -1 (no limit) up; `key` names it in the error. */
export function parseQuotaLimit(key: string, value: string): number {
  const n = Number(value.trim());
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < -1) {
    throw badValue(key, value, "give a whole number, 0 or more, or -1 for no limit");
  }
  return n;
}

const QUOTA_KEYS: Record<string, ConfigKey> = Object.fromEntries(
  QUOTA_RESOURCES.map((resource) => [
    quotaDefaultKey(resource),
    {
      description:
        `the OpenStack API's default quota of ${resource} per project ` +
        `(${QUOTA_DEFAULTS[resource]} unless set, Neutron's; -1 for no limit)`,
      check: (value: string) => String(parseQuotaLimit(quotaDefaultKey(resource), value)),
    },
  ]),
);

export const CONFIG_KEYS: Record<string, ConfigKey> = {
  [CENTRAL_IPS]: {
    description:
      "addresses of an external OVN central: every chassis and the client tools use its " +
      "NB (6641) and SB (6642) instead of this cluster's centrals",
    check: (value) => parseCentralIps(value).join(","),
  },
  [ELECTION_TIMER]: {
    description:
      "the Raft election timer of NB, SB and the cluster state database, in ms " +
      `(${DEFAULT_ELECTION_TIMER_MS} unless set; ${MIN_ELECTION_TIMER_MS} to ${MAX_ELECTION_TIMER_MS}): ` +
      "how long followers wait for a silent leader before electing another",
    check: (value) => String(parseElectionTimer(value)),
  },
  [OPENSTACK_API_AUTH]: {
    description:
      "how the OpenStack API checks tokens: local (its own users and tokens, the default), " +
      "static-token, noauth, keystone or ovirt",
    check: oneOf(OPENSTACK_API_AUTH, AUTH_PLUGINS),
    checkMembers: (value, addresses) => {
      const exposed = addresses.filter((a) => !noauthAllowedAt(a));
      if (value === "noauth" && exposed.length > 0) {
        throw badValue(
          OPENSTACK_API_AUTH,
          value,
          `noauth makes anyone who reaches the API an administrator, so it is only for members ` +
            `on loopback or in the lab (198.18.0.0/15), and ${exposed.join(", ")} ` +
            `${exposed.length === 1 ? "is" : "are"} neither; use local (the default)`,
        );
      }
    },
  },
  [OPENSTACK_API_TOKEN_EXPIRATION]: {
    description:
      `how long a token of the OpenStack API's local plugin is valid, in seconds ` +
      `(${DEFAULT_TOKEN_EXPIRATION_S} unless set; ${MIN_TOKEN_EXPIRATION_S} to ${MAX_TOKEN_EXPIRATION_S})`,
    check: (value) => {
      const seconds = Number(value.trim());
      if (
        !/^\s*\d+\s*$/.test(value) ||
        seconds < MIN_TOKEN_EXPIRATION_S ||
        seconds > MAX_TOKEN_EXPIRATION_S
      ) {
        throw badValue(
          OPENSTACK_API_TOKEN_EXPIRATION,
          value,
          `give whole seconds from ${MIN_TOKEN_EXPIRATION_S} to ${MAX_TOKEN_EXPIRATION_S} (7 days), ` +
            "e.g. 3600",
        );
      }
      return String(seconds);
    },
  },
  [OPENSTACK_API_OVIRT_URL]: {
    description:
      "with openstack-api.auth ovirt: oVirt engine's HTTPS URL (e.g. https://engine.example:443), " +
      "whose SSO issues and checks the tokens",
    check: (value) => httpsUrl(OPENSTACK_API_OVIRT_URL, value),
  },
  [OPENSTACK_API_OVIRT_CA_FILE]: {
    description:
      "with openstack-api.auth ovirt: the CA certificate file (PEM, an absolute path on every " +
      "member that runs the API) that oVirt engine's certificate is checked against",
    check: (value) => absolutePath(OPENSTACK_API_OVIRT_CA_FILE, value),
  },
  [OPENSTACK_API_OVIRT_CLIENT_ID]: {
    description: "with openstack-api.auth ovirt: the SSO client id with which tokens are checked",
    check: (value) => nonEmpty(OPENSTACK_API_OVIRT_CLIENT_ID, value),
  },
  [OPENSTACK_API_OVIRT_CLIENT_SECRET]: {
    description: "with openstack-api.auth ovirt: that SSO client's secret",
    check: (value) => nonEmpty(OPENSTACK_API_OVIRT_CLIENT_SECRET, value),
  },
  [OPENSTACK_API_OVIRT_ADMIN_USER]: {
    description:
      "with openstack-api.auth ovirt: the engine user admitted as administrator (e.g. admin@internal)",
    check: (value) => nonEmpty(OPENSTACK_API_OVIRT_ADMIN_USER, value),
  },
  [OPENSTACK_API_OVIRT_ADMIN_GROUP]: {
    description:
      "with openstack-api.auth ovirt: members of this engine group are admitted as administrators",
    check: (value) => nonEmpty(OPENSTACK_API_OVIRT_ADMIN_GROUP, value),
  },
  [OPENSTACK_API_OVIRT_ADMIN_ROLE]: {
    description:
      "with openstack-api.auth ovirt: users holding this engine role are admitted as administrators",
    check: (value) => nonEmpty(OPENSTACK_API_OVIRT_ADMIN_ROLE, value),
  },
  [OPENSTACK_API_KEYSTONE_URL]: {
    description:
      "with openstack-api.auth keystone: the external Keystone's URL (e.g. https://keystone:5000), " +
      "which checks every token",
    check: (value) => httpsUrl(OPENSTACK_API_KEYSTONE_URL, value, true),
  },
  [OPENSTACK_API_KEYSTONE_CA_FILE]: {
    description:
      "with openstack-api.auth keystone: the CA certificate file (PEM, an absolute path on every " +
      "member that runs the API) that Keystone's certificate is checked against",
    check: (value) => absolutePath(OPENSTACK_API_KEYSTONE_CA_FILE, value),
  },
  [OPENSTACK_API_STATIC_TOKEN]: {
    description:
      "with openstack-api.auth static-token: the one token that is accepted, as an administrator " +
      "of the admin project (at least 16 characters)",
    check: (value) => {
      if (value.length < 16 || /\s/.test(value)) {
        throw badValue(
          OPENSTACK_API_STATIC_TOKEN,
          "…",
          "give at least 16 characters without spaces, e.g. from `openssl rand -hex 24`",
        );
      }
      return value;
    },
  },
  [OPENSTACK_API_DISTRIBUTED_FIPS]: {
    description:
      "whether the OpenStack API makes a floating IP distributed (translated on its VM's chassis) " +
      "where that chassis bridges the external network: true (the default) or false (always on " +
      "the gateway chassis)",
    check: oneOf(OPENSTACK_API_DISTRIBUTED_FIPS, ["true", "false"]),
  },
  [DASHBOARD_ADDRESS]: {
    description:
      `where every member serves the web dashboard over HTTPS (${DEFAULT_DASHBOARD_ADDRESS} unless ` +
      "set): HOST:PORT with HOST member (each member's own address), 0.0.0.0, [::] or loopback; " +
      "off turns it off",
    check: (value) => {
      const parsed = parseListenAddress(value, 6690);
      if (typeof parsed === "string") throw badValue(DASHBOARD_ADDRESS, value, parsed);
      return formatListenAddress(parsed);
    },
  },
  [SECURITY_LOG]: {
    description:
      "whether every member records authentication and authorisation events in " +
      "DIR/logs/security.log: on (the default) or off",
    check: oneOf(SECURITY_LOG, SECURITY_LOG_VALUES),
  },
  ...QUOTA_KEYS,
  [METRICS_ADDRESS]: {
    description:
      `where every member serves Prometheus metrics (${DEFAULT_METRICS_ADDRESS} unless set): ` +
      "0.0.0.0:PORT, [::]:PORT, member:PORT (each member's own address) or off; HTTPS with the " +
      "member's certificate unless on loopback or metrics.tls is off",
    check: (value) => {
      const parsed = parseListenAddress(value);
      if (typeof parsed === "string") throw badValue(METRICS_ADDRESS, value, parsed);
      return formatListenAddress(parsed);
    },
  },
  [METRICS_TLS]: {
    description:
      "on (the default): metrics off loopback are served over HTTPS with the member's cluster " +
      "certificate; off: plain HTTP",
    check: oneOf(METRICS_TLS, ["on", "off"]),
  },
};

/** The key's definition, or an error listing the keys there are. */
export function configKey(key: string): ConfigKey {
  const known = Object.hasOwn(CONFIG_KEYS, key) ? CONFIG_KEYS[key] : undefined;
  if (!known) {
    throw new MicroOvnError(
      "UNKNOWN_CONFIG_KEY",
      `"${key}" is not a setting; known: ${Object.keys(CONFIG_KEYS).join(", ")}`,
    );
  }
  return known;
}
