/**
 * Two API servers racing on one real NB (a standalone ovsdb-server), each
 * with its own client and replica as the service has them: the waits that
 * guard the shared rows let exactly one of them create the drop group, a
 * project's default group or a rule, and the other either finds it (after
 * a retry) or is told it exists. And the project scoping of groups and
 * rules, through the collection machinery the routes use.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Caller } from "../../src/openstack/auth/caller.js";
import { ApiError } from "../../src/openstack/errors.js";
import {
  listAnswer,
  visibleResource,
  writableResource,
} from "../../src/openstack/networking/collection.js";
import { writeNb } from "../../src/openstack/networking/write.js";
import {
  DROP_PORT_GROUP,
  ensureDefaultSecurityGroup,
  ensureDropPortGroup,
} from "../../src/openstack/networking/security-groups/index.js";
import { securityGroupRules } from "../../src/openstack/networking/security-groups/security-group-rules.js";
import { securityGroups } from "../../src/openstack/networking/security-groups/security-groups.js";
import { OvsdbClient, Replica } from "../../src/ovsdb/index.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import { SCHEMAS, startStandalone, type OvsdbServerHandle } from "../helpers/ovsdb-server.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";
import { waitFor } from "../helpers/wait.js";

type NB = OvnNorthboundDatabase;

interface ApiServer {
  nb: OvsdbClient<NB>;
  replica: Replica<NB>;
}

const ADMIN: Caller = {
  userId: "u",
  userName: "admin",
  projectId: "p-admin",
  projectName: "admin",
  roles: ["admin", "member", "reader"],
};

let dir: string;
let server: OvsdbServerHandle;
const servers: ApiServer[] = [];

before(async () => {
  dir = await makeTempDir("sgnb");
  server = await startStandalone({ dir: `${dir}/nb`, schemaFile: SCHEMAS.northbound });
  for (let i = 0; i < 2; i++) {
    const nb = await OvsdbClient.connect<NB>({
      remotes: server.unixRemote,
      database: "OVN_Northbound",
      // As the service has it: a transaction the server holds fails rather than hangs.
      requestTimeoutMs: 10_000,
    });
    const replica = await Replica.start(nb, { Port_Group: true, ACL: true });
    servers.push({ nb, replica });
  }
});

after(async () => {
  for (const s of servers) {
    s.replica.close();
    s.nb.close();
  }
  await server?.stop();
  await removeDir(dir);
});

/** Port groups as NB holds them, read on a connection of their own. */
async function portGroups() {
  const nb = await OvsdbClient.connect<NB>({
    remotes: server.unixRemote,
    database: "OVN_Northbound",
  });
  try {
    return await nb.select("Port_Group", [], ["name", "acls", "external_ids"]);
  } finally {
    nb.close();
  }
}

describe("security group rows with two API servers on one NB", () => {
  it("creates the drop group once when both add it at once", async () => {
    await Promise.all(
      servers.map((s) => writeNb(s.nb, (txn) => ensureDropPortGroup(txn, s.replica))),
    );
    const drops = (await portGroups()).filter((g) => g.name === DROP_PORT_GROUP);
    assert.equal(drops.length, 1);
    assert.equal(drops[0]!.acls.length, 2);
  });

  it("gives each project one default group however many requests race for it", async () => {
    const projects = ["p1", "p2", "p3", "p4", "p5"];
    const ids = await Promise.all(
      projects.flatMap((p) =>
        servers.map((s) =>
          writeNb(s.nb, (txn) => ensureDefaultSecurityGroup(txn, s.replica, p)).then(
            (id) => [p, id] as const,
          ),
        ),
      ),
    );
    const defaults = (await portGroups()).filter(
      (g) => g.external_ids.get("microovn:name") === "default",
    );
    assert.deepEqual(
      defaults.map((g) => g.external_ids.get("microovn:project_id")).sort(),
      projects,
    );
    for (const g of defaults) assert.equal(g.acls.length, 4);
    // Both servers answered with the id of the one group there is.
    for (const [p, id] of ids) {
      const g = defaults.find((d) => d.external_ids.get("microovn:project_id") === p)!;
      assert.equal(id, g.external_ids.get("neutron:security_group_id"));
    }
  });

  it("lets one of two identical rules in and tells the other it exists", async () => {
    const [a, b] = servers as [ApiServer, ApiServer];
    const groupsA = securityGroups(a.replica);
    const [groupId] = await writeNb(a.nb, (txn) => groupsA.create(txn, [{ name: "race" }], ADMIN));
    // The second server learns of the group from NB's update, as it would
    // between a client's two requests.
    await waitFor("the other server's replica to have the group", () =>
      securityGroups(b.replica).get(groupId!),
    );
    const rule = {
      security_group_id: groupId,
      direction: "ingress",
      protocol: "tcp",
      port_range_min: 22,
      port_range_max: 22,
    };
    const results = await Promise.allSettled(
      [a, b].map((s) => {
        const rules = securityGroupRules(s.replica, securityGroups(s.replica));
        return writeNb(s.nb, (txn) => rules.create(txn, [rule], ADMIN));
      }),
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    const refused = results.filter((r) => r.status === "rejected");
    assert.equal(ok.length, 1, JSON.stringify(results));
    const reason = (refused[0] as PromiseRejectedResult).reason as ApiError;
    assert.ok(reason instanceof ApiError, String(reason));
    assert.equal(reason.status, 409);
    assert.equal(reason.type, "SecurityGroupRuleExists");
    const race = (await portGroups()).find((g) => g.external_ids.get("microovn:name") === "race")!;
    assert.equal(race.acls.length, 3, "two egress rules and one ssh rule");
  });
});

describe("security groups by project, on a real NB", () => {
  const member = (project: string): Caller => ({
    userId: `u-${project}`,
    userName: `alice-${project}`,
    projectId: project,
    projectName: project,
    roles: ["member", "reader"],
  });
  const reader: Caller = { ...member("pa"), roles: ["reader"] };

  it("shows members their project's groups and rules only, admins all", async () => {
    const s = servers[0]!;
    const groups = securityGroups(s.replica);
    const rules = securityGroupRules(s.replica, groups);
    const [a] = await writeNb(s.nb, (txn) => groups.create(txn, [{ name: "ga" }], member("pa")));
    const [b] = await writeNb(s.nb, (txn) => groups.create(txn, [{ name: "gb" }], member("pb")));
    const names = (caller: Caller) =>
      (listAnswer(groups, caller, {}, "u").security_groups as { name: string }[])
        .map((g) => g.name)
        .sort();
    assert.deepEqual(names(member("pa")), ["default", "ga"]);
    assert.deepEqual(names(member("pb")), ["default", "gb"]);
    assert.ok(names(ADMIN).includes("ga") && names(ADMIN).includes("gb"));
    const ruleGroups = (caller: Caller) =>
      new Set(
        (
          listAnswer(rules, caller, {}, "u").security_group_rules as { security_group_id: string }[]
        ).map((r) => r.security_group_id),
      );
    assert.ok(ruleGroups(member("pa")).has(a!));
    assert.ok(!ruleGroups(member("pa")).has(b!));
    // Another project's group is not there at all for a member: 404.
    assert.throws(() => visibleResource(member("pa"), groups, b!), { status: 404 });
    await assert.rejects(
      writeNb(s.nb, (txn) =>
        rules.create(txn, [{ security_group_id: b, direction: "ingress" }], member("pa")),
      ),
      { status: 404, type: "SecurityGroupNotFound" },
    );
    // An admin's rule in pb's group is pb's, so pb's members see it.
    const [adminRule] = await writeNb(s.nb, (txn) =>
      rules.create(txn, [{ security_group_id: b, direction: "ingress", protocol: "tcp" }], ADMIN),
    );
    assert.equal(rules.get(adminRule!)?.project_id, "pb");
    assert.doesNotThrow(() => visibleResource(member("pb"), rules, adminRule!));
  });

  it("refuses a reader's writes and a member deleting the default group", async () => {
    const s = servers[0]!;
    const groups = securityGroups(s.replica);
    await assert.rejects(
      writeNb(s.nb, (txn) => groups.create(txn, [{ name: "nope" }], reader)),
      { status: 403 },
    );
    const def = [...groups.all()].find((g) => g.project_id === "pa" && g.name === "default")!;
    const deleteAs = (caller: Caller) =>
      writeNb(s.nb, (txn) => {
        groups.remove(txn, writableResource(caller, groups, def.id, "delete"), caller);
      });
    await assert.rejects(deleteAs(reader), { status: 403 });
    await assert.rejects(deleteAs(member("pa")), {
      status: 409,
      type: "SecurityGroupCannotRemoveDefault",
    });
    await deleteAs(ADMIN);
    assert.equal(groups.get(def.id), undefined);
  });
});
