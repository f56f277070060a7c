/**
 * A floating IP's port forwardings as ML2/OVN writes them: one
 * Load_Balancer per protocol, `pf-floatingip-<floating IP id>-<tcp|udp>`,
 * on the router that reaches the external network, whose `vips` send
 * `<floating address>:<external port>` to `<internal address>:<internal
 * port>`, with external_ids `neutron:device_owner=port_forwarding_plugin`,
 * `neutron:fip_id`, `neutron:router_name` and the floating IP's revision.
 * What only Neutron's database holds (each forwarding's id, port and
 * description) is ours, one `microovn:pf:<id>` key (JSON) per forwarding
 * on its Load_Balancer. Pure: forwardings in, rows out, and back.
 */
import { NEUTRON } from "../attributes.js";
import { routerName } from "../routers/names.js";
import { FIP_KEYS } from "./names.js";

export const PF_PROTOCOLS = ["tcp", "udp"] as const;
export type PfProtocol = (typeof PF_PROTOCOLS)[number];

/** neutron:device_owner of ML2/OVN's port forwarding Load_Balancers. */
export const PF_OWNER = "port_forwarding_plugin";

/** Our key of one forwarding on its Load_Balancer. */
export const PF_KEY_PREFIX = "microovn:pf:";

export interface PortForwarding {
  id: string;
  protocol: PfProtocol;
  external_port: number;
  internal_port: number;
  internal_ip_address: string;
  internal_port_id: string;
  description: string;
}

export function pfLoadBalancerName(fipId: string, protocol: PfProtocol): string {
  return `pf-floatingip-${fipId}-${protocol}`;
}

export interface PfLoadBalancerRow {
  name: string;
  protocol: PfProtocol;
  vips: Map<string, string>;
  external_ids: Map<string, string>;
}

/** What the Load_Balancers of one floating IP say of it. */
export interface PfFloatingIp {
  id: string;
  address: string;
  routerId: string;
  revision: number;
}

/** The floating IP's Load_Balancers for these forwardings: one per protocol that has any. */
export function pfLoadBalancers(
  fip: PfFloatingIp,
  forwardings: readonly PortForwarding[],
): PfLoadBalancerRow[] {
  return PF_PROTOCOLS.flatMap((protocol) => {
    const mine = forwardings.filter((f) => f.protocol === protocol);
    if (mine.length === 0) return [];
    const vip = (address: string, port: number) =>
      address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
    return [
      {
        name: pfLoadBalancerName(fip.id, protocol),
        protocol,
        vips: new Map(
          mine.map((f) => [
            vip(fip.address, f.external_port),
            vip(f.internal_ip_address, f.internal_port),
          ]),
        ),
        external_ids: new Map([
          [NEUTRON.deviceOwner, PF_OWNER],
          [FIP_KEYS.fipId, fip.id],
          [FIP_KEYS.routerName, routerName(fip.routerId)],
          [NEUTRON.revision, String(fip.revision)],
          ...mine.map((f): [string, string] => [
            `${PF_KEY_PREFIX}${f.id}`,
            JSON.stringify({
              internal_port_id: f.internal_port_id,
              internal_ip_address: f.internal_ip_address,
              internal_port: f.internal_port,
              external_port: f.external_port,
              description: f.description,
            }),
          ]),
        ]),
      },
    ];
  });
}

/** The forwardings a floating IP's Load_Balancers record (ones that do not read are skipped). */
export function portForwardingsOf(
  lbs: readonly { protocol: string | undefined; external_ids: ReadonlyMap<string, string> }[],
): PortForwarding[] {
  const out: PortForwarding[] = [];
  for (const lb of lbs) {
    const protocol = PF_PROTOCOLS.find((p) => p === lb.protocol);
    if (!protocol) continue;
    for (const [key, value] of lb.external_ids) {
      if (!key.startsWith(PF_KEY_PREFIX)) continue;
      try {
        const v = JSON.parse(value) as Omit<PortForwarding, "id" | "protocol">;
        out.push({ id: key.slice(PF_KEY_PREFIX.length), protocol, ...v });
      } catch {
        // A hand-edited value we cannot read is no forwarding rather than a failed answer.
      }
    }
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}
