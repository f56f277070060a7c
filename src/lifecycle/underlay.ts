/**
 * The underlay interface of this chassis (`chassis set|unset
 * underlay-interface`, see src/ovn/underlay.ts for why it exists): checked
 * before anything changes, put on br-phy when the chassis starts and when
 * it is set, and given its addresses back when the chassis stops (shutdown,
 * `disable chassis`, leaving the cluster) or the setting is unset. The
 * setting stays in member.json, so a daemon restart or a reboot puts the
 * addresses on br-phy again.
 */
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { MicroOvnError } from "../errors.js";
import type { UnderlaySetting } from "../member/config.js";
import {
  PORT_IPV4_SETTINGS,
  PORT_IPV6_SETTINGS,
  UNDERLAY_BRIDGE,
  checkUnderlayCandidate,
  moveAddressing,
  readKernelSettings,
  readLinks,
  waitForLink,
  writeKernelSettings,
} from "../ovn/underlay.js";

/** Checks `name` as this chassis's underlay interface; returns the setting to keep. */
export async function checkUnderlay(rt: MemberRuntime, name: string): Promise<UnderlaySetting> {
  const config = rt.requireConfig();
  if (typeof name !== "string" || name === "") {
    throw new MicroOvnError(
      "BAD_UNDERLAY_INTERFACE",
      "the underlay interface is the name of a network interface, e.g. eth1",
    );
  }
  if (!config.services.includes("chassis")) {
    throw new MicroOvnError(
      "SERVICE_NEEDS_CHASSIS",
      "an underlay interface is for the chassis service, which this member does not run; " +
        "run `microovn enable chassis` first",
    );
  }
  const links = await readLinks();
  const current = config.chassis.underlay;
  const again = current?.interface === name;
  const address = checkUnderlayCandidate({
    name,
    datapath: await rt.datapathType(),
    link: links.find((l) => l.ifname === name),
    allLinks: links.map((l) => l.ifname),
    ovsBridge: await rt.vswitch.withClient((c) => rt.vswitch.bridgeOfInterface(c, name)),
    current: current?.interface,
    currentAddress: current?.address,
  });
  // Set again, the interface is a port already: its settings from before are the recorded ones.
  const kernelSettings = again ? current.kernelSettings : await readKernelSettings(name);
  return { interface: name, address, ...(kernelSettings ? { kernelSettings } : {}) };
}

/**
 * br-phy with the underlay interface as a port and the interface's MAC,
 * then the interface's addresses and routes onto br-phy. Does nothing
 * without an underlay setting; changes nothing that is in place already.
 */
export async function applyUnderlay(rt: MemberRuntime): Promise<void> {
  const underlay = rt.requireConfig().chassis.underlay;
  if (!underlay) return;
  const link = (await readLinks()).find((l) => l.ifname === underlay.interface);
  if (!link) {
    throw new MicroOvnError(
      "NO_SUCH_INTERFACE",
      `the underlay interface ${underlay.interface} is gone from this machine; bring it back, ` +
        "or run `microovn chassis unset underlay-interface`",
    );
  }
  const datapathType = await rt.datapathType();
  await rt.vswitch.withClient((c) =>
    rt.vswitch.ensureBridgePort(c, UNDERLAY_BRIDGE, underlay.interface, {
      datapathType,
      ...(link.address ? { otherConfig: { hwaddr: link.address } } : {}),
    }),
  );
  await waitForLink(UNDERLAY_BRIDGE);
  await writeKernelSettings(underlay.interface, PORT_IPV4_SETTINGS, "ipv4");
  await moveAddressing(underlay.interface, UNDERLAY_BRIDGE);
  await writeKernelSettings(underlay.interface, PORT_IPV6_SETTINGS, "ipv6");
}

/**
 * The underlay interface's addresses and routes back from br-phy; with
 * `deleteBridge`, br-phy goes too (the setting itself is the caller's).
 */
export async function restoreUnderlay(
  rt: MemberRuntime,
  options: { deleteBridge: boolean },
): Promise<void> {
  const underlay = rt.config?.chassis.underlay;
  if (!underlay) return;
  const links = await readLinks();
  // An interface that is gone cannot take anything back; br-phy may still go.
  if (links.some((l) => l.ifname === underlay.interface)) {
    // The move in reverse: IPv6 on again before IPv6 addresses go back.
    const before = underlay.kernelSettings ?? {};
    await writeKernelSettings(underlay.interface, before, "ipv6");
    if (links.some((l) => l.ifname === UNDERLAY_BRIDGE)) {
      await moveAddressing(UNDERLAY_BRIDGE, underlay.interface);
    }
    await writeKernelSettings(underlay.interface, before, "ipv4");
  }
  // conf.db is only there while the switch service runs.
  if (options.deleteBridge && rt.supervisor.get("ovsdb-server-switch")) {
    await rt.vswitch.withClient((c) => rt.vswitch.deleteBridge(c, UNDERLAY_BRIDGE));
  }
}
