/**
 * A fresh OVN_Northbound database for one benchmark run, standalone or as a
 * single-member Raft cluster, on a unix socket in a scratch directory. The
 * servers come from the test helpers, which kill by pid whatever is left
 * when this process exits.
 */
import { INSTALLED_SCHEMAS } from "../../src/ovsdb/schema/installed.js";
import {
  startRaftCluster,
  startStandalone,
  type OvsdbServerHandle,
} from "../../test/helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../../test/helpers/tmp.js";

export { stopPid, trackPid } from "../../test/helpers/processes.js";

export const NB_SCHEMA = INSTALLED_SCHEMAS.northbound.file;
export const NB_DATABASE = INSTALLED_SCHEMAS.northbound.database;

export type ServerMode = "clustered" | "standalone";

export interface BenchServer {
  readonly mode: ServerMode;
  readonly dir: string;
  readonly socketPath: string;
  /** "unix:/tmp/…/db.sock" */
  readonly remote: string;
  readonly dbFile: string;
  readonly pid: number;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Creates a fresh database and serves it; resolves once it is writable. */
export async function startServer(mode: ServerMode): Promise<BenchServer> {
  const dir = await makeTempDir(mode === "clustered" ? "obc" : "obs");
  try {
    let server: OvsdbServerHandle;
    let stop: () => Promise<void>;
    if (mode === "clustered") {
      const cluster = await startRaftCluster({ dir, schemaFile: NB_SCHEMA, size: 1 });
      server = cluster.members[0]!;
      stop = () => cluster.stop();
    } else {
      server = await startStandalone({ dir, schemaFile: NB_SCHEMA });
      stop = () => server.stop();
    }
    return {
      mode,
      dir,
      socketPath: server.unixRemote.slice("unix:".length),
      remote: server.unixRemote,
      dbFile: server.dbFile,
      pid: server.pid,
      stop: async () => {
        await stop();
        await removeDir(dir);
      },
    };
  } catch (e) {
    await removeDir(dir);
    throw e;
  }
}
