/**
 * The `<interface>` element libvirt needs to put a VM's NIC on a logical
 * switch port (`microovn port libvirt-xml`): libvirt makes the tap device,
 * adds it to br-int and sets its iface-id from `interfaceid` itself. The
 * tap is named as Neutron names it ("tap" and the port id's first 11
 * characters), so tools that look for Neutron's taps find ours.
 */
import { MicroOvnError } from "../../errors.js";
import { INTEGRATION_BRIDGE } from "../../member/config.js";

export interface LibvirtInterface {
  /** The logical switch port's name: a UUID (a Neutron port id). */
  portId: string;
  mac: string;
  /** The network's MTU, when it announces one. */
  mtu?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** libvirt reads `interfaceid` as a UUID and refuses the domain otherwise. */
export function checkLibvirtPortId(portId: string): string {
  if (!UUID.test(portId)) {
    throw new MicroOvnError(
      "NOT_A_UUID",
      `libvirt takes only a UUID as an Open vSwitch interfaceid, and "${portId}" is not one; ` +
        "plug such a port with `microovn port plug PORT IFACE` instead",
    );
  }
  return portId;
}

/** Neutron's name for a port's tap device: 14 characters, under the kernel's 15. */
export function tapName(portId: string): string {
  return `tap${portId.slice(0, 11)}`;
}

/** `value` fit to stand between single or double quotes in XML. */
export function xmlAttribute(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

/** `<name a='v' …/>`, every value escaped. */
function element(name: string, attributes: Record<string, string>, indent: string): string {
  const attrs = Object.entries(attributes)
    .map(([k, v]) => ` ${k}='${xmlAttribute(v)}'`)
    .join("");
  return `${indent}<${name}${attrs}/>`;
}

export function libvirtInterfaceXml(nic: LibvirtInterface): string {
  const lines = [
    "<interface type='bridge'>",
    element("mac", { address: nic.mac }, "  "),
    element("source", { bridge: INTEGRATION_BRIDGE }, "  "),
    "  <virtualport type='openvswitch'>",
    element("parameters", { interfaceid: nic.portId }, "    "),
    "  </virtualport>",
    element("target", { dev: tapName(nic.portId) }, "  "),
    element("model", { type: "virtio" }, "  "),
  ];
  if (nic.mtu !== undefined) lines.push(element("mtu", { size: String(nic.mtu) }, "  "));
  lines.push("</interface>");
  return `${lines.join("\n")}\n`;
}
