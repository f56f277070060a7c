import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { formatMembers, listedMember, type MemberRow } from "../../src/cli/format/members.js";
import { checkListFormat } from "../../src/cli/format/table.js";

const members: MemberRow[] = [
  {
    name: "movn2",
    address: "10.0.0.2",
    role: "voter",
    fingerprint: "bb".repeat(4),
    status: "OFFLINE",
  },
  {
    name: "movn1",
    address: "10.0.0.1",
    role: "voter",
    fingerprint: "aa".repeat(4),
    status: "ONLINE",
  },
];

describe("cluster list output", () => {
  it("draws a table sorted by name", () => {
    assert.equal(
      formatMembers(members, "table"),
      [
        "+-------+----------+-------+-------------+---------+",
        "| NAME  | ADDRESS  | ROLE  | FINGERPRINT | STATUS  |",
        "+-------+----------+-------+-------------+---------+",
        "| movn1 | 10.0.0.1 | voter | aaaaaaaa    | ONLINE  |",
        "| movn2 | 10.0.0.2 | voter | bbbbbbbb    | OFFLINE |",
        "+-------+----------+-------+-------------+---------+",
        "",
      ].join("\n"),
    );
  });

  it("prints compact columns", () => {
    assert.equal(
      formatMembers(members, "compact"),
      [
        "NAME   ADDRESS   ROLE   FINGERPRINT  STATUS",
        "movn1  10.0.0.1  voter  aaaaaaaa     ONLINE",
        "movn2  10.0.0.2  voter  bbbbbbbb     OFFLINE",
        "",
      ].join("\n"),
    );
  });

  it("gives machines JSON, YAML and CSV that read back", () => {
    const sorted = [members[1], members[0]];
    assert.deepEqual(JSON.parse(formatMembers(members, "json")), sorted);
    assert.deepEqual(parseYaml(formatMembers(members, "yaml")), sorted);
    const csv = formatMembers([{ ...members[0]!, name: 'odd,"name"' }], "csv").split("\n");
    assert.equal(csv[0], "NAME,ADDRESS,ROLE,FINGERPRINT,STATUS");
    assert.equal(csv[1], '"odd,""name""",10.0.0.2,voter,bbbbbbbb,OFFLINE');
  });

  it("refuses an unknown format", () => {
    assert.throws(
      () => checkListFormat("xml"),
      /"xml" is not an output format; choose one of table/,
    );
    assert.equal(checkListFormat("yaml"), "yaml");
  });

  it("lists each member's API address with its port, IPv6 in brackets", () => {
    const [v4, v6] = [members[1]!, { ...members[0]!, address: "fd00::2" }].map(listedMember);
    assert.equal(v4!.address, "10.0.0.1:6686");
    assert.equal(v6!.address, "[fd00::2]:6686");
    assert.equal(v4!.fingerprint, members[1]!.fingerprint);
  });
});
