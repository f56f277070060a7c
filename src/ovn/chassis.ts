/**
 * The `chassis` service of a member: ovn-controller, configured through the
 * external_ids of conf.db's Open_vSwitch row (system-id, ovn-remote,
 * encapsulation, bridge datapath type, bridge mappings, gateway option). It
 * needs the `switch` service: it reaches conf.db on its unix socket and
 * OpenFlow on br-int.mgmt in the same run dir.
 */
import { MicroOvnError } from "../errors.js";
import {
  INTEGRATION_BRIDGE,
  encapsulationIp,
  formatBridgeMappings,
  type ChassisSettings,
} from "../member/config.js";
import type { PkiStore } from "../pki/store.js";
import { run } from "../process/run.js";
import { waitForPath } from "../util/fs.js";
import type { ProcessSpec } from "../supervisor/supervisor.js";
import type { DatapathType, Switch, SwitchClient } from "./switch.js";

/** The external_ids keys this service owns; others are left alone. */
export const CHASSIS_KEYS = [
  "system-id",
  "hostname",
  "ovn-remote",
  "ovn-encap-type",
  "ovn-encap-ip",
  "ovn-bridge-datapath-type",
  "ovn-bridge-mappings",
  "ovn-cms-options",
] as const;

export interface ChassisIdentity {
  /** The member name: system-id and hostname of the chassis. */
  name: string;
  /** The member address: the tunnel endpoint unless the settings say otherwise. */
  address: string;
  /** Every SB client remote, e.g. ["ssl:10.0.0.1:6642"]. */
  sbRemotes: readonly string[];
  datapathType: DatapathType;
  settings: ChassisSettings;
}

/** The external_ids ovn-controller is configured with. */
export function chassisExternalIds(identity: ChassisIdentity): Map<string, string> {
  const ids = new Map<string, string>([
    ["system-id", identity.name],
    ["hostname", identity.name],
    ["ovn-remote", identity.sbRemotes.join(",")],
    ["ovn-encap-type", "geneve"],
    ["ovn-encap-ip", encapsulationIp(identity.settings, identity.address)],
    ["ovn-bridge-datapath-type", identity.datapathType],
  ]);
  const mappings = formatBridgeMappings(identity.settings.bridgeMappings);
  if (mappings !== "") ids.set("ovn-bridge-mappings", mappings);
  const cmsOptions = [
    ...(identity.settings.gateway ? ["enable-chassis-as-gw"] : []),
    ...(identity.settings.availabilityZones?.length
      ? [`availability-zones=${identity.settings.availabilityZones.join(":")}`]
      : []),
  ];
  if (cmsOptions.length > 0) ids.set("ovn-cms-options", cmsOptions.join(","));
  return ids;
}

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

export class Chassis {
  constructor(
    readonly vswitch: Switch,
    readonly pki: PkiStore,
  ) {}

  get pidFile(): string {
    return this.vswitch.state.socket("ovn-controller.pid");
  }

  /** ovn-controller 23.03 has no --unixctl: its control socket carries its pid. */
  controlSocket(pid: number): string {
    return this.vswitch.state.socket(`ovn-controller.${pid}.ctl`);
  }

  spec(): ProcessSpec {
    const tls = this.pki.tlsFiles("ovn-controller");
    return {
      name: "ovn-controller",
      program: "ovn-controller",
      args: [
        `unix:${this.vswitch.dbSocket}`,
        "-p",
        tls.privateKey,
        "-c",
        tls.certificate,
        "-C",
        tls.caCert,
        `--pidfile=${this.pidFile}`,
      ],
      pidFile: this.pidFile,
      logFile: this.vswitch.state.log("ovn-controller"),
      env: this.vswitch.env(),
    };
  }

  /**
   * Writes this chassis's external_ids (only when they differ, so that
   * ovn-controller sees no change on a daemon restart), creates the bridges
   * named in the bridge mappings, and br-int.
   */
  async configure(client: SwitchClient, identity: ChassisIdentity): Promise<void> {
    const rootUuid = await this.vswitch.ensureRoot(client);
    const [root] = await client.select(
      "Open_vSwitch",
      [["_uuid", "==", rootUuid]],
      ["external_ids"],
    );
    const wanted = chassisExternalIds(identity);
    const current = new Map(
      [...(root?.external_ids ?? new Map<string, string>())].filter(([k]) =>
        (CHASSIS_KEYS as readonly string[]).includes(k),
      ),
    );
    if (!sameMap(current, wanted)) {
      const txn = client.transaction();
      txn.mutate(
        "Open_vSwitch",
        [["_uuid", "==", rootUuid]],
        [
          ["external_ids", "delete", [...CHASSIS_KEYS]],
          ["external_ids", "insert", wanted],
        ],
      );
      await txn.commit();
    }
    for (const bridge of new Set(Object.values(identity.settings.bridgeMappings))) {
      await this.vswitch.ensureBridge(client, bridge, { datapathType: identity.datapathType });
    }
    await this.vswitch.ensureBridge(client, INTEGRATION_BRIDGE, {
      datapathType: identity.datapathType,
      failMode: "secure",
      otherConfig: { "disable-in-band": "true" },
    });
  }

  /**
   * Resolves once vswitchd has made br-int's OpenFlow socket: started before
   * that, ovn-controller waits out a 1 s reconnect delay.
   */
  async waitForIntegrationBridge(timeoutMs = 10_000): Promise<void> {
    const path = this.vswitch.managementSocket(INTEGRATION_BRIDGE);
    await waitForPath(
      path,
      timeoutMs,
      () =>
        new MicroOvnError(
          "SWITCH_NOT_READY",
          `ovs-vswitchd did not create ${path} within ${timeoutMs} ms; see ${this.vswitch.state.log("ovs-vswitchd")}`,
        ),
    );
  }

  /** A command to the ovn-controller with `pid`; undefined when it does not answer. */
  private async appctl(pid: number, args: readonly string[]): Promise<string | undefined> {
    const result = await run("ovn-appctl", ["-T", "5", "-t", this.controlSocket(pid), ...args], {
      allowFailure: true,
      timeoutMs: 6_000,
    });
    return result.exitCode === 0 ? result.stdout.trim() : undefined;
  }

  /** Asks ovn-controller to exit and remove its Chassis row from SB. */
  async exitAndUnregister(pid: number): Promise<void> {
    await this.appctl(pid, ["exit"]);
  }

  /**
   * Asks ovn-controller to exit for a restart: its Chassis row stays in SB
   * and the flows it installed stay in OVS, so the data plane goes on while
   * the next ovn-controller starts.
   */
  async exitForRestart(pid: number): Promise<void> {
    await this.appctl(pid, ["exit", "--restart"]);
  }

  /** Whether the ovn-controller with `pid` is connected to SB. */
  async connectedToSb(pid: number): Promise<boolean> {
    return (await this.appctl(pid, ["connection-status"])) === "connected";
  }

  /**
   * The longest it has taken the ovn-controller with `pid` to compute its
   * flows (`stopwatch/show flow-generation`), in ms; undefined if unknown.
   */
  async longestFlowGenerationMs(pid: number): Promise<number | undefined> {
    const out = await this.appctl(pid, ["stopwatch/show", "flow-generation"]);
    const m = out === undefined ? null : /Maximum:\s*([\d.]+)\s*msec/.exec(out);
    return m?.[1] === undefined ? undefined : Number(m[1]);
  }
}
