/**
 * Bringing this member's services up: at bootstrap, when the daemon starts
 * again (adopting what still runs), and on `enable`. Every step is
 * idempotent, so running it over a member that is already up changes
 * nothing.
 */
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import type { ChassisIdentity } from "../ovn/chassis.js";
import { raftPeers, stateDbRaftPeers } from "../cluster/layout.js";
import type { ProcessSpec } from "../supervisor/supervisor.js";
import { waitForPath } from "../util/fs.js";
import { openstackApiSpec } from "../openstack/service.js";
import { writeApiSettings } from "../openstack/settings.js";
import { openstackApiSettings } from "./openstack-api.js";
import { applyUnderlay } from "./underlay.js";

const SOCKET_WAIT_MS = 10_000;

/**
 * Runs (or adopts) a server and resolves once `ready` exists: its unix
 * socket, or a pidfile the program writes only once it serves.
 */
async function startServer(rt: MemberRuntime, spec: ProcessSpec, ready: string): Promise<void> {
  await rt.supervisor.ensure(spec);
  await waitForPath(
    ready,
    SOCKET_WAIT_MS,
    () =>
      new MicroOvnError(
        "SERVICE_DID_NOT_START",
        `${spec.name} did not create ${ready} within ${SOCKET_WAIT_MS / 1000} s; ` +
          `see ${spec.logFile}`,
      ),
  );
}

/** The cluster state database (on voters), joining the other voters' Raft cluster if new. */
export async function startStateDb(rt: MemberRuntime): Promise<void> {
  const stateDb = rt.stateDb();
  await stateDb.createDb(stateDbRaftPeers(rt.layout, rt.requireConfig().name));
  await startServer(rt, stateDb.serverSpec(), stateDb.unixSocket);
}

/**
 * NB and SB ovsdb-servers listening with TLS (joining the other centrals'
 * Raft clusters if new), then ovn-northd.
 */
export async function startCentral(rt: MemberRuntime): Promise<void> {
  const central = rt.central();
  const name = rt.requireConfig().name;
  await Promise.all(
    (["nb", "sb"] as const).map(async (db) => {
      await central.createDb(db, raftPeers(rt.layout, db, name));
      await startServer(rt, central.dbServerSpec(db), central.unixSocket(db));
    }),
  );
  await rt.supervisor.ensure(central.northdSpec(rt.northdRemotes("nb"), rt.northdRemotes("sb")));
}

/** conf.db's ovsdb-server (with its root row), then ovs-vswitchd. */
export async function startSwitch(rt: MemberRuntime): Promise<void> {
  const sw = rt.vswitch;
  await sw.createDb();
  await startServer(rt, sw.dbServerSpec(), sw.dbSocket);
  await sw.withClient((client) => sw.ensureRoot(client));
  await rt.supervisor.ensure(sw.vswitchdSpec(await rt.datapathType()));
}

export async function chassisIdentity(rt: MemberRuntime): Promise<ChassisIdentity> {
  const config = rt.requireConfig();
  return {
    name: config.name,
    address: config.address,
    sbRemotes: rt.sbRemotes(),
    datapathType: await rt.datapathType(),
    settings: config.chassis,
  };
}

/** Writes the chassis settings into conf.db (ovn-controller follows them while it runs). */
export async function configureChassis(rt: MemberRuntime): Promise<void> {
  const identity = await chassisIdentity(rt);
  await rt.vswitch.withClient((client) => rt.chassis.configure(client, identity));
}

/**
 * The underlay on br-phy, chassis settings and br-int in conf.db, then
 * ovn-controller once br-int is up.
 */
export async function startChassis(rt: MemberRuntime): Promise<void> {
  if (!rt.supervisor.get("ovs-vswitchd")) {
    throw new MicroOvnError(
      "SWITCH_NOT_RUNNING",
      "the chassis service needs the switch service; run `microovn enable switch` first",
    );
  }
  await applyUnderlay(rt);
  await configureChassis(rt);
  await rt.chassis.waitForIntegrationBridge();
  await rt.supervisor.ensure(rt.chassis.spec());
  rt.appliedCentral = rt.sbCluster();
}

/**
 * The OpenStack API service, a Node process of its own, with this member's
 * `openstack-api` certificate; ready once every port listens.
 */
export async function startOpenstackApi(rt: MemberRuntime): Promise<void> {
  await writeApiSettings(rt.state.openstackApiSettingsPath, openstackApiSettings(rt));
  const spec = openstackApiSpec(rt.state);
  await startServer(rt, spec, spec.pidFile);
}

/**
 * The state database (on voters) and every service in the member's
 * configuration: those side by side, then chassis.
 */
export async function startServices(rt: MemberRuntime): Promise<void> {
  const { services } = rt.requireConfig();
  await Promise.all([
    rt.isVoter() ? startStateDb(rt) : undefined,
    services.includes("central") ? startCentral(rt) : undefined,
    services.includes("switch") ? startSwitch(rt) : undefined,
    services.includes("openstack-api") ? startOpenstackApi(rt) : undefined,
  ]);
  if (services.includes("chassis")) await startChassis(rt);
}
