/**
 * What microovnd tells the OpenStack API service, in a file of the member's
 * state dir: the member address to listen on, where NB and the cluster
 * state database are, and which certificate files to use. microovnd writes
 * it before it starts the service and again (then sends SIGHUP) when the
 * cluster's members or certificates change, so the service follows without
 * a restart. Cluster-wide choices (the auth plugin and its keys) are not
 * here: the service reads them from the state database's Config table.
 */
import { readFile } from "node:fs/promises";
import { Type, type Static } from "typebox";
import { Value } from "typebox/value";
import { MicroOvnError } from "../errors.js";
import { writeAtomically } from "../util/fs.js";

const TlsFilesSchema = Type.Object({
  privateKey: Type.String({ minLength: 1 }),
  certificate: Type.String({ minLength: 1 }),
  caCert: Type.String({ minLength: 1 }),
});

export const ApiSettingsSchema = Type.Object({
  /** The member address: every port listens there, and links name it. */
  address: Type.String({ minLength: 1 }),
  /** NB's servers (any order: the client finds the Raft leader). */
  nbRemotes: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** SB's servers (which chassis bound a port). */
  sbRemotes: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** The cluster state database's servers. */
  stateDbRemotes: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
  /** The HTTPS ports' certificate (the cluster's or the operator's). */
  serverTls: TlsFilesSchema,
  /** The member's client certificate for NB and the state database. */
  databaseTls: TlsFilesSchema,
});
export type ApiSettings = Static<typeof ApiSettingsSchema>;

export function sameSettings(a: ApiSettings, b: ApiSettings): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function writeApiSettings(path: string, settings: ApiSettings): Promise<void> {
  await writeAtomically(path, `${JSON.stringify(settings, null, 2)}\n`, 0o600);
}

/** The settings in `path`, checked; an error names the file and what is wrong. */
export async function readApiSettings(path: string): Promise<ApiSettings> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new MicroOvnError(
      "OPENSTACK_API_SETTINGS",
      `cannot read the service settings ${path}: ${(e as Error).message}; ` +
        "`microovn disable openstack-api` then `enable openstack-api` writes them again",
    );
  }
  if (!Value.Check(ApiSettingsSchema, parsed)) {
    const [first] = Value.Errors(ApiSettingsSchema, parsed);
    throw new MicroOvnError(
      "OPENSTACK_API_SETTINGS",
      `the service settings ${path} are not valid (${first?.instancePath || "/"}: ` +
        `${first?.message ?? "unexpected"}); \`microovn disable openstack-api\` then ` +
        "`enable openstack-api` writes them again",
    );
  }
  return parsed;
}
