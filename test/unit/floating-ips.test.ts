/**
 * The pure mapping of a floating IP to its NAT row: where it is translated
 * (distributed on the VM's chassis or centralised on the gateway) from the
 * setting, the external network's physical network and the chassis'
 * bridge mappings; the row's columns and external_ids as ML2/OVN writes
 * them; the change that moves a row to the mode it needs; and the
 * Load_Balancers of port forwardings, written and read back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  fipMode,
  fipNatRow,
  modeChange,
  modeOf,
  type Association,
} from "../../src/openstack/networking/floating-ips/nat-row.js";
import {
  pfLoadBalancers,
  portForwardingsOf,
  type PortForwarding,
} from "../../src/openstack/networking/floating-ips/pf-rows.js";

function chassis(mappings: string, old = false) {
  const map = new Map([["ovn-bridge-mappings", mappings]]);
  return old
    ? { other_config: new Map<string, string>(), external_ids: map }
    : { other_config: map, external_ids: new Map<string, string>() };
}

describe("floating IP mode", () => {
  const bridging = chassis("physnet2:br-x, physnet1:br-ex");

  it("is distributed where the VM's chassis bridges the external network", () => {
    const facts = { distributedAllowed: true, physicalNetwork: "physnet1", hostChassis: bridging };
    assert.equal(fipMode(facts), "distributed");
    // Older OVN reported the mappings in external_ids.
    assert.equal(
      fipMode({ ...facts, hostChassis: chassis("physnet1:br-ex", true) }),
      "distributed",
    );
  });

  it("is centralised otherwise: setting off, other mappings, no chassis, an overlay network", () => {
    const facts = { distributedAllowed: true, physicalNetwork: "physnet1", hostChassis: bridging };
    assert.equal(fipMode({ ...facts, distributedAllowed: false }), "centralised");
    assert.equal(fipMode({ ...facts, hostChassis: chassis("physnet2:br-x") }), "centralised");
    assert.equal(fipMode({ ...facts, hostChassis: chassis("") }), "centralised");
    assert.equal(fipMode({ ...facts, hostChassis: undefined }), "centralised");
    assert.equal(fipMode({ ...facts, physicalNetwork: undefined }), "centralised");
  });
});

describe("floating IP NAT row", () => {
  const a: Association = {
    fipId: "f1",
    floatingIp: "203.0.113.5",
    fipMac: "fa:16:3e:00:00:01",
    networkId: "n1",
    routerId: "r1",
    portId: "p1",
    fixedIp: "10.0.0.5",
    revision: 3,
  };

  it("is a dnat_and_snat row with ML2/OVN's keys", () => {
    const row = fipNatRow(a, "centralised");
    assert.equal(row.type, "dnat_and_snat");
    assert.equal(row.logical_ip, "10.0.0.5");
    assert.equal(row.external_ip, "203.0.113.5");
    assert.deepEqual([...row.options], [["stateless", "false"]]);
    assert.deepEqual(Object.fromEntries(row.external_ids), {
      "neutron:fip_id": "f1",
      "neutron:revision_number": "3",
      "neutron:fip_port_id": "p1",
      "neutron:router_name": "neutron-r1",
      "neutron:fip_external_mac": "fa:16:3e:00:00:01",
      "neutron:fip_network_id": "n1",
    });
  });

  it("names the VM's port and the floating port's MAC only when distributed", () => {
    const central = fipNatRow(a, "centralised");
    assert.equal(central.logical_port, undefined);
    assert.equal(central.external_mac, undefined);
    assert.equal(modeOf(central), "centralised");
    const distributed = fipNatRow(a, "distributed");
    assert.equal(distributed.logical_port, "p1");
    assert.equal(distributed.external_mac, "fa:16:3e:00:00:01");
    assert.equal(modeOf(distributed), "distributed");
  });

  it("changes a row only when it is not in the mode it needs", () => {
    const central = fipNatRow(a, "centralised");
    const distributed = fipNatRow(a, "distributed");
    assert.equal(modeChange(central, "centralised", "p1", a.fipMac), undefined);
    assert.equal(modeChange(distributed, "distributed", "p1", a.fipMac), undefined);
    assert.deepEqual(modeChange(central, "distributed", "p1", a.fipMac), {
      logical_port: "p1",
      external_mac: "fa:16:3e:00:00:01",
    });
    assert.deepEqual(modeChange(distributed, "centralised", "p1", a.fipMac), {
      logical_port: undefined,
      external_mac: undefined,
    });
    // Half a distributed row (a hand edit) is put right.
    assert.deepEqual(
      modeChange({ logical_port: "p1", external_mac: undefined }, "distributed", "p1", a.fipMac),
      { logical_port: "p1", external_mac: "fa:16:3e:00:00:01" },
    );
  });
});

describe("port forwarding Load_Balancers", () => {
  const fip = { id: "f1", address: "203.0.113.5", routerId: "r1", revision: 4 };
  const web: PortForwarding = {
    id: "pf-a",
    protocol: "tcp",
    external_port: 8080,
    internal_port: 80,
    internal_ip_address: "10.0.0.5",
    internal_port_id: "p1",
    description: "web",
  };
  const ssh: PortForwarding = { ...web, id: "pf-b", external_port: 2222, internal_port: 22 };
  const dns: PortForwarding = { ...web, id: "pf-c", protocol: "udp", external_port: 53 };

  it("makes one Load_Balancer per protocol, named and tagged as ML2/OVN does", () => {
    const lbs = pfLoadBalancers(fip, [web, ssh, dns]);
    assert.deepEqual(
      lbs.map((lb) => [lb.name, lb.protocol, Object.fromEntries(lb.vips)]),
      [
        [
          "pf-floatingip-f1-tcp",
          "tcp",
          { "203.0.113.5:8080": "10.0.0.5:80", "203.0.113.5:2222": "10.0.0.5:22" },
        ],
        ["pf-floatingip-f1-udp", "udp", { "203.0.113.5:53": "10.0.0.5:80" }],
      ],
    );
    const ids = lbs[0]!.external_ids;
    assert.equal(ids.get("neutron:device_owner"), "port_forwarding_plugin");
    assert.equal(ids.get("neutron:fip_id"), "f1");
    assert.equal(ids.get("neutron:router_name"), "neutron-r1");
    assert.equal(ids.get("neutron:revision_number"), "4");
    assert.deepEqual(pfLoadBalancers(fip, []), []);
  });

  it("reads back the forwardings it wrote, and skips what it cannot read", () => {
    const lbs = pfLoadBalancers(fip, [dns, web, ssh]);
    assert.deepEqual(portForwardingsOf(lbs), [web, ssh, dns]);
    const broken = {
      protocol: "tcp",
      external_ids: new Map([
        ["microovn:pf:x", "{not json"],
        ["neutron:fip_id", "f1"],
      ]),
    };
    assert.deepEqual(portForwardingsOf([broken, { ...broken, protocol: "sctp" }]), []);
  });
});
