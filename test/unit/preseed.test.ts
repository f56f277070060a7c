import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkIp,
  checkJoinToken,
  checkServiceList,
  checkTokenName,
  parsePreseed,
  parseServicesAnswer,
  parseYesNo,
} from "../../src/cli/preseed.js";
import { PassThrough } from "node:stream";
import { Prompter } from "../../src/cli/prompts.js";
import { encodeJoinToken } from "../../src/cluster/join-token.js";
import { MicroOvnError } from "../../src/errors.js";

const NOW = new Date("2030-01-01T00:00:00Z");

function token(name: string, expiresAt = "2030-01-01T03:00:00Z"): string {
  return encodeJoinToken({
    name,
    secret: "c2VjcmV0",
    fingerprint: "ab".repeat(32),
    addresses: ["198.18.0.1:6686"],
    expiresAt,
  });
}

const M2 = token("m2");

function parse(text: string) {
  return parsePreseed(text, { now: NOW });
}

/** The preseed is refused with BAD_PRESEED and a message matching every pattern. */
function refused(text: string, ...patterns: RegExp[]): void {
  assert.throws(
    () => parse(text),
    (e: unknown) => {
      assert.ok(e instanceof MicroOvnError, String(e));
      assert.equal(e.code, "BAD_PRESEED");
      for (const p of patterns) assert.match(e.message, p);
      for (const line of e.message.split("\n")) assert.match(line, /^preseed: /);
      return true;
    },
  );
}

describe("preseed files that are valid", () => {
  it("bootstraps with every field given", () => {
    const plan = parse(`
address: 198.18.0.1
name: m1
create: true
services: [chassis, switch, central]
encap_ip: 198.18.1.1
tokens: [m2, m3]
tokens_timeout: 30m
`);
    assert.deepEqual(plan, {
      kind: "bootstrap",
      address: "198.18.0.1",
      name: "m1",
      services: ["central", "switch", "chassis"],
      encapIp: "198.18.1.1",
      tokens: ["m2", "m3"],
      tokensTimeout: "30m",
    });
  });

  it("bootstraps with defaults: create alone, services auto", () => {
    assert.deepEqual(parse("create: true\n"), { kind: "bootstrap", tokens: [] });
    assert.deepEqual(parse("create: true\nservices: auto\nname: m1\ntokens: []\n"), {
      kind: "bootstrap",
      name: "m1",
      tokens: [],
    });
    assert.deepEqual(
      parse("create: true\nservices: [switch, chassis]\ntokens_timeout: 3600\ntokens: [x]"),
      {
        kind: "bootstrap",
        services: ["switch", "chassis"],
        tokens: ["x"],
        tokensTimeout: "3600",
      },
    );
  });

  it("joins with the token's name, an address and an encapsulation IP", () => {
    assert.deepEqual(parse(`join:\n  token: ${M2}\naddress: 198.18.0.2\nencap_ip: fd00::2\n`), {
      kind: "join",
      token: M2,
      name: "m2",
      address: "198.18.0.2",
      encapIp: "fd00::2",
    });
    assert.deepEqual(parse(`join:\n  token: ${M2}\nunderlay_interface: enp5s0\n`), {
      kind: "join",
      token: M2,
      name: "m2",
      underlayInterface: "enp5s0",
    });
    assert.deepEqual(parse(`create: false\nname: m2\nservices: auto\njoin: {token: "${M2}"}\n`), {
      kind: "join",
      token: M2,
      name: "m2",
    });
  });

  it("takes allow_foreign_ovs for bootstrapping and joining", () => {
    assert.deepEqual(parse("create: true\nallow_foreign_ovs: true\n"), {
      kind: "bootstrap",
      tokens: [],
      allowForeignOvs: true,
    });
    assert.deepEqual(parse(`join: {token: "${M2}"}\nallow_foreign_ovs: true\n`), {
      kind: "join",
      token: M2,
      name: "m2",
      allowForeignOvs: true,
    });
    assert.deepEqual(parse("create: true\nallow_foreign_ovs: false\n"), {
      kind: "bootstrap",
      tokens: [],
    });
  });
});

describe("preseed files that are refused", () => {
  it("names a field that is not an IP address", () => {
    refused(
      "create: true\nencap_ip: 10.0.1\n",
      /^preseed: "encap_ip" must be an IP address, got "10\.0\.1"$/,
    );
    refused("create: true\naddress: 42\n", /"address" must be an IP address, got 42/);
    refused("create: true\naddress: [1, 2]\n", /"address" must be an IP address, got a list/);
  });

  it("names a bad member name, create flag, services or token lifetime", () => {
    refused("create: true\nname: bad_name!\n", /"name" must be a member name .*got "bad_name!"/);
    refused("create: yes\n", /"create" must be true or false, got "yes"/);
    refused(
      "create: true\nallow_foreign_ovs: 1\n",
      /"allow_foreign_ovs" must be true or false, got 1/,
    );
    refused(
      "create: true\nservices: [central, router]\n",
      /"services" .*"router" is not a service/,
    );
    refused("create: true\nservices: [chassis]\n", /"services" .*chassis service needs the switch/);
    refused("create: true\nservices: []\n", /"services" .*empty/);
    refused("create: true\nservices: [switch, switch]\n", /"services" .*"switch" is listed twice/);
    refused("create: true\nservices: all\n", /"services" must be "auto" or a list/);
    refused(
      "create: true\ntokens: [m2]\ntokens_timeout: forever\n",
      /"tokens_timeout" must be a token lifetime.*got "forever"/,
    );
    refused("create: true\ntokens_timeout: 3h\n", /"tokens_timeout" needs "tokens"/);
  });

  it("names bad token names", () => {
    refused("create: true\ntokens: m2\n", /"tokens" must be a list of member names/);
    refused("create: true\ntokens: [m2, no_way]\n", /"tokens\[1\]" must be a member name/);
    refused("create: true\ntokens: [m2, m2]\n", /"tokens\[1\]" names "m2" a second time/);
    refused("create: true\nname: m1\ntokens: [m1]\n", /"tokens\[0\]" is this member's own name/);
  });

  it("names a bad, expired or mismatched join token", () => {
    refused("join:\n  token: not-a-token\n", /"join\.token" cannot be used: .*not base64/);
    refused(
      `join:\n  token: ${token("m2", "2029-12-31T23:00:00Z")}\n`,
      /"join\.token" cannot be used: this token for "m2" expired/,
    );
    refused("join:\n  token: 42\n", /"join\.token" must be a join token \(a string\)/);
    refused("join: {}\n", /"join\.token" is missing/);
    refused(`join: ${M2}\n`, /"join" must be a mapping with "token"/);
    refused(
      `name: m9\njoin:\n  token: ${M2}\n`,
      /"name" must be the name the join token was issued for \("m2"\), got "m9"/,
    );
  });

  it("refuses what only bootstrapping takes when joining", () => {
    refused(
      `services: [switch, chassis]\njoin:\n  token: ${M2}\n`,
      /"services" must be "auto" when joining/,
    );
    refused(`tokens: [m3]\njoin:\n  token: ${M2}\n`, /"tokens" is only for bootstrapping/);
    refused(
      "create: true\nservices: [central]\nencap_ip: 10.0.0.1\n",
      /"encap_ip" is for the chassis service/,
    );
    refused(
      "create: true\nservices: [central, switch]\nunderlay_interface: eth1\n",
      /"underlay_interface" is for the chassis service/,
    );
  });

  it("names an underlay interface that is no interface name", () => {
    for (const bad of ["eth0:1", "a/b", "..", "x".repeat(16), "[eth1]"]) {
      refused(
        `create: true\nunderlay_interface: ${bad}\n`,
        /^preseed: "underlay_interface" must be a network interface name \(e\.g\. eth1\), got /,
      );
    }
    assert.equal(parse("create: true\nunderlay_interface: eth1\n").underlayInterface, "eth1");
  });

  it("refuses unknown keys, naming them", () => {
    refused(
      "create: true\nencap-ip: 10.0.0.1\n",
      /unknown key "encap-ip" \(did you mean "encap_ip"\?\); known keys: address, /,
    );
    refused("create: true\nfoo: 1\n", /unknown key "foo"/);
    refused(
      `join:\n  token: ${M2}\n  name: m2\n`,
      /unknown key "join\.name"; known keys: join\.token/,
    );
  });

  it("refuses both or neither of create and join", () => {
    refused(
      `create: true\njoin:\n  token: ${M2}\n`,
      /"create: true" and "join" exclude each other/,
    );
    refused("address: 10.0.0.1\n", /nothing to do: give "create: true" .* or "join\.token"/);
    refused("create: false\n", /nothing to do/);
  });

  it("lists every problem, one per line", () => {
    assert.throws(
      () => parse("create: true\naddress: x\nencap_ip: y\nbogus: 1\n"),
      (e: unknown) => {
        const lines = (e as Error).message.split("\n");
        assert.equal(lines.length, 3, (e as Error).message);
        assert.match(lines.join("\n"), /"bogus"[^]*"address"[^]*"encap_ip"/);
        return true;
      },
    );
  });

  it("says where the YAML is broken, and refuses empty files and non-mappings", () => {
    refused("create: true\ntokens: [m2,\n", /^preseed: not valid YAML: .* at line 3, column 1$/);
    refused("create: true\ncreate: false\n", /not valid YAML: Map keys must be unique at line 2/);
    refused("", /the file is empty/);
    refused("# nothing\n", /the file is empty/);
    refused("- create\n", /must be a mapping of keys .*got a list/);
    refused("create\n", /must be a mapping of keys .*got "create"/);
  });
});

describe("the wizard's answers", () => {
  const invalid = (e: unknown) => e instanceof MicroOvnError && e.code === "INVALID_ANSWER";

  it("reads yes and no, with a default", () => {
    assert.equal(parseYesNo("", true), true);
    assert.equal(parseYesNo(" YES ", false), true);
    assert.equal(parseYesNo("n", true), false);
    assert.throws(() => parseYesNo("maybe", false), /"maybe" is neither yes nor no/);
  });

  it("reads services: auto or a comma list", () => {
    assert.equal(parseServicesAnswer(""), undefined);
    assert.equal(parseServicesAnswer("Auto"), undefined);
    assert.deepEqual(parseServicesAnswer("chassis, switch"), ["switch", "chassis"]);
    assert.throws(() => parseServicesAnswer("central,,switch"), invalid);
    assert.throws(() => checkServiceList(["chassis"]), /needs the switch service/);
  });

  it("checks addresses, tokens and new members' names", () => {
    assert.equal(checkIp("fd00::1"), "fd00::1");
    assert.throws(() => checkIp("10.0.1"), /"10\.0\.1" is not an IP address/);
    assert.equal(checkJoinToken(M2, NOW).name, "m2");
    assert.throws(() => checkJoinToken(token("m2", "2029-01-01T00:00:00Z"), NOW), /expired/);
    assert.throws(() => checkJoinToken("garbage!", NOW), invalid);
    assert.equal(checkTokenName("m3", ["m1", "m2"]), "m3");
    assert.throws(() => checkTokenName("m2", ["m1", "m2"]), /"m2" is already taken/);
    assert.throws(() => checkTokenName("a b", []), /not a valid member name/);
  });
});

describe("the prompter", () => {
  function prompter(input: string) {
    const stdin = new PassThrough();
    const out = new PassThrough();
    let shown = "";
    out.on("data", (b: Buffer) => (shown += b.toString("utf8")));
    stdin.end(input);
    return { p: new Prompter(stdin, out), shown: () => shown };
  }

  it("answers every question from input piped all at once, asking again after a refusal", async () => {
    const { p, shown } = prompter("maybe\nyes\n  10.0.0.1  \nsecret\n");
    assert.equal(await p.ask("Go? (yes/no) [default=no]:", (a) => parseYesNo(a, false)), true);
    assert.equal(await p.ask("Address:", checkIp), "10.0.0.1");
    assert.equal(await p.ask("Token:", (a) => a, { secret: true }), "secret");
    p.close();
    assert.equal(
      shown(),
      "Go? (yes/no) [default=no]: maybe\n" +
        '  "maybe" is neither yes nor no; please try again\n' +
        "Go? (yes/no) [default=no]: yes\n" +
        "Address: 10.0.0.1\n" +
        "Token: (hidden)\n",
    );
  });

  it("ends with INPUT_ENDED, naming the question, when the input ends", async () => {
    const { p } = prompter("yes");
    assert.equal(await p.ask("First?", (a) => parseYesNo(a, false)), true);
    await assert.rejects(
      p.ask("Second?", (a) => a),
      (e: unknown) =>
        e instanceof MicroOvnError &&
        e.code === "INPUT_ENDED" &&
        /before this question was answered: "Second\?"; nothing was changed/.test(e.message),
    );
    p.close();
  });
});
