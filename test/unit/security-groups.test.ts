import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Transaction } from "../../src/ovsdb/client/transaction.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import { parseSchema } from "../../src/ovsdb/schema/schema.js";
import type { Operation } from "../../src/ovsdb/wire/operations.js";
import { ApiError } from "../../src/openstack/errors.js";
import type { NbReplica } from "../../src/openstack/backend.js";
import {
  DROP_PORT_GROUP,
  checkRule,
  ensureDefaultSecurityGroup,
  ensureDropPortGroup,
  groupAddressSetName,
  portGroupName,
  ruleAcl,
  ruleKey,
  ruleMatch,
  type RuleRequest,
} from "../../src/openstack/networking/security-groups/index.js";
import { parseIpPrefix } from "../../src/openstack/networking/security-groups/prefix.js";
import {
  groupExternalIds,
  readGroup,
  readRule,
  ruleExternalIds,
  type NewRule,
} from "../../src/openstack/networking/security-groups/records.js";
import { ruleView } from "../../src/openstack/networking/security-groups/views.js";

const G = "5c3f0c2e-1b7a-4d2e-9f00-0123456789ab";
const PG = "pg_5c3f0c2e_1b7a_4d2e_9f00_0123456789ab";
const R = "0a0b0c0d-0000-4000-8000-000000000001";

function rule(request: RuleRequest) {
  return checkRule(R, request);
}

function match(request: RuleRequest): string {
  return ruleMatch(G, rule(request));
}

function refused(request: RuleRequest, type: string, text: RegExp): void {
  assert.throws(
    () => rule(request),
    (e: unknown) => {
      assert.ok(e instanceof ApiError, String(e));
      assert.equal(e.status, 400);
      assert.equal(e.type, type);
      assert.match(e.message, text);
      return true;
    },
  );
}

describe("security group names", () => {
  it("names port groups and their address sets as ML2/OVN does", () => {
    assert.equal(portGroupName(G), PG);
    assert.equal(groupAddressSetName(G, "ip4"), `${PG}_ip4`);
    assert.equal(groupAddressSetName(G, "ip6"), `${PG}_ip6`);
    assert.equal(DROP_PORT_GROUP, "neutron_pg_drop");
  });
});

describe("security group rule → ACL match", () => {
  it("ingress matches outport, egress inport, with the family", () => {
    assert.equal(match({ direction: "ingress" }), `outport == @${PG} && ip4`);
    assert.equal(match({ direction: "egress", ethertype: "IPv6" }), `inport == @${PG} && ip6`);
  });

  it("a remote prefix is the source for ingress and the destination for egress, host bits cleared", () => {
    assert.equal(
      match({
        direction: "ingress",
        remote_ip_prefix: "10.0.0.0/24",
        protocol: "tcp",
        port_range_min: 22,
        port_range_max: 22,
      }),
      `outport == @${PG} && ip4 && ip4.src == 10.0.0.0/24 && tcp && tcp.dst == 22`,
    );
    assert.equal(
      match({ direction: "egress", remote_ip_prefix: "10.1.2.3/16" }),
      `inport == @${PG} && ip4 && ip4.dst == 10.1.0.0/16`,
    );
    assert.equal(
      match({ direction: "ingress", ethertype: "IPv6", remote_ip_prefix: "2001:DB8:0:0:1::5/64" }),
      `outport == @${PG} && ip6 && ip6.src == 2001:db8::/64`,
    );
  });

  it("a remote group is OVN's address set of that group's port group", () => {
    const other = "11111111-2222-4333-8444-555555555555";
    assert.equal(
      match({ direction: "ingress", remote_group_id: other }),
      `outport == @${PG} && ip4 && ip4.src == $pg_11111111_2222_4333_8444_555555555555_ip4`,
    );
    assert.equal(
      match({ direction: "egress", ethertype: "IPv6", remote_group_id: G }),
      `inport == @${PG} && ip6 && ip6.dst == $${PG}_ip6`,
    );
  });

  it("port ranges: one port with ==, a range with >= and <=", () => {
    assert.equal(
      match({ direction: "ingress", protocol: "udp", port_range_min: 1000, port_range_max: 2000 }),
      `outport == @${PG} && ip4 && udp && udp.dst >= 1000 && udp.dst <= 2000`,
    );
    assert.equal(
      match({ direction: "ingress", protocol: "sctp", port_range_min: 5 }),
      `outport == @${PG} && ip4 && sctp && sctp.dst == 5`,
    );
    assert.equal(
      match({ direction: "ingress", protocol: "tcp" }),
      `outport == @${PG} && ip4 && tcp`,
    );
  });

  it("protocols by number match as by name; others by ip.proto", () => {
    assert.equal(
      match({ direction: "ingress", protocol: "6", port_range_min: 80, port_range_max: 81 }),
      `outport == @${PG} && ip4 && tcp && tcp.dst >= 80 && tcp.dst <= 81`,
    );
    assert.equal(match({ direction: "ingress", protocol: 17 }), `outport == @${PG} && ip4 && udp`);
    assert.equal(
      match({ direction: "ingress", protocol: "gre" }),
      `outport == @${PG} && ip4 && ip.proto == 47`,
    );
    assert.equal(
      match({ direction: "ingress", protocol: "112" }),
      `outport == @${PG} && ip4 && ip.proto == 112`,
    );
    assert.equal(
      match({ direction: "ingress", protocol: 0 }),
      `outport == @${PG} && ip4 && ip.proto == 0`,
    );
  });

  it("ICMP type and code follow the family: icmp on IPv6 is icmp6", () => {
    assert.equal(
      match({ direction: "ingress", protocol: "icmp", port_range_min: 8, port_range_max: 0 }),
      `outport == @${PG} && ip4 && icmp4 && icmp4.type == 8 && icmp4.code == 0`,
    );
    assert.equal(
      match({ direction: "ingress", protocol: "icmp", port_range_min: 8 }),
      `outport == @${PG} && ip4 && icmp4 && icmp4.type == 8`,
    );
    for (const p of ["icmp", "ipv6-icmp", "icmpv6", "58"]) {
      assert.equal(
        match({ direction: "ingress", ethertype: "IPv6", protocol: p, port_range_min: 128 }),
        `outport == @${PG} && ip6 && icmp6 && icmp6.type == 128`,
        p,
      );
    }
  });

  it("builds the ACL: to-lport for ingress, priority 1002, allow-related, the rule id", () => {
    const acl = ruleAcl(
      G,
      rule({ direction: "ingress", protocol: "tcp", port_range_min: 22, port_range_max: 22 }),
      {
        stateful: true,
        externalIds: new Map([["microovn:x", "y"]]),
      },
    );
    assert.deepEqual(acl, {
      priority: 1002,
      direction: "to-lport",
      match: `outport == @${PG} && ip4 && tcp && tcp.dst == 22`,
      action: "allow-related",
      log: false,
      external_ids: new Map([
        ["microovn:x", "y"],
        ["neutron:security_group_rule_id", R],
      ]),
    });
    const egress = ruleAcl(G, rule({ direction: "egress" }), { stateful: false });
    assert.equal(egress.direction, "from-lport");
    assert.equal(egress.action, "allow-stateless");
  });
});

describe("security group rule checks", () => {
  it("defaults ethertype to IPv4, keeps what was given, adds the prefix length", () => {
    assert.deepEqual(
      rule({ direction: "ingress", protocol: "TCP", remote_ip_prefix: "10.0.0.5" }),
      {
        id: R,
        direction: "ingress",
        ethertype: "IPv4",
        protocol: "tcp",
        port_range_min: null,
        port_range_max: null,
        remote_ip_prefix: "10.0.0.5/32",
        remote_group_id: null,
      },
    );
    assert.equal(rule({ direction: "egress", ethertype: "ipv6" }).ethertype, "IPv6");
    assert.equal(rule({ direction: "egress", protocol: 6 }).protocol, "6");
    assert.equal(
      rule({ direction: "egress", remote_ip_prefix: "0.0.0.0/0" }).remote_ip_prefix,
      "0.0.0.0/0",
    );
    assert.equal(
      rule({ direction: "egress", protocol: "tcp", port_range_min: "22", port_range_max: "23" })
        .port_range_max,
      23,
    );
  });

  it("refuses a missing or unknown direction and an unknown ethertype", () => {
    refused({}, "HTTPBadRequest", /Required attribute 'direction' not specified/);
    refused({ direction: "in" }, "InvalidInput", /'in' is not in \['ingress', 'egress'\]/);
    refused({ direction: "ingress", ethertype: "IPv5" }, "InvalidInput", /ethertype/);
  });

  it("refuses unknown protocols and numbers out of 0–255, naming the valid ones", () => {
    for (const p of ["tcpx", "256", "-1", 300, "1.5", true]) {
      refused(
        { direction: "ingress", protocol: p },
        "SecurityGroupRuleInvalidProtocol",
        /not supported: give .*tcp.*0 to 255/,
      );
    }
  });

  it("refuses bad ports: without a protocol, on a protocol without ports, out of range, reversed", () => {
    refused(
      { direction: "ingress", port_range_min: 22 },
      "SecurityGroupProtocolRequiredWithPorts",
      /protocol/,
    );
    refused(
      { direction: "ingress", protocol: "gre", port_range_min: 1 },
      "SecurityGroupInvalidProtocolForPortRange",
      /gre/,
    );
    refused(
      { direction: "ingress", protocol: "tcp", port_range_min: 0 },
      "SecurityGroupInvalidPortValue",
      /port 0/,
    );
    refused(
      { direction: "ingress", protocol: "udp", port_range_min: 1, port_range_max: 65536 },
      "SecurityGroupInvalidPortValue",
      /65536/,
    );
    refused(
      { direction: "ingress", protocol: "tcp", port_range_min: 30, port_range_max: 20 },
      "SecurityGroupInvalidPortRange",
      /30.*20/,
    );
    refused(
      { direction: "ingress", protocol: "tcp", port_range_min: "x" },
      "InvalidInput",
      /port_range_min/,
    );
    refused(
      { direction: "ingress", protocol: "tcp", port_range_min: 1.5 },
      "InvalidInput",
      /not an integer/,
    );
  });

  it("refuses ICMP type/code out of 0–255 and a code without a type", () => {
    refused(
      { direction: "ingress", protocol: "icmp", port_range_min: 256 },
      "SecurityGroupInvalidIcmpValue",
      /type \(port_range_min\) 256/,
    );
    refused(
      { direction: "ingress", protocol: "icmp", port_range_min: 8, port_range_max: 300 },
      "SecurityGroupInvalidIcmpValue",
      /code/,
    );
    refused(
      { direction: "ingress", protocol: "icmp", port_range_max: 0 },
      "SecurityGroupMissingIcmpType",
      /type/,
    );
  });

  it("refuses a prefix of the other family, a bad prefix, an IPv6-only protocol on IPv4, prefix and group both", () => {
    refused(
      { direction: "ingress", remote_ip_prefix: "2001:db8::/64" },
      "SecurityGroupRuleParameterConflict",
      /ethertype IPv4 for CIDR 2001:db8::\/64/,
    );
    refused(
      { direction: "ingress", ethertype: "IPv6", remote_ip_prefix: "10.0.0.0/8" },
      "SecurityGroupRuleParameterConflict",
      /IPv6/,
    );
    for (const p of [
      "10.0.0.0/33",
      "10.0.0/24",
      "nonsense",
      "10.0.0.0/",
      "::/129",
      "10.0.0.0/024x",
    ]) {
      refused(
        { direction: "ingress", remote_ip_prefix: p },
        "InvalidInput",
        /not a valid IP subnet/,
      );
    }
    refused(
      { direction: "ingress", protocol: "ipv6-icmp" },
      "SecurityGroupEthertypeConflictWithProtocol",
      /IPv6/,
    );
    refused(
      { direction: "ingress", remote_ip_prefix: "10.0.0.0/8", remote_group_id: G },
      "SecurityGroupRemoteGroupAndRemoteIpPrefix",
      /not both/,
    );
  });

  it("ruleKey: the same rule given differently is the same; anywhere is no prefix", () => {
    const base = { direction: "ingress", protocol: "tcp", port_range_min: 22, port_range_max: 22 };
    assert.equal(ruleKey(rule(base)), ruleKey(rule({ ...base, protocol: "6", ethertype: "ipv4" })));
    assert.equal(
      ruleKey(rule({ direction: "egress" })),
      ruleKey(rule({ direction: "egress", remote_ip_prefix: "0.0.0.0/0" })),
    );
    assert.equal(
      ruleKey(rule({ direction: "egress", remote_ip_prefix: "10.0.0.1/8" })),
      ruleKey(rule({ direction: "egress", remote_ip_prefix: "10.0.0.0/8" })),
    );
    assert.notEqual(ruleKey(rule(base)), ruleKey(rule({ ...base, direction: "egress" })));
    assert.notEqual(ruleKey(rule(base)), ruleKey(rule({ ...base, port_range_max: 23 })));
  });
});

describe("IP prefixes", () => {
  it("parses and normalises both families", () => {
    assert.deepEqual(parseIpPrefix("192.168.1.77/20"), {
      family: "IPv4",
      shown: "192.168.1.77/20",
      network: "192.168.0.0/20",
    });
    assert.deepEqual(parseIpPrefix("::/0"), { family: "IPv6", shown: "::/0", network: "::/0" });
    assert.equal(parseIpPrefix("fe80::1:2:3:4/64")?.network, "fe80::/64");
    assert.equal(parseIpPrefix("2001:db8:0:1:0:0:0:1")?.network, "2001:db8:0:1::1/128");
    assert.equal(parseIpPrefix("1:0:0:2:0:0:0:3/128")?.network, "1:0:0:2::3/128");
    assert.equal(parseIpPrefix("::ffff:10.0.0.1/128")?.network, "::ffff:a00:1/128");
    assert.equal(parseIpPrefix("10.0.0.1%eth0"), undefined);
  });
});

/** The generated NB schema, for building transactions without a server. */
const schema = parseSchema(JSON.parse(readFileSync("/usr/share/ovn/ovn-nb.ovsschema", "utf8")));

function capture() {
  const txn = new Transaction<OvnNorthboundDatabase>(schema, async () => []);
  return { txn, ops: () => txn.toOperations() as Operation[] };
}

/** A replica stand-in holding the given Port_Group rows: lookup by name, values. */
function replicaWith(rows: { name: string; external_ids: Map<string, string> }[]): NbReplica {
  const table = {
    lookup: (key: { name?: string }) => rows.find((r) => r.name === key.name),
    values: () => rows.values(),
  };
  return { table: () => table } as unknown as NbReplica;
}

describe("the drop port group and the default group", () => {
  it("adds the drop group with its two drop ACLs, guarded by a wait, once per transaction", () => {
    const { txn, ops } = capture();
    ensureDropPortGroup(txn, replicaWith([]));
    ensureDropPortGroup(txn, replicaWith([]));
    const list = ops();
    assert.deepEqual(
      list.map((o) => `${o.op} ${"table" in o ? o.table : ""}`),
      ["wait Port_Group", "insert ACL", "insert ACL", "insert Port_Group"],
    );
    const acls = list
      .filter((o) => o.op === "insert" && o.table === "ACL")
      .map((o) => (o as { row: Record<string, unknown> }).row);
    assert.deepEqual(
      acls.map((a) => [a.direction, a.priority, a.action, a.match]),
      [
        ["from-lport", 1001, "drop", "inport == @neutron_pg_drop && ip"],
        ["to-lport", 1001, "drop", "outport == @neutron_pg_drop && ip"],
      ],
    );
  });

  it("adds nothing when NB has the drop group", () => {
    const { txn, ops } = capture();
    ensureDropPortGroup(txn, replicaWith([{ name: DROP_PORT_GROUP, external_ids: new Map() }]));
    assert.equal(ops().length, 0);
  });

  it("adds a project's default group with its four rules once, and finds it in NB", () => {
    const { txn, ops } = capture();
    const id = ensureDefaultSecurityGroup(txn, replicaWith([]), "p1");
    assert.equal(ensureDefaultSecurityGroup(txn, replicaWith([]), "p1"), id);
    const list = ops();
    assert.equal(list[0]!.op, "wait");
    const aclRows = list
      .filter((o) => o.op === "insert" && o.table === "ACL")
      .map((o) => (o as { row: Record<string, unknown> }).row);
    const pg = portGroupName(id);
    assert.deepEqual(
      aclRows.map((a) => [a.direction, a.match, a.action]).sort(),
      [
        ["from-lport", `inport == @${pg} && ip4`, "allow-related"],
        ["from-lport", `inport == @${pg} && ip6`, "allow-related"],
        ["to-lport", `outport == @${pg} && ip4 && ip4.src == $${pg}_ip4`, "allow-related"],
        ["to-lport", `outport == @${pg} && ip6 && ip6.src == $${pg}_ip6`, "allow-related"],
      ].sort(),
    );
    const groups = list.filter((o) => o.op === "insert" && o.table === "Port_Group");
    assert.equal(groups.length, 1);
    const row = (groups[0] as unknown as { row: { name: string; external_ids: unknown } }).row;
    assert.equal(row.name, pg);
    const ids = new Map((row.external_ids as [string, [string, string][]])[1]);
    assert.equal(ids.get("neutron:security_group_id"), id);
    assert.equal(ids.get("microovn:project_id"), "p1");
    assert.equal(ids.get("microovn:name"), "default");

    const { txn: again, ops: none } = capture();
    const existing = replicaWith([{ name: pg, external_ids: new Map(ids) }]);
    assert.equal(ensureDefaultSecurityGroup(again, existing, "p1"), id);
    assert.equal(none().length, 0);
    assert.notEqual(ensureDefaultSecurityGroup(again, existing, "p2"), id);
  });
});

describe("the groups a refused write had added", () => {
  it("are added again by the next write of the same transaction", () => {
    const { txn, ops } = capture();
    // A write adds the drop group and the default group, then is refused and rolled back.
    txn.insert("Logical_Switch", { name: "before" });
    const start = txn.size;
    ensureDropPortGroup(txn, replicaWith([]));
    const refused = ensureDefaultSecurityGroup(txn, replicaWith([]), "p1");
    txn.rollbackTo(start);
    // The next write of the shared transaction must not count on rows that are gone.
    ensureDropPortGroup(txn, replicaWith([]));
    const id = ensureDefaultSecurityGroup(txn, replicaWith([]), "p1");
    assert.notEqual(id, refused);
    const groups = ops()
      .filter((o) => o.op === "insert" && o.table === "Port_Group")
      .map((o) => (o as unknown as { row: { name: string } }).row.name);
    assert.deepEqual(groups, [DROP_PORT_GROUP, portGroupName(id)]);
    // ...and a write kept in the transaction is still counted on.
    ensureDropPortGroup(txn, replicaWith([]));
    assert.equal(ensureDefaultSecurityGroup(txn, replicaWith([]), "p1"), id);
    assert.equal(ops().filter((o) => o.op === "insert" && o.table === "Port_Group").length, 2);
  });
});

describe("group and rule records in external_ids", () => {
  it("reads back every attribute a rule was written with", () => {
    const spec = rule({
      direction: "egress",
      ethertype: "IPv6",
      protocol: "udp",
      port_range_min: 53,
      port_range_max: 54,
      remote_ip_prefix: "2001:db8::5/64",
    });
    const written: NewRule = {
      ...spec,
      security_group_id: G,
      project_id: "p1",
      description: "dns",
    };
    const ids = ruleExternalIds(written);
    assert.equal(ids.get("microovn:security_group_id"), G);
    const back = readRule(R, ids);
    assert.deepEqual(
      { ...back, created_at: "", updated_at: "" },
      { ...written, tags: [], revision_number: 1, created_at: "", updated_at: "" },
    );
    assert.match(back.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const view = ruleView(back);
    assert.equal(view.tenant_id, "p1");
    assert.equal(view.normalized_cidr, "2001:db8::/64");
    assert.equal(view.remote_address_group_id, null);
    // Absent attributes come back null, not missing.
    const bare = readRule(R, ruleExternalIds({ ...written, ...rule({ direction: "ingress" }) }));
    assert.deepEqual(
      [
        bare.protocol,
        bare.port_range_min,
        bare.port_range_max,
        bare.remote_ip_prefix,
        bare.remote_group_id,
      ],
      [null, null, null, null, null],
    );
  });

  it("reads back a group, and no group from a port group that is none", () => {
    const ids = groupExternalIds({
      id: G,
      name: "web",
      description: "the web",
      project_id: "p1",
      stateful: false,
      tags: ["a", "b"],
    });
    assert.equal(ids.get("neutron:security_group_id"), G);
    const back = readGroup(ids)!;
    assert.deepEqual(
      [
        back.id,
        back.name,
        back.description,
        back.project_id,
        back.stateful,
        back.tags,
        back.revision_number,
      ],
      [G, "web", "the web", "p1", false, ["a", "b"], 1],
    );
    assert.equal(readGroup(new Map([["neutron:revision_number", "1"]])), undefined);
  });
});
