/**
 * `microovn port plug|unplug|list|libvirt-xml`: a VM's NIC on a logical
 * switch port of this chassis (see src/lifecycle/port.ts), or the libvirt
 * XML that has libvirt plug it.
 */
import type { Command } from "commander";
import { MicroOvnError } from "../../errors.js";
import type { PlugResult } from "../../lifecycle/port.js";
import type { LogicalPort } from "../../ovn/logical-port.js";
import { checkMac, type Vif } from "../../ovn/vif.js";
import type { CliContext } from "../context.js";
import { checkLibvirtPortId, libvirtInterfaceXml } from "../format/libvirt-xml.js";
import { addListCommand, formatList } from "../format/table.js";

const HEADERS = ["IFACE", "PORT_ID", "MAC", "BOUND"];

function cells(v: Vif): string[] {
  return [v.iface, v.portId, v.mac, v.bound ? "yes" : "no"];
}

/** What ovn-controller does with the port here, as NB's requested-chassis has it. */
function bindingNote(p: PlugResult): string {
  const requested = p.requestedChassis ?? [];
  switch (p.placement) {
    case "migrating-here":
      return (
        `the port is migrating here from ${requested[0]}: ovn-controller binds it here beside ` +
        "it and lets its traffic through once the VM sends a RARP from here (the OpenStack API " +
        "service then moves the port here)"
      );
    case "elsewhere":
      return (
        `NB binds the port to ${requested.join(",")} (requested-chassis), so ovn-controller ` +
        "binds it here only once the port is moved here (binding:host_id) or migrates here " +
        "(binding:profile migrating_to)"
      );
    default:
      return "ovn-controller binds it to this chassis";
  }
}

function plugged(p: PlugResult): string {
  const what = `Port ${p.portId} on ${p.iface} (MAC ${p.mac})`;
  const unchecked = p.checked ? "" : " without looking it up in NB";
  const note = p.placement === undefined || p.placement === "here" ? "" : `; ${bindingNote(p)}`;
  switch (p.change) {
    case "plugged":
      return `${what}: plugged${unchecked}; ${bindingNote(p)}`;
    case "updated":
      return `${what}: already plugged, MAC and status rewritten${unchecked}${note}`;
    case "unchanged":
      return `${what}: already plugged, nothing to do${note}`;
  }
}

export function registerPort(program: Command, ctx: CliContext): void {
  const port = program
    .command("port")
    .description(
      "VM interfaces on logical switch ports of this chassis (plug, unplug, list, libvirt)",
    );

  port
    .command("plug")
    .description(
      "Attach local interface IFACE to br-int as logical switch port PORT_ID " +
        "(iface-id, attached-mac, iface-status=active), so ovn-controller binds it here",
    )
    .argument("<port-id>", "the logical switch port's name in NB (a Neutron port id)")
    .argument("<iface>", "an interface of this member with no addresses (a VM's tap or veth)")
    .option("--mac <mac>", "the VM's MAC (attached-mac); default: the interface's own")
    .option(
      "--no-check",
      "plug without asking NB whether the port exists (e.g. while NB does not answer)",
    )
    .action(async (portId: string, iface: string, options: { mac?: string; check: boolean }) => {
      const { port: result } = await ctx
        .client()
        .call<{ port: PlugResult }>("PUT", `/ports/${encodeURIComponent(portId)}`, {
          iface,
          ...(options.mac !== undefined ? { mac: options.mac } : {}),
          check: options.check,
        });
      ctx.print(plugged(result));
    });

  port
    .command("unplug")
    .description("Take an interface off br-int, named by its port id or by its own name")
    .argument("<port-id|iface>")
    .action(async (target: string) => {
      const { port: vif } = await ctx
        .client()
        .call<{ port: Vif }>("DELETE", `/ports/${encodeURIComponent(target)}`);
      ctx.print(`Port ${vif.portId} unplugged: ${vif.iface} is off ${vif.bridge}`);
    });

  addListCommand(
    port,
    "Interfaces plugged on this chassis, and whether ovn-controller has bound them",
    async () => (await ctx.client().query<{ ports: Vif[] }>("/ports")).ports,
    (ports, format) => formatList(ports, HEADERS, cells, format),
  );

  port
    .command("libvirt-xml")
    .description(
      "Print the libvirt <interface> element that puts a VM's NIC on logical switch port PORT_ID",
    )
    .argument("<port-id>", "the port's name in NB: a UUID, as libvirt requires")
    .option("--mac <mac>", "the VM's MAC; default: the one in the port's addresses")
    .action(async (portId: string, options: { mac?: string }) => {
      checkLibvirtPortId(portId);
      const given = options.mac === undefined ? undefined : checkMac(options.mac);
      const { port: logical } = await ctx
        .client()
        .query<{ port: LogicalPort }>(`/ports/${encodeURIComponent(portId)}/logical`);
      const mac = given ?? logical.mac;
      if (mac === undefined) {
        throw new MicroOvnError(
          "NO_MAC",
          `port ${portId} has no MAC in NB (addresses: ${logical.addresses.join(", ") || "none"}); ` +
            "give the VM's with --mac",
        );
      }
      process.stdout.write(
        libvirtInterfaceXml({
          portId,
          mac,
          ...(logical.mtu !== undefined ? { mtu: logical.mtu } : {}),
        }),
      );
    });
}
