/**
 * Cluster-wide settings (`microovn config set|get|list|delete KEY`), kept
 * in the Config table of the cluster state database so every member sees
 * the same values and refreshes when one changes. Each key checks its value
 * before anything is written.
 */
import { isIP } from "node:net";
import { MicroOvnError } from "../errors.js";

interface ConfigKey {
  description: string;
  /** The value in its canonical form, or an error saying what is wrong. */
  check(value: string): string;
}

export const CENTRAL_IPS = "ovn.central-ips";

/**
 * Not a setting: `cluster recover` records the new SB cluster's ID under
 * this key, so that every chassis starts ovn-controller afresh on the new
 * cluster (see refresh.ts). `config list` leaves it out; `config set`
 * refuses it like any unknown key.
 */
export const RECOVERY_MARKER = "cluster.recovered-sb";

/** "10.0.0.1, 10.0.0.2" → ["10.0.0.1", "10.0.0.2"]; throws naming the bad entry. */
export function parseCentralIps(value: string): string[] {
  const entries = value.split(",").map((e) => e.trim());
  if (value.trim() === "") {
    throw badValue(CENTRAL_IPS, value, "give at least one IP address, e.g. 10.0.0.1,10.0.0.2");
  }
  for (const entry of entries) {
    if (isIP(entry) === 0) {
      throw badValue(
        CENTRAL_IPS,
        value,
        `"${entry}" is not an IP address; give a comma-separated list such as 10.0.0.1,10.0.0.2`,
      );
    }
  }
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

export const OPENSTACK_API_AUTH = "openstack-api.auth";
export const OPENSTACK_API_STATIC_TOKEN = "openstack-api.static-token";

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

export const CONFIG_KEYS: Record<string, ConfigKey> = {
  [CENTRAL_IPS]: {
    description:
      "addresses of an external OVN central: every chassis and the client tools use its " +
      "NB (6641) and SB (6642) instead of this cluster's centrals",
    check: (value) => parseCentralIps(value).join(","),
  },
  [OPENSTACK_API_AUTH]: {
    description:
      "how the OpenStack API checks tokens: local (its own users and tokens, the default), " +
      "static-token, noauth, keystone or ovirt",
    check: oneOf(OPENSTACK_API_AUTH, AUTH_PLUGINS),
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
