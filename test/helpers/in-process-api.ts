/**
 * Networking API servers in this process over a real standalone NB and SB,
 * each with its own clients and replicas, as two members' services have;
 * callers by token, no state database (so Neutron's default quotas and no
 * cluster settings). For what the service does with SB rows that a test
 * writes itself, without a lab.
 */
import { unauthorized } from "../../src/openstack/auth/plugins.js";
import type { Caller } from "../../src/openstack/auth/caller.js";
import { NB_SELECTION, SB_SELECTION, type Backend } from "../../src/openstack/backend.js";
import { buildApiServer, type ApiServer } from "../../src/openstack/http.js";
import { networkingApi, type NetworkingContext } from "../../src/openstack/networking/api.js";
import { OvsdbClient, Replica } from "../../src/ovsdb/index.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import type { OvnSouthboundDatabase } from "../../src/ovsdb/models/ovn-southbound.js";
import { createCa, issueCertificate } from "../../src/pki/x509.js";
import { SCHEMAS, startStandalone, type OvsdbServerHandle } from "./ovsdb-server.js";
import { makeTempDir, removeDir } from "./tmp.js";

/** A standalone NB and SB, and a client of each for the test's own reads and writes. */
export interface NbSb {
  nbServer: OvsdbServerHandle;
  sbServer: OvsdbServerHandle;
  nb: OvsdbClient<OvnNorthboundDatabase>;
  sb: OvsdbClient<OvnSouthboundDatabase>;
  /** A certificate for API servers (fastify wants one; injected calls never use it). */
  tls: { key: string; cert: string };
  stop(): Promise<void>;
}

export async function startNbSb(name: string): Promise<NbSb> {
  const dirs: string[] = [];
  const servers: OvsdbServerHandle[] = [];
  const clients: { close(): void }[] = [];
  const stop = async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.stop();
    for (const d of dirs) await removeDir(d);
  };
  try {
    const start = async (schemaFile: string, suffix: string) => {
      const dir = await makeTempDir(`${name}-${suffix}`);
      dirs.push(dir);
      const server = await startStandalone({ dir, schemaFile });
      servers.push(server);
      return server;
    };
    const nbServer = await start(SCHEMAS.northbound, "nb");
    const sbServer = await start(SCHEMAS.southbound, "sb");
    const nb = await OvsdbClient.connect<OvnNorthboundDatabase>({
      remotes: nbServer.unixRemote,
      database: "OVN_Northbound",
    });
    clients.push(nb);
    const sb = await OvsdbClient.connect<OvnSouthboundDatabase>({
      remotes: sbServer.unixRemote,
      database: "OVN_Southbound",
    });
    clients.push(sb);
    const ca = await createCa();
    const pair = await issueCertificate({ ca, member: "node1", service: "openstack-api" });
    return { nbServer, sbServer, nb, sb, tls: { key: pair.keyPem, cert: pair.certPem }, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** One API server: its fastify app, its context (for watches) and its SB replica. */
export interface InProcessApi {
  app: ApiServer;
  context: NetworkingContext;
  sbReplica: Replica<OvnSouthboundDatabase>;
  close(): Promise<void>;
}

export async function inProcessApi(
  databases: NbSb,
  callers: Readonly<Record<string, Caller>>,
): Promise<InProcessApi> {
  const nb = await OvsdbClient.connect<OvnNorthboundDatabase>({
    remotes: databases.nbServer.unixRemote,
    database: "OVN_Northbound",
  });
  const nbReplica = await Replica.start(nb, NB_SELECTION);
  const sbClient = await OvsdbClient.connect<OvnSouthboundDatabase>({
    remotes: databases.sbServer.unixRemote,
    database: "OVN_Southbound",
  });
  const sbReplica = await Replica.start(sbClient, SB_SELECTION);
  const backend = { nb, nbReplica, sbReplica, config: () => undefined } as unknown as Backend;
  const auth = {
    authenticate: (token: string | undefined) =>
      token && callers[token] ? Promise.resolve(callers[token]) : Promise.reject(unauthorized()),
  };
  const context: NetworkingContext = { backend, auth, address: "127.0.0.1" };
  const app = await buildApiServer({
    api: networkingApi(context),
    host: "127.0.0.1",
    port: 9696,
    tls: databases.tls,
    log: () => undefined,
  });
  return {
    app,
    context,
    sbReplica,
    async close() {
      await app.close();
      for (const c of [sbReplica, sbClient, nbReplica, nb]) c.close();
    },
  };
}
