/**
 * VIFs on a chassis: local interfaces (a VM's tap device, one end of a veth)
 * that are ports of br-int and carry `external_ids:iface-id`, the name of
 * the logical switch port they stand for. ovn-controller binds the logical
 * port to this chassis as soon as it sees such an interface, and marks the
 * interface `ovn-installed` once its flows are in. `attached-mac` and
 * `iface-status` are what libvirt and os-vif write too, so tools made for
 * them read our rows alike.
 *
 * This file is the conf.db side of `microovn port plug|unplug|list`: the
 * checks are pure (built from the rows and `ip -j` output, unit-tested),
 * the writes are one transaction each.
 */
import { MicroOvnError } from "../errors.js";
import { INTEGRATION_BRIDGE } from "../member/config.js";
import type { SwitchClient } from "./switch.js";
import { movableAddresses, type IpLink } from "./underlay.js";

export const IFACE_ID = "iface-id";
export const ATTACHED_MAC = "attached-mac";
export const IFACE_STATUS = "iface-status";
/** Set by ovn-controller once the port's flows are installed. */
export const OVN_INSTALLED = "ovn-installed";

const NOTHING_CHANGED = "; nothing was changed";

/** An interface of conf.db, with the bridge whose port holds it. */
export interface SwitchInterface {
  uuid: string;
  name: string;
  bridge?: string;
  /** The Port row that holds it. */
  portUuid?: string;
  externalIds: ReadonlyMap<string, string>;
}

/** A plugged interface as `port list` shows it. */
export interface Vif {
  iface: string;
  /** The logical switch port (its name in NB). */
  portId: string;
  mac: string;
  bridge: string;
  /** ovn-controller has bound the port here and installed its flows. */
  bound: boolean;
}

export interface PlugRequest {
  portId: string;
  iface: string;
  /** The MAC the VM uses (attached-mac). */
  mac: string;
}

/** What a plug does: nothing, rewrite the external_ids of the same pair, or add the port. */
export type PlugAction =
  { kind: "unchanged" } | { kind: "update"; uuid: string } | { kind: "insert" };

/** A MAC as `xx:xx:xx:xx:xx:xx`, lowercase; refused unless unicast. */
export function checkMac(mac: string): string {
  const lower = mac.trim().toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(lower)) {
    throw new MicroOvnError(
      "BAD_MAC",
      `"${mac}" is not a MAC address; write it as six hex pairs, e.g. fa:16:3e:12:34:56`,
    );
  }
  if ((parseInt(lower.slice(0, 2), 16) & 1) === 1) {
    throw new MicroOvnError(
      "BAD_MAC",
      `${lower} is a multicast address; a NIC needs a unicast one (even first byte)`,
    );
  }
  return lower;
}

/** An interface name the kernel can hold (1-15 characters, no "/", ":" or blanks). */
export function checkInterfaceName(name: string): string {
  if (!/^[^\s/:]{1,15}$/.test(name) || name === "." || name === "..") {
    throw new MicroOvnError(
      "BAD_INTERFACE",
      `"${name}" is not an interface name: 1 to 15 characters without "/", ":" or blanks`,
    );
  }
  return name;
}

/** A logical switch port name: anything printable, as NB allows, but not empty. */
export function checkPortId(portId: string): string {
  if (portId === "" || portId.length > 255 || /[\p{Cc}\s]/u.test(portId)) {
    throw new MicroOvnError(
      "BAD_PORT_ID",
      `"${portId}" is not a logical switch port name: give the port's name in NB ` +
        "(a Neutron port's id), 1 to 255 characters without blanks",
    );
  }
  return portId;
}

/**
 * The kernel's view of IFACE, checked for a VIF: it must exist here, and
 * must not be this member's own network (loopback, or an interface with
 * addresses: plugging it into br-int would take those off the network).
 */
export function checkVifLink(links: readonly IpLink[], iface: string): IpLink {
  const link = links.find((l) => l.ifname === iface);
  if (!link) {
    throw new MicroOvnError(
      "NO_SUCH_INTERFACE",
      `there is no interface "${iface}" on this member (see \`ip link\`); create the VM's ` +
        `interface first, then plug it${NOTHING_CHANGED}`,
    );
  }
  if (link.link_type === "loopback") {
    throw new MicroOvnError("NOT_A_VIF", `${iface} is the loopback interface${NOTHING_CHANGED}`);
  }
  const addresses = movableAddresses(link);
  if (addresses.length > 0) {
    throw new MicroOvnError(
      "NOT_A_VIF",
      `${iface} holds ${addresses.map((a) => `${a.local}/${a.prefixlen}`).join(", ")}: it is ` +
        `this member's own network, not a VM's interface${NOTHING_CHANGED}`,
    );
  }
  return link;
}

/** Every Interface of conf.db with its bridge. */
export async function readSwitchInterfaces(client: SwitchClient): Promise<SwitchInterface[]> {
  const [bridges, ports, interfaces] = await Promise.all([
    client.select("Bridge", [], ["name", "ports"]),
    client.select("Port", [], ["interfaces"]),
    client.select("Interface", [], ["name", "external_ids"]),
  ]);
  return interfaces.map((i) => {
    const port = ports.find((p) => p.interfaces.includes(i._uuid));
    const bridge = port && bridges.find((b) => b.ports.includes(port._uuid));
    return {
      uuid: i._uuid,
      name: i.name,
      ...(bridge ? { bridge: bridge.name } : {}),
      ...(port ? { portUuid: port._uuid } : {}),
      externalIds: i.external_ids,
    };
  });
}

/** The plugged interfaces among `interfaces`, by interface name. */
export function vifsOf(interfaces: readonly SwitchInterface[]): Vif[] {
  return interfaces
    .filter((i) => i.externalIds.has(IFACE_ID))
    .map((i) => ({
      iface: i.name,
      portId: i.externalIds.get(IFACE_ID)!,
      mac: i.externalIds.get(ATTACHED_MAC) ?? "",
      bridge: i.bridge ?? "",
      bound: i.externalIds.get(OVN_INSTALLED) === "true",
    }))
    .sort((a, b) => a.iface.localeCompare(b.iface));
}

/** The external_ids a plug writes. */
export function vifExternalIds(request: PlugRequest): Map<string, string> {
  return new Map([
    [IFACE_ID, request.portId],
    [ATTACHED_MAC, request.mac],
    [IFACE_STATUS, "active"],
  ]);
}

/**
 * What plugging `request` does to conf.db as it is; throws, naming the
 * holder, when the interface or the port is taken.
 */
export function planPlug(interfaces: readonly SwitchInterface[], request: PlugRequest): PlugAction {
  const { portId, iface } = request;
  const existing = interfaces.find((i) => i.name === iface);
  if (existing) {
    const holder = existing.externalIds.get(IFACE_ID);
    if (holder !== undefined && holder !== portId) {
      throw new MicroOvnError(
        "INTERFACE_PLUGGED",
        `${iface} is already plugged for port ${holder}; unplug it first ` +
          `(\`microovn port unplug ${iface}\`)${NOTHING_CHANGED}`,
      );
    }
    if (holder === undefined || existing.bridge !== INTEGRATION_BRIDGE) {
      throw new MicroOvnError(
        "NOT_A_VIF",
        `${iface} is a port of bridge ${existing.bridge ?? "(none)"}, not a VM's interface` +
          NOTHING_CHANGED,
      );
    }
  }
  const other = interfaces.find((i) => i.name !== iface && i.externalIds.get(IFACE_ID) === portId);
  if (other) {
    throw new MicroOvnError(
      "PORT_PLUGGED",
      `port ${portId} is already plugged here as ${other.name}; to move it, unplug it first ` +
        `(\`microovn port unplug ${other.name}\`)${NOTHING_CHANGED}`,
    );
  }
  if (!existing) return { kind: "insert" };
  const wanted = vifExternalIds(request);
  const same = [...wanted].every(([k, v]) => existing.externalIds.get(k) === v);
  return same ? { kind: "unchanged" } : { kind: "update", uuid: existing.uuid };
}

/** Carries out `action` for `request` in one transaction. */
export async function applyPlug(
  client: SwitchClient,
  request: PlugRequest,
  action: PlugAction,
): Promise<void> {
  if (action.kind === "unchanged") return;
  const ids = vifExternalIds(request);
  const txn = client.transaction();
  if (action.kind === "update") {
    txn.mutate(
      "Interface",
      [["_uuid", "==", action.uuid]],
      [
        ["external_ids", "delete", [...ids.keys()]],
        ["external_ids", "insert", ids],
      ],
    );
  } else {
    const [bridge] = await client.select("Bridge", [["name", "==", INTEGRATION_BRIDGE]], ["_uuid"]);
    if (!bridge) {
      throw new MicroOvnError(
        "SWITCH_NOT_READY",
        `${INTEGRATION_BRIDGE} does not exist yet; wait for \`microovn waitready\`${NOTHING_CHANGED}`,
      );
    }
    // Someone else adding the same name between our read and this write fails the whole.
    txn.wait("Interface", {
      where: [["name", "==", request.iface]],
      columns: ["name"],
      until: "==",
      rows: [],
      timeoutMs: 0,
    });
    const iface = txn.insert("Interface", { name: request.iface, external_ids: ids });
    const port = txn.insert("Port", { name: request.iface, interfaces: [iface] });
    txn.mutate("Bridge", [["_uuid", "==", bridge._uuid]], [["ports", "insert", [port]]]);
  }
  await txn.commit();
}

/**
 * The VIF named by `target`: an interface name, or the port id it is
 * plugged for.
 */
export function findVif(vifs: readonly Vif[], target: string): Vif {
  const found = vifs.find((v) => v.iface === target) ?? vifs.find((v) => v.portId === target);
  if (!found) {
    throw new MicroOvnError(
      "NOT_PLUGGED",
      `nothing is plugged here as "${target}" (neither an interface nor a port id of ` +
        "`microovn port list`)",
    );
  }
  return found;
}

/** Takes the VIF's port off its bridge; conf.db drops the Port and Interface rows with it. */
export async function removeVif(
  client: SwitchClient,
  interfaces: readonly SwitchInterface[],
  vif: Vif,
): Promise<void> {
  const row = interfaces.find((i) => i.name === vif.iface);
  if (!row?.portUuid) return;
  const txn = client.transaction();
  txn.mutate("Bridge", [["name", "==", vif.bridge]], [["ports", "delete", [row.portUuid]]]);
  await txn.commit();
}
