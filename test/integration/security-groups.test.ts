/**
 * Security groups and rules through the real `openstack` CLI against the
 * API service on one member, and the NB rows they become, read back with
 * `microovn ovn-nbctl` and compared with what Neutron's ML2/OVN driver
 * writes: a port group `pg_<id>` per group, one ACL per rule at priority
 * 1002 with ML2/OVN's match, and nothing written when a request is refused.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { GroupView, RuleView } from "../../src/openstack/networking/security-groups/views.js";
import { OpenStackCli } from "../helpers/openstack-cli.js";
import { memberWithApi } from "../helpers/api-member.js";
import { TestMember } from "../helpers/member.js";

type Value = string | number | boolean | string[] | Map<string, string>;
type Row = Record<string, Value>;

/** A rule as the CLI prints it: `rule create`/`show` call ethertype ether_type. */
type Rule = RuleView & { ether_type?: string };

/** A group as the CLI prints it: its rules under `rules`. */
type Group = Pick<
  GroupView,
  "id" | "name" | "description" | "project_id" | "stateful" | "tags" | "revision_number"
> & { rules: RuleView[] };

/** ovn-nbctl's JSON cell: ["uuid", u], ["set", […]], ["map", [[k, v]…]] or an atom. */
function decode(cell: unknown): Value {
  if (!Array.isArray(cell)) return cell as string | number | boolean;
  const [kind, value] = cell as [string, unknown];
  if (kind === "uuid") return value as string;
  if (kind === "set") return (value as unknown[]).map((v) => decode(v) as string);
  if (kind === "map") return new Map(value as [string, string][]);
  throw new Error(`unexpected cell ${JSON.stringify(cell)}`);
}

/** `security group WORDS… EXTRA…`: the words split at spaces, the extras as they are. */
function sg(words: string, ...extra: string[]): string[] {
  return ["security", "group", ...words.split(" ").filter((w) => w !== ""), ...extra];
}

/** A set column: ovn-nbctl writes a one-element set as the element alone. */
function setOf(value: Value | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value as string];
}

/** Port_Group and ACL as NB holds them: what a refused request must leave alone. */
async function portGroupsAndAcls(m: TestMember): Promise<string> {
  return (
    (await m.ok(["ovn-nbctl", "--format=csv", "list", "Port_Group"])) +
    (await m.ok(["ovn-nbctl", "--format=csv", "list", "ACL"]))
  );
}

function pgName(id: string): string {
  return `pg_${id.replace(/-/g, "_")}`;
}

describe("security groups through the openstack CLI", () => {
  let m: TestMember;
  let os: OpenStackCli;

  const nbRows = async (table: string): Promise<Row[]> => {
    const out = JSON.parse(await m.ok(["ovn-nbctl", "--format=json", "list", table])) as {
      headings: string[];
      data: unknown[][];
    };
    return out.data.map((cells) =>
      Object.fromEntries(cells.map((c, i) => [out.headings[i]!, decode(c)])),
    );
  };
  /** The ACLs of a group's port group, as [direction, priority, match, action, rule id]. */
  const aclsOf = async (groupId: string) => {
    const group = (await nbRows("Port_Group")).find((r) => r.name === pgName(groupId));
    assert.ok(group, `no port group ${pgName(groupId)}`);
    const acls = new Map((await nbRows("ACL")).map((a) => [a._uuid as string, a]));
    return setOf(group.acls)
      .map((u) => acls.get(u)!)
      .map((a) => [
        a.direction,
        a.priority,
        a.match,
        a.action,
        (a.external_ids as Map<string, string>).get("neutron:security_group_rule_id"),
      ])
      .sort((x, y) => (x[2] as string).localeCompare(y[2] as string));
  };
  const nbDump = () => portGroupsAndAcls(m);
  const group = (name: string) => os.json<Group>(sg("show", name));

  before(async () => {
    ({ m, os } = await memberWithApi("sgapi"));
  });

  after(async () => {
    await m?.cleanup();
  });

  it("gives the project its default group on the first list, with ML2/OVN's four ACLs", async () => {
    assert.deepEqual(await nbRows("Port_Group"), []);
    const list = await os.json<{ ID: string; Name: string; Project: string }[]>(sg("list"));
    assert.equal(list.length, 1);
    assert.equal(list[0]!.Name, "default");
    const def = await group(list[0]!.ID);
    assert.equal(def.description, "Default security group");
    assert.equal(def.rules.length, 4);
    const pg = pgName(def.id);
    const byMatch = new Map(def.rules.map((r) => [`${r.direction} ${r.ethertype}`, r]));
    assert.deepEqual(await aclsOf(def.id), [
      [
        "from-lport",
        1002,
        `inport == @${pg} && ip4`,
        "allow-related",
        byMatch.get("egress IPv4")!.id,
      ],
      [
        "from-lport",
        1002,
        `inport == @${pg} && ip6`,
        "allow-related",
        byMatch.get("egress IPv6")!.id,
      ],
      [
        "to-lport",
        1002,
        `outport == @${pg} && ip4 && ip4.src == $${pg}_ip4`,
        "allow-related",
        byMatch.get("ingress IPv4")!.id,
      ],
      [
        "to-lport",
        1002,
        `outport == @${pg} && ip6 && ip6.src == $${pg}_ip6`,
        "allow-related",
        byMatch.get("ingress IPv6")!.id,
      ],
    ]);
    assert.equal(byMatch.get("ingress IPv4")!.remote_group_id, def.id);
    const row = (await nbRows("Port_Group")).find((r) => r.name === pg)!;
    assert.equal(
      (row.external_ids as Map<string, string>).get("neutron:security_group_id"),
      def.id,
    );
    // A second list finds it rather than making another.
    assert.equal((await os.json<unknown[]>(sg("list"))).length, 1);
  });

  it("creates a group with its two egress rules, shows, lists and changes it", async () => {
    const web = await os.json<Group>(sg("create web --tag blue"));
    assert.equal(web.name, "web");
    assert.equal(web.description, "web", "the CLI sends the name as the description");
    assert.equal(web.stateful, true);
    assert.deepEqual(web.tags, ["blue"]);
    assert.deepEqual(
      web.rules
        .map((r) => [r.direction, r.ethertype, r.protocol ?? null, r.remote_ip_prefix ?? null])
        .sort(),
      [
        ["egress", "IPv4", null, null],
        ["egress", "IPv6", null, null],
      ],
    );
    const pg = pgName(web.id);
    assert.deepEqual(
      (await aclsOf(web.id)).map((a) => a.slice(0, 4)),
      [
        ["from-lport", 1002, `inport == @${pg} && ip4`, "allow-related"],
        ["from-lport", 1002, `inport == @${pg} && ip6`, "allow-related"],
      ],
    );
    const names = (await os.json<{ Name: string }[]>(sg("list"))).map((g) => g.Name);
    assert.deepEqual(names.sort(), ["default", "web"]);
    const tagged = await os.json<{ Name: string }[]>(sg("list --tags blue"));
    assert.deepEqual(
      tagged.map((g) => g.Name),
      ["web"],
    );

    const set = await os.run(sg("set web --name www --description", "the web servers"));
    assert.equal(set.exitCode, 0, set.stderr);
    const www = await group("www");
    assert.equal(www.id, web.id);
    assert.equal(www.description, "the web servers");
    assert.ok(www.revision_number > web.revision_number);
    const row = (await nbRows("Port_Group")).find((r) => r.name === pg)!;
    assert.equal((row.external_ids as Map<string, string>).get("microovn:name"), "www");
  });

  it("turns rules into ACLs as ML2/OVN does: ports, ICMP, remote groups, IPv6", async () => {
    const www = await group("www");
    const def = (await os.json<{ ID: string; Name: string }[]>(sg("list"))).find(
      (g) => g.Name === "default",
    )!;
    const pg = pgName(www.id);
    const ssh = await os.json<Rule>(sg("rule create --protocol tcp --dst-port 22 www"));
    assert.equal(ssh.direction, "ingress");
    assert.equal(ssh.ether_type, "IPv4", "the CLI shows ethertype as ether_type");
    assert.equal(ssh.remote_ip_prefix, "0.0.0.0/0");
    assert.equal(ssh.port_range_min, 22);
    const ping = await os.json<Rule>(sg("rule create --protocol icmp --icmp-type 8 www"));
    const fromDefault = await os.json<Rule>(
      sg("rule create --remote-group default --protocol udp --dst-port 5000:5010 www"),
    );
    assert.equal(fromDefault.remote_group_id, def.ID);
    const v6 = await os.json<Rule>(
      sg(
        "rule create --ethertype IPv6 --egress --protocol tcp --dst-port 443 --remote-ip 2001:db8::1/64 www",
      ),
    );
    assert.equal(v6.remote_ip_prefix, "2001:db8::1/64");
    const byNumber = await os.json<Rule>(sg("rule create --protocol 47 www"));
    const acls = await aclsOf(www.id);
    const aclOf = (id: string) => acls.find((a) => a[4] === id)?.slice(0, 4);
    assert.deepEqual(aclOf(ssh.id), [
      "to-lport",
      1002,
      `outport == @${pg} && ip4 && ip4.src == 0.0.0.0/0 && tcp && tcp.dst == 22`,
      "allow-related",
    ]);
    assert.deepEqual(aclOf(ping.id), [
      "to-lport",
      1002,
      `outport == @${pg} && ip4 && ip4.src == 0.0.0.0/0 && icmp4 && icmp4.type == 8`,
      "allow-related",
    ]);
    assert.deepEqual(aclOf(fromDefault.id), [
      "to-lport",
      1002,
      `outport == @${pg} && ip4 && ip4.src == $${pgName(def.ID)}_ip4 && udp && udp.dst >= 5000 && udp.dst <= 5010`,
      "allow-related",
    ]);
    assert.deepEqual(aclOf(v6.id), [
      "from-lport",
      1002,
      `inport == @${pg} && ip6 && ip6.dst == 2001:db8::/64 && tcp && tcp.dst == 443`,
      "allow-related",
    ]);
    assert.deepEqual(aclOf(byNumber.id), [
      "to-lport",
      1002,
      `outport == @${pg} && ip4 && ip4.src == 0.0.0.0/0 && ip.proto == 47`,
      "allow-related",
    ]);
    assert.equal(acls.length, 7);
    // As an operator reads them.
    const aclList = await m.ok(["ovn-nbctl", "acl-list", pg]);
    assert.match(
      aclList,
      new RegExp(
        `^  to-lport  1002 \\(outport == @${pg} && ip4 && ip4\\.src == 0\\.0\\.0\\.0/0 && tcp && tcp\\.dst == 22\\) allow-related$`,
        "m",
      ),
    );
    assert.equal(aclList.trim().split("\n").length, 7);

    const listed = await os.json<{ ID: string }[]>(sg("rule list www"));
    assert.deepEqual(
      listed.map((r) => r.ID).sort(),
      (await group("www")).rules.map((r) => r.id).sort(),
    );
    const all = await os.json<{ ID: string }[]>(sg("rule list"));
    assert.equal(all.length, 7 + 4, "www's and the default group's");
    const icmpOnly = await os.json<{ ID: string }[]>(sg("rule list www --protocol icmp"));
    assert.deepEqual(
      icmpOnly.map((r) => r.ID),
      [ping.id],
    );

    assert.equal((await os.run(sg("rule delete", byNumber.id))).exitCode, 0);
    assert.equal(
      (await aclsOf(www.id)).find((a) => a[4] === byNumber.id),
      undefined,
    );
    assert.equal((await aclsOf(www.id)).length, 6);
  });

  it("refuses what Neutron refuses with the client's message, and writes nothing", async () => {
    const before = await nbDump();
    assert.match(
      await os.failure(sg("rule create --protocol tcp --dst-port 22 www")),
      /ConflictException: 409, Security group rule already exists\. Rule id is [0-9a-f-]{36}\./,
    );
    assert.match(
      await os.failure(sg("rule create --protocol bogus www")),
      /BadRequestException: 400, Security group rule protocol "bogus" not supported: give .*tcp.*0 to 255/,
    );
    // (A reversed range the CLI refuses itself.)
    assert.match(
      await os.failure(sg("rule create --protocol gre --dst-port 22 www")),
      /400, Invalid protocol gre for port range: port ranges are only supported for tcp, udp and sctp/,
    );
    assert.match(
      await os.failure(sg("rule create --protocol icmp --icmp-type 300 www")),
      /400, Invalid value for ICMP type \(port_range_min\) 300/,
    );
    assert.match(
      await os.failure(sg("rule create --remote-ip 10.0.0.0/8 --ethertype IPv6 www")),
      /400, Conflicting value ethertype IPv6 for CIDR 10\.0\.0\.0\/8/,
    );
    assert.match(
      await os.failure(sg("rule create --remote-group nosuch www")),
      /No SecurityGroup found for nosuch/,
    );
    assert.match(await os.failure(sg("show nosuch")), /No SecurityGroup found for nosuch/);
    assert.match(
      await os.failure(sg("rule delete 00000000-0000-4000-8000-000000000000")),
      /No SecurityGroupRule found for 00000000-0000-4000-8000-000000000000\n1 of 1 rules failed to delete/,
    );
    assert.match(
      await os.failure(sg("create default")),
      /409, Default security group already exists/,
    );
    assert.match(
      await os.failure(sg("set default --name other")),
      /ConflictException: 409.*Updating default security group not allowed: the default group keeps its name/,
    );
    assert.equal(await nbDump(), before);
  });

  it("refuses to delete a group in use by a port, then deletes it with its ACLs", async () => {
    const www = await group("www");
    const pg = pgName(www.id);
    await os.json(["network", "create", "sg-net"]);
    await os.json([
      "subnet",
      "create",
      "--network",
      "sg-net",
      "--subnet-range",
      "10.9.0.0/24",
      "sg-sub",
    ]);
    const port = await os.json<{ id: string }>([
      "port",
      "create",
      "--network",
      "sg-net",
      "--security-group",
      "www",
      "sg-port",
    ]);
    const members = setOf((await nbRows("Port_Group")).find((r) => r.name === pg)!.ports);
    assert.equal(members.length, 1, "the port is in the group's port group");
    const before = await nbDump();
    assert.match(
      await os.failure(sg("delete www")),
      new RegExp(
        `ConflictException: 409.*Security Group ${www.id} in use by 1 port\\(s\\): remove it`,
      ),
    );
    assert.match(
      await os.failure(sg("set www --stateless")),
      /409.*its stateful attribute cannot change while ports use it/,
    );
    assert.equal(await nbDump(), before);
    const unset = await os.run([
      "port",
      "set",
      "--no-security-group",
      "--security-group",
      "default",
      port.id,
    ]);
    assert.equal(unset.exitCode, 0, unset.stderr);
    assert.deepEqual(setOf((await nbRows("Port_Group")).find((r) => r.name === pg)!.ports), []);

    const aclUuids = new Set(setOf((await nbRows("Port_Group")).find((r) => r.name === pg)!.acls));
    const r = await os.run(sg("delete www"));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(
      (await nbRows("Port_Group")).find((row) => row.name === pg),
      undefined,
    );
    assert.deepEqual(
      (await nbRows("ACL")).filter((a) => aclUuids.has(a._uuid as string)),
      [],
    );
    assert.match(await os.failure(sg("show", www.id)), /No SecurityGroup found/);
  });

  it("drops the rules of other groups that name a deleted group, and keeps stateless groups stateless", async () => {
    const a = await os.json<Group>(sg("create a --stateless"));
    assert.equal(a.stateful, false);
    assert.deepEqual(
      (await aclsOf(a.id)).map((x) => x[3]),
      ["allow-stateless", "allow-stateless"],
    );
    assert.equal((await os.run(sg("set a --stateful"))).exitCode, 0);
    assert.equal((await group("a")).stateful, true);
    assert.deepEqual(
      (await aclsOf(a.id)).map((x) => x[3]),
      ["allow-related", "allow-related"],
    );
    assert.equal((await os.run(sg("set a --stateless"))).exitCode, 0);
    const b = await os.json<Group>(sg("create b"));
    const naming = await os.json<Rule>(sg("rule create --remote-group a b"));
    assert.equal((await aclsOf(b.id)).length, 3);
    assert.equal((await os.run(sg("delete a"))).exitCode, 0);
    const left = await group("b");
    assert.deepEqual(left.rules.map((r) => r.id).includes(naming.id), false);
    assert.equal((await aclsOf(b.id)).length, 2);
    assert.equal((await os.run(sg("delete b"))).exitCode, 0);
  });

  it("lists with fields, sorting and pages, and changes tags", async () => {
    for (const name of ["p-a", "p-b", "p-c"]) await os.json(sg("create", name));
    const page = async (query: string) =>
      (await os.call("GET", `/v2.0/security-groups?${query}`)).body as {
        security_groups: Record<string, unknown>[];
        security_groups_links?: { rel: string; href: string }[];
      };
    const first = await page(
      "name=p-a&name=p-b&name=p-c&sort_key=name&sort_dir=desc&limit=2&fields=name",
    );
    assert.deepEqual(first.security_groups, [{ name: "p-c" }, { name: "p-b" }]);
    const next = first.security_groups_links?.find((l) => l.rel === "next");
    assert.ok(next, JSON.stringify(first));
    const rest = await page(new URL(next.href).search.slice(1));
    assert.deepEqual(rest.security_groups, [{ name: "p-a" }]);

    assert.equal((await os.run(sg("set p-a --tag red --tag blue"))).exitCode, 0);
    assert.deepEqual((await group("p-a")).tags.sort(), ["blue", "red"]);
    assert.equal((await os.run(sg("unset p-a --tag red"))).exitCode, 0);
    assert.deepEqual((await group("p-a")).tags, ["blue"]);
    const tagged = await os.json<{ Name: string }[]>(sg("list --any-tags blue,green"));
    assert.deepEqual(
      tagged.map((g) => g.Name),
      ["p-a"],
    );
    for (const name of ["p-a", "p-b", "p-c"])
      assert.equal((await os.run(sg("delete", name))).exitCode, 0);
  });

  it("gives a project its default group when an admin lists that project's groups", async () => {
    const project = "0123456789abcdef0123456789abcdef";
    const answer = await os.call("GET", `/v2.0/security-groups?project_id=${project}`);
    assert.equal(answer.status, 200);
    const groups = (answer.body as { security_groups: { name: string; project_id: string }[] })
      .security_groups;
    assert.deepEqual(
      groups.map((g) => [g.name, g.project_id]),
      [["default", project]],
    );
    const rows = (await nbRows("Port_Group")).filter(
      (r) => (r.external_ids as Map<string, string>).get("microovn:project_id") === project,
    );
    assert.equal(rows.length, 1);
    assert.equal(setOf(rows[0]!.acls).length, 4);
  });
});

describe("bad input to the security group routes", () => {
  let m: TestMember;
  let os: OpenStackCli;

  before(async () => {
    ({ m, os } = await memberWithApi("sgbad"));
  });

  after(async () => {
    await m?.cleanup();
  });

  it("answers a NeutronError 400 saying what is wrong, never a 500, and writes nothing", async () => {
    const group = await os.call(
      "POST",
      "/v2.0/security-groups",
      '{"security_group": {"name": "g"}}',
    );
    assert.equal(group.status, 201);
    const id = (group.body as { security_group: { id: string } }).security_group.id;
    const dump = () => portGroupsAndAcls(m);
    const before = await dump();
    const long = "x".repeat(256);
    const cases: [string, string, string, RegExp][] = [
      ["POST", "/v2.0/security-groups", '{"security_group": {"name": ', /./],
      ["POST", "/v2.0/security-groups", '{"security_group": {"name": 5}}', /name/],
      [
        "POST",
        "/v2.0/security-groups",
        '{"security_group": {"name": "a", "colour": "red"}}',
        /Unrecognized attribute\(s\) 'colour'/,
      ],
      ["POST", "/v2.0/security-groups", `{"security_group": {"name": "${long}"}}`, /name/],
      ["POST", "/v2.0/security-groups", '{"security_group": {"stateful": "maybe"}}', /stateful/],
      [
        "POST",
        "/v2.0/security-group-rules",
        `{"security_group_rule": {"security_group_id": "${id}", "direction": "ingress", "protocol": "tcp", "port_range_min": "abc"}}`,
        /port_range_min/,
      ],
      [
        "POST",
        "/v2.0/security-group-rules",
        `{"security_group_rule": {"security_group_id": "${id}", "direction": "ingress", "protocol": true}}`,
        /protocol/,
      ],
      [
        "POST",
        "/v2.0/security-group-rules",
        `{"security_group_rule": {"security_group_id": "${id}", "direction": "ingress", "remote_ip_prefix": "10.0.0.0/33"}}`,
        /'10\.0\.0\.0\/33' is not a valid IP subnet/,
      ],
      [
        "POST",
        "/v2.0/security-group-rules",
        `{"security_group_rule": {"security_group_id": "${id}"}}`,
        /Required attribute 'direction' not specified/,
      ],
      [
        "POST",
        "/v2.0/security-group-rules",
        '{"security_group_rule": {"direction": "ingress"}}',
        /security_group_id/,
      ],
      [
        "POST",
        "/v2.0/security-group-rules",
        `{"security_group_rule": {"security_group_id": "${id}", "direction": "ingress", "remote_address_group_id": "x"}}`,
        /remote_address_group_id/,
      ],
    ];
    for (const [method, path, body, message] of cases) {
      const answer = await os.call(method, path, body);
      assert.equal(answer.status, 400, `${body}: ${JSON.stringify(answer.body)}`);
      const error = (answer.body as { NeutronError: { message: string; type: string } })
        .NeutronError;
      assert.match(error.message, message, body);
    }
    const rule = (await os.call("GET", `/v2.0/security-group-rules?security_group_id=${id}`))
      .body as {
      security_group_rules: { id: string }[];
    };
    const update = await os.call(
      "PUT",
      `/v2.0/security-group-rules/${rule.security_group_rules[0]!.id}`,
      '{"security_group_rule": {}}',
    );
    assert.equal(update.status, 400);
    assert.match(
      (update.body as { NeutronError: { message: string } }).NeutronError.message,
      /cannot be changed: delete the rule and create a new one/,
    );
    assert.equal(await dump(), before);
  });

  it("takes unicode names and shows them back as given", async () => {
    const name = "Gruppe ß ✓ 日本";
    const answer = await os.call(
      "POST",
      "/v2.0/security-groups",
      JSON.stringify({ security_group: { name, description: "ünïcode" } }),
    );
    assert.equal(answer.status, 201);
    const shown = await os.json<{ name: string; description: string }>([
      "security",
      "group",
      "show",
      (answer.body as { security_group: { id: string } }).security_group.id,
    ]);
    assert.equal(shown.name, name);
    assert.equal(shown.description, "ünïcode");
  });
});

describe("security groups by project, with users' own tokens", () => {
  let m: TestMember;
  const as: Record<"admin" | "alice" | "bob", OpenStackCli> = {} as Record<
    "admin" | "alice" | "bob",
    OpenStackCli
  >;

  before(async () => {
    m = await TestMember.create("sgproj");
    await m.ok(["cluster", "bootstrap", "--name", "node1", "--address", "127.0.0.1"]);
    await m.ok(["enable", "openstack-api"]);
    await m.ok(["project", "add", "demo"]);
    for (const [user, role] of [
      ["alice", "member"],
      ["bob", "reader"],
    ] as const) {
      const r = await m.cli(
        ["user", "add", user, "--password-stdin", "--project", "demo", "--role", role],
        { input: `${user}-secret-password\n` },
      );
      assert.equal(r.exitCode, 0, r.stderr);
    }
    const login = (user: string, project: string, password: string) =>
      OpenStackCli.withPassword(m.namespace, "127.0.0.1", m.path("data/pki/cacert.pem"), {
        user,
        project,
        password,
      });
    const adminPassword = (
      await readFile(m.path("data/openstack-api-admin-password"), "utf8")
    ).trim();
    as.admin = login("admin", "admin", adminPassword);
    as.alice = login("alice", "demo", "alice-secret-password");
    as.bob = login("bob", "demo", "bob-secret-password");
  });

  after(async () => {
    await m?.cleanup();
  });

  const names = async (cli: OpenStackCli) =>
    (await cli.json<{ Name: string; Project: string }[]>(sg("list"))).map((g) => g.Name).sort();

  it("shows members their project's groups only, admins every project's", async () => {
    assert.deepEqual(await names(as.alice), ["default"]);
    await as.alice.json(sg("create web"));
    await as.admin.json(sg("create secret"));
    assert.deepEqual(await names(as.alice), ["default", "web"]);
    assert.deepEqual(await names(as.bob), ["default", "web"]);
    assert.deepEqual(await names(as.admin), ["default", "default", "secret", "web"]);
    assert.match(await as.alice.failure(sg("show secret")), /No SecurityGroup found for secret/);
    assert.match(
      await as.alice.failure(sg("rule create --protocol tcp secret")),
      /No SecurityGroup found for secret/,
    );
    const rules = await as.alice.json<{ "Security Group": string }[]>(sg("rule list --long"));
    const web = await as.alice.json<{ id: string }>(sg("show web"));
    const demoDefault = await as.alice.json<{ id: string }>(sg("show default"));
    assert.deepEqual(
      [...new Set(rules.map((r) => r["Security Group"]))].sort(),
      [web.id, demoDefault.id].sort(),
    );
  });

  it("refuses a reader's changes and a member deleting the project's default group", async () => {
    assert.match(
      await as.bob.failure(sg("create nope")),
      /403, \(rule:create_security_group\) is disallowed by policy: a reader cannot create resources/,
    );
    assert.match(
      await as.bob.failure(sg("rule create --protocol udp web")),
      /403.*disallowed by policy/,
    );
    assert.match(await as.bob.failure(sg("delete web")), /403/);
    assert.match(
      await as.alice.failure(sg("delete default")),
      /409.*Insufficient rights for removing default security group/,
    );
    const r = await as.alice.run(sg("delete web"));
    assert.equal(r.exitCode, 0, r.stderr);
  });
});
