/**
 * Restarting this member's OVN and OVS programs, one at a time, so that new
 * binaries take over (after `apt-get upgrade`) without the data plane
 * noticing more than it must. Each program is started again only once the
 * one before it is healthy: a database server back in its Raft cluster,
 * northd answering, vswitchd with its flows back, ovn-controller connected
 * to SB. The supervisor does not count these restarts as crashes.
 *
 * The daemon itself is not among them: a restart of microovnd never touches
 * the programs (they are adopted, see src/supervisor/).
 */
import { rm } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { MicroOvnError } from "../errors.js";
import type { CentralDatabase } from "../ovn/central.js";
import {
  restoreOpenFlowState,
  saveOpenFlowState,
  type OpenFlowState,
} from "../ovn/openflow-state.js";
import { waitForClusterMember } from "../ovn/raft.js";
import { ProgramError } from "../process/run.js";
import { STATE_DATABASE } from "../cluster/state-db.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import type { ProcessSpec } from "../supervisor/supervisor.js";
import { waitForPath } from "../util/fs.js";

/** Every program `restart` knows, in the order it restarts them. */
export const RESTARTABLE_PROGRAMS = [
  "ovsdb-server-state",
  "ovsdb-server-nb",
  "ovsdb-server-sb",
  "ovn-northd",
  "ovsdb-server-switch",
  "ovs-vswitchd",
  "ovn-controller",
] as const;

export type RestartableProgram = (typeof RESTARTABLE_PROGRAMS)[number];

/** The programs of each service, as `enable` and `disable` name them. */
export const SERVICE_PROGRAMS: Readonly<Record<string, readonly RestartableProgram[]>> = {
  central: ["ovsdb-server-nb", "ovsdb-server-sb", "ovn-northd"],
  switch: ["ovsdb-server-switch", "ovs-vswitchd"],
  chassis: ["ovn-controller"],
};

/**
 * Which programs to restart, in restart order: those `requested` names
 * (services or programs), or every one that runs here when it names none.
 * Everything is checked before anything is restarted.
 */
export function planRestart(
  requested: readonly string[],
  runs: (program: RestartableProgram) => boolean,
): RestartableProgram[] {
  if (requested.length === 0) return RESTARTABLE_PROGRAMS.filter(runs);
  const wanted = new Set<RestartableProgram>();
  for (const name of requested) {
    const programs =
      SERVICE_PROGRAMS[name] ??
      RESTARTABLE_PROGRAMS.filter((p) => p === (name as RestartableProgram));
    if (programs.length === 0) {
      throw new MicroOvnError(
        "UNKNOWN_PROGRAM",
        `"${name}" is neither a service nor a program that microovn restarts; give any of ` +
          `${Object.keys(SERVICE_PROGRAMS).join(", ")}, ${RESTARTABLE_PROGRAMS.join(", ")}, ` +
          `or nothing for all of them`,
      );
    }
    for (const program of programs) {
      if (!runs(program)) {
        throw new MicroOvnError(
          "PROGRAM_NOT_RUNNING",
          `${program} does not run on this member, so it cannot be restarted; ` +
            "see `microovn status` for what runs here",
        );
      }
      wanted.add(program);
    }
  }
  return RESTARTABLE_PROGRAMS.filter((p) => wanted.has(p));
}

export interface RestartedProgram {
  name: RestartableProgram;
  oldPid: number | undefined;
  newPid: number | undefined;
  /** When the restart of this program began and ended (ms since the epoch). */
  startedAt: number;
  finishedAt: number;
}

const HEALTHY_WITHIN_MS = 60_000;

/**
 * How long a new ovn-controller keeps the flows it finds before replacing
 * them with its own, when the operator has not set it: twice the longest
 * flow computation of the one it replaces (what ovn-controller(8)
 * recommends), and at least this much, which also covers its SB connection
 * and first download. Measured on the lab with 8,000 flows on a busy
 * machine: 0 ms lost 10-15 echoes (0.1 s apart) per restart, 1 s lost 0-7,
 * 3 s none (docs/benchmarks.md).
 */
export const OFCTRL_WAIT_FLOOR_MS = 3000;
const OFCTRL_WAIT_KEY = "ovn-ofctrl-wait-before-clear";

/** Polls `check` every 50 ms until it holds; a clear error naming `what` after the deadline. */
async function until(
  what: string,
  logFile: string,
  check: () => Promise<boolean>,
  timeoutMs = HEALTHY_WITHIN_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new MicroOvnError(
        "RESTART_NOT_HEALTHY",
        `${what} within ${timeoutMs / 1000} s; see ${logFile}. The programs after it were not ` +
          "restarted: fix it, then run `microovn restart` again",
      );
    }
    await delay(50);
  }
}

function pidOf(rt: MemberRuntime, program: RestartableProgram): number | undefined {
  return rt.supervisor.get(program)?.pid;
}

/** A Raft database server: SIGTERM (a leader hands over first), the new one back in the cluster. */
async function restartRaftServer(
  rt: MemberRuntime,
  spec: ProcessSpec,
  unixSocket: string,
  controlSocket: string,
  database: string,
): Promise<void> {
  await rt.supervisor.restart(spec);
  await waitForPath(unixSocket, HEALTHY_WITHIN_MS, () => notHealthy(spec, "made no socket"));
  await waitForClusterMember(controlSocket, database, HEALTHY_WITHIN_MS);
}

function notHealthy(spec: ProcessSpec, what: string): MicroOvnError {
  return new MicroOvnError(
    "RESTART_NOT_HEALTHY",
    `the new ${spec.name} ${what} within ${HEALTHY_WITHIN_MS / 1000} s; see ${spec.logFile}`,
  );
}

async function restartCentralDb(rt: MemberRuntime, db: CentralDatabase): Promise<void> {
  const central = rt.central();
  await restartRaftServer(
    rt,
    central.dbServerSpec(db),
    central.unixSocket(db),
    central.controlSocket(db),
    central.databaseName(db),
  );
}

async function restartStateDb(rt: MemberRuntime): Promise<void> {
  const stateDb = rt.stateDb();
  await restartRaftServer(
    rt,
    stateDb.serverSpec(),
    stateDb.unixSocket,
    stateDb.controlSocket,
    STATE_DATABASE,
  );
}

async function restartNorthd(rt: MemberRuntime): Promise<void> {
  const central = rt.central();
  const spec = central.northdSpec(rt.northdRemotes("nb"), rt.northdRemotes("sb"));
  await rt.supervisor.restart(spec);
  // Active or standby: it holds (or waits for) the lock, so it reached SB.
  await until("the new ovn-northd did not report active or standby", spec.logFile, async () =>
    ["active", "standby"].includes((await central.northdStatus()) ?? ""),
  );
}

async function restartSwitchDb(rt: MemberRuntime): Promise<void> {
  const sw = rt.vswitch;
  await rt.supervisor.restart(sw.dbServerSpec());
  await waitForPath(sw.dbSocket, HEALTHY_WITHIN_MS, () =>
    notHealthy(sw.dbServerSpec(), "made no socket"),
  );
  // Answers transactions: vswitchd and ovn-controller reconnect on their own.
  await sw.withClient((client) => sw.ensureRoot(client));
}

/**
 * vswitchd with the OpenFlow state of every bridge carried over: with
 * `flow-restore-wait` set, the new vswitchd neither forwards nor lets
 * controllers in until the saved flows are back. With the kernel datapath
 * the datapath keeps forwarding meanwhile; with the userspace one it lives
 * in vswitchd, and the time between the two processes is lost.
 * `whileStopped` runs while no vswitchd runs (conf.db's server restart:
 * a vswitchd that loses conf.db stops forwarding until it has reconnected,
 * after a 1 s backoff, and taken its lock again).
 */
async function restartVswitchd(
  rt: MemberRuntime,
  whileStopped?: () => Promise<void>,
): Promise<void> {
  const sw = rt.vswitch;
  const spec = sw.vswitchdSpec(await rt.datapathType());
  const saved: OpenFlowState[] = [];
  for (const bridge of await sw.withClient((c) => sw.bridgeNames(c))) {
    saved.push(await saveOpenFlowState(bridge, sw.managementSocket(bridge)));
  }
  const flowRestoreWait = (value: "true" | undefined) =>
    sw.withClient((c) => sw.setRootKey(c, "other_config", "flow-restore-wait", value));
  try {
    await rt.supervisor.restart(spec, {
      between: async () => {
        // The old vswitchd may leave its OpenFlow sockets behind: wait for the new ones.
        await Promise.all(
          saved.map((state) => rm(sw.managementSocket(state.bridge), { force: true })),
        );
        await whileStopped?.();
        // Set only once the old vswitchd is gone, as ovs-ctl does: a running
        // one that sees it drops its controllers.
        await flowRestoreWait("true");
      },
    });
    for (const state of saved) {
      const socket = sw.managementSocket(state.bridge);
      await waitForPath(socket, HEALTHY_WITHIN_MS, () =>
        notHealthy(spec, `did not open ${state.bridge}'s OpenFlow socket`),
      );
      // The socket file comes a moment before vswitchd accepts on it.
      await until(`the new ovs-vswitchd did not take ${state.bridge}'s flows`, spec.logFile, () =>
        restoreOpenFlowState(state, socket).then(
          () => true,
          (e: unknown) => {
            if (e instanceof ProgramError && /Connection refused/.test(e.stderr)) return false;
            throw e;
          },
        ),
      );
    }
  } finally {
    // Never left set: a vswitchd started with it forwards nothing.
    await flowRestoreWait(undefined);
  }
}

/**
 * ovn-controller exits with `--restart` (its Chassis row and its flows
 * stay); the new one waits `ovn-ofctrl-wait-before-clear` before it
 * replaces those flows with its own, so the chassis never runs without.
 * `between` runs while no ovn-controller runs (a vswitchd restart: an
 * ovn-controller that saw vswitchd go would clear the restored flows when
 * it reconnects, and leave the tables empty until it has filled them).
 */
async function restartController(rt: MemberRuntime, between?: () => Promise<void>): Promise<void> {
  const { chassis, vswitch: sw } = rt;
  const oldPid = pidOf(rt, "ovn-controller");
  const longest = oldPid === undefined ? undefined : await chassis.longestFlowGenerationMs(oldPid);
  const waitMs = Math.max(OFCTRL_WAIT_FLOOR_MS, Math.ceil(2 * (longest ?? 0)));
  const operators = await sw.withClient((c) => sw.rootKey(c, "external_ids", OFCTRL_WAIT_KEY));
  if (operators === undefined) {
    await sw.withClient((c) => sw.setRootKey(c, "external_ids", OFCTRL_WAIT_KEY, String(waitMs)));
  }
  try {
    const spec = chassis.spec();
    let startedAt = Date.now();
    await rt.supervisor.restart(spec, {
      ask: (pid) => chassis.exitForRestart(pid),
      between: async () => {
        await between?.();
        startedAt = Date.now();
      },
    });
    await until("the new ovn-controller did not connect to SB", spec.logFile, async () => {
      const pid = pidOf(rt, "ovn-controller");
      return pid !== undefined && (await chassis.connectedToSb(pid));
    });
    // Its own flows replace the old ones once the wait is over.
    const left = startedAt + Number(operators ?? waitMs) - Date.now();
    if (left > 0) await delay(left);
  } finally {
    if (operators === undefined) {
      await sw.withClient((c) => sw.setRootKey(c, "external_ids", OFCTRL_WAIT_KEY, undefined));
    }
  }
}

const RESTARTERS: Record<RestartableProgram, (rt: MemberRuntime) => Promise<void>> = {
  "ovsdb-server-state": restartStateDb,
  "ovsdb-server-nb": (rt) => restartCentralDb(rt, "nb"),
  "ovsdb-server-sb": (rt) => restartCentralDb(rt, "sb"),
  "ovn-northd": restartNorthd,
  "ovsdb-server-switch": restartSwitchDb,
  "ovs-vswitchd": (rt) => restartVswitchd(rt),
  "ovn-controller": (rt) => restartController(rt),
};

/** Runs `step`, then adds to `done` when it began and ended, with the pids before and after. */
async function timed(
  rt: MemberRuntime,
  done: RestartedProgram[],
  name: RestartableProgram,
  step: () => Promise<void>,
): Promise<void> {
  const oldPid = pidOf(rt, name);
  const startedAt = Date.now();
  await step();
  done.push({ name, oldPid, newPid: pidOf(rt, name), startedAt, finishedAt: Date.now() });
}

/**
 * Restarts the programs `requested` names (services or programs; none:
 * all that run here), one after the other, each once the one before is
 * healthy again. vswitchd is restarted while ovn-controller is away, so
 * ovn-controller restarts with it whenever it runs here, and conf.db's
 * server, when it is to restart too, restarts while vswitchd is away.
 */
export async function restartPrograms(
  rt: MemberRuntime,
  requested: readonly string[],
  log: (line: string) => void,
): Promise<RestartedProgram[]> {
  rt.requireConfig();
  // A program waiting to be started again after a crash is restarted as well.
  const plan = planRestart(requested, (p) => rt.supervisor.get(p) !== undefined);
  const withVswitchd = new Set<RestartableProgram>();
  if (plan.includes("ovs-vswitchd")) {
    if (rt.supervisor.get("ovn-controller")) withVswitchd.add("ovn-controller");
    if (plan.includes("ovsdb-server-switch")) withVswitchd.add("ovsdb-server-switch");
  }
  const done: RestartedProgram[] = [];
  let logged = 0;
  for (const name of plan) {
    if (withVswitchd.has(name)) continue;
    if (name === "ovs-vswitchd") {
      const switchDb = withVswitchd.has("ovsdb-server-switch")
        ? () => timed(rt, done, "ovsdb-server-switch", () => restartSwitchDb(rt))
        : undefined;
      const vswitchd = () => timed(rt, done, name, () => restartVswitchd(rt, switchDb));
      if (withVswitchd.has("ovn-controller")) {
        await timed(rt, done, "ovn-controller", () => restartController(rt, vswitchd));
      } else {
        await vswitchd();
      }
    } else {
      await timed(rt, done, name, () => RESTARTERS[name](rt));
    }
    for (const p of done.slice(logged)) {
      log(
        `${p.name} restarted: pid ${p.oldPid ?? "?"} → ${p.newPid ?? "?"} in ` +
          `${((p.finishedAt - p.startedAt) / 1000).toFixed(2)} s`,
      );
    }
    logged = done.length;
  }
  return done;
}
