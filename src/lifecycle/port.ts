/**
 * Plugging a VM's NIC into a logical switch port on this chassis (`microovn
 * port plug|unplug|list|libvirt-xml`), the job of oVirt's VIF driver and of
 * Nova's os-vif: the interface joins br-int with the port's name as its
 * iface-id, and ovn-controller binds the port here.
 *
 * Every check runs before anything is written, so a refused plug leaves
 * conf.db as it was: the member runs a chassis, the interface exists here
 * and is no one else's, the port is not plugged under another interface,
 * and NB has the port, a VM's one (unless the caller says not to look;
 * when NB does not answer we refuse rather than plug blindly).
 */
import { MicroOvnError } from "../errors.js";
import {
  checkVifPort,
  plugPlacement,
  readLogicalPort,
  type LogicalPort,
  type PlugPlacement,
} from "../ovn/logical-port.js";
import { readLinks } from "../ovn/underlay.js";
import {
  applyPlug,
  checkInterfaceName,
  checkMac,
  checkPortId,
  checkVifLink,
  findVif,
  planPlug,
  readSwitchInterfaces,
  removeVif,
  vifsOf,
  type Vif,
} from "../ovn/vif.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";

export interface PlugOptions {
  portId: string;
  iface: string;
  /** The VM's MAC; default: the interface's own. */
  mac?: string;
  /** Whether to make sure NB has the port first (default true). */
  check?: boolean;
}

export interface PlugResult extends Vif {
  /** "plugged" (new), "updated" (same pair, other MAC), "unchanged". */
  change: "plugged" | "updated" | "unchanged";
  /** Whether NB was asked (false with --no-check). */
  checked: boolean;
  /**
   * What NB's requested-chassis lets this chassis do with the port (when
   * NB was asked): a plug is never refused for it, since a VM manager may
   * plug before it moves the port, but the CLI says so.
   */
  placement?: PlugPlacement;
  /** The chassis NB requests, for the CLI's note. */
  requestedChassis?: string[];
}

function requireService(rt: MemberRuntime, service: "chassis" | "switch", what: string): void {
  const config = rt.requireConfig();
  if (!config.services.includes(service)) {
    throw new MicroOvnError(
      service === "chassis" ? "NO_CHASSIS" : "NO_SWITCH",
      `this member (${config.name}) runs no ${service} service, so it cannot ${what}; ` +
        `enable it with \`microovn enable ${service}\`, or do it on a member that runs it; ` +
        "nothing was changed",
    );
  }
}

/**
 * Port `portId` in NB, or an error saying it is missing, is no VM's port
 * (a router or localnet port), or NB does not answer.
 */
export async function lookupLogicalPort(
  rt: MemberRuntime,
  portId: string,
  unreachableHint: string,
): Promise<LogicalPort> {
  let port: LogicalPort | undefined;
  try {
    port = await readLogicalPort(rt.nbRemotes(), rt.pki.tlsFiles("client"), portId);
  } catch (e) {
    if (e instanceof MicroOvnError && e.code === "NB_UNREACHABLE") {
      throw new MicroOvnError(
        e.code,
        `${e.message}, so port ${portId} could not be looked up; ${unreachableHint}`,
      );
    }
    throw e;
  }
  if (!port) {
    throw new MicroOvnError(
      "NO_SUCH_PORT",
      `NB has no logical switch port ${portId}; create it first (a Neutron port, or ` +
        "`microovn ovn-nbctl lsp-add SWITCH PORT`); nothing was changed",
    );
  }
  checkVifPort(port);
  return port;
}

export async function plugPort(rt: MemberRuntime, options: PlugOptions): Promise<PlugResult> {
  const portId = checkPortId(options.portId);
  const iface = checkInterfaceName(options.iface);
  const givenMac = options.mac === undefined ? undefined : checkMac(options.mac);
  requireService(rt, "chassis", "plug a VM's interface");
  const link = checkVifLink(await readLinks(), iface);
  const mac = givenMac ?? (link.address !== undefined ? checkMac(link.address) : undefined);
  if (mac === undefined) {
    throw new MicroOvnError(
      "BAD_MAC",
      `${iface} has no MAC address of its own; give the VM's with --mac; nothing was changed`,
    );
  }
  const request = { portId, iface, mac };
  return rt.vswitch.withClient(async (client) => {
    const action = planPlug(await readSwitchInterfaces(client), request);
    const check = options.check !== false;
    const logical = check
      ? await lookupLogicalPort(
          rt,
          portId,
          "try again once `microovn status` shows NB healthy, or plug without looking with " +
            "--no-check; nothing was changed",
        )
      : undefined;
    await applyPlug(client, request, action);
    const change = { insert: "plugged", update: "updated", unchanged: "unchanged" } as const;
    const vif = findVif(vifsOf(await readSwitchInterfaces(client)), iface);
    const placement = logical && {
      placement: plugPlacement(logical.requestedChassis, rt.requireConfig().name),
      requestedChassis: logical.requestedChassis,
    };
    return { ...vif, change: change[action.kind], checked: check, ...placement };
  });
}

/** Unplugs the interface named by `target` (its name or its port id); returns what it was. */
export async function unplugPort(rt: MemberRuntime, target: string): Promise<Vif> {
  requireService(rt, "switch", "unplug an interface");
  return rt.vswitch.withClient(async (client) => {
    const interfaces = await readSwitchInterfaces(client);
    const vif = findVif(vifsOf(interfaces), target);
    await removeVif(client, interfaces, vif);
    return vif;
  });
}

/** The interfaces plugged on this chassis. */
export async function listPorts(rt: MemberRuntime): Promise<Vif[]> {
  requireService(rt, "switch", "list plugged interfaces");
  return rt.vswitch.withClient(async (client) => vifsOf(await readSwitchInterfaces(client)));
}
