/**
 * `microovn init` in the lab: m1 bootstraps through the wizard (a
 * conversation over stdin: each answer written once its question shows,
 * some refused and asked again), m2 joins from a preseed file, m3 joins
 * through the wizard with every answer piped at once. The result is the
 * cluster `cluster bootstrap/add/join` makes: three voters running central,
 * switch and chassis, each with its underlay interface (on the userspace
 * datapath) and encapsulation IP, VMs on two of them talking through Geneve. Bad input (a bad preseed, the input ending early)
 * changes nothing, and a member is refused.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Lab, LabNode } from "../../src/lab/lab.js";
import { inNamespace, runIn } from "../../src/lab/netns.js";
import { detectDatapath } from "../../src/ovn/switch.js";
import { run, type RunResult } from "../../src/process/run.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { CLI } from "../helpers/member.js";
import { waitFor } from "../helpers/wait.js";

let lab: Lab | undefined;
let m2Token = "";

const TIMEOUT_MS = 180_000;
const STEP_TIMEOUT_MS = 30_000;

/** `microovn init ARGS…` on `node`, with `input` (if any) piped to it whole. */
function init(node: LabNode, args: readonly string[] = [], input = ""): Promise<RunResult> {
  const cmd = inNamespace(node.namespace, process.execPath, [
    CLI,
    "--state-dir",
    node.stateDir,
    "init",
    ...args,
  ]);
  return run(cmd.program, cmd.args, { input, allowFailure: true, timeoutMs: TIMEOUT_MS });
}

interface Step {
  /** The question, matched at the end of what stderr shows since the last answer. */
  prompt: RegExp;
  answer: string;
}

/**
 * The wizard as a person uses it: each answer is written only once its
 * question is on the screen (stderr); after the last, the input is closed.
 */
function converse(node: LabNode, steps: readonly Step[]): Promise<RunResult> {
  const cmd = inNamespace(node.namespace, process.execPath, [
    CLI,
    "--state-dir",
    node.stateDir,
    "init",
  ]);
  const child = spawn(cmd.program, cmd.args, { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let seen = 0;
  let step = 0;
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      child.kill("SIGKILL");
      reject(new Error(`init on ${node.name} ${why} at step ${step}:\n${stderr}`));
    };
    // Each question must show within STEP_TIMEOUT_MS; the whole run within TIMEOUT_MS.
    let stall = setTimeout(() => fail(`never asked ${steps[0]?.prompt}`), STEP_TIMEOUT_MS);
    const timer = setTimeout(() => fail("did not finish"), TIMEOUT_MS);
    const advance = () => {
      while (step < steps.length) {
        const m = steps[step]!.prompt.exec(stderr.slice(seen));
        if (!m) return;
        seen += m.index + m[0].length;
        child.stdin.write(`${steps[step]!.answer}\n`);
        clearTimeout(stall);
        if (++step === steps.length) {
          child.stdin.end();
        } else {
          const next = steps[step]!.prompt;
          stall = setTimeout(() => fail(`never asked ${next}`), STEP_TIMEOUT_MS);
        }
      }
    };
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => {
      stderr += b.toString("utf8");
      advance();
    });
    child.stdin.on("error", () => undefined);
    child.on("error", reject);
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      clearTimeout(stall);
      if (step < steps.length) {
        reject(new Error(`init on ${node.name} ended (${exitCode}) at step ${step}:\n${stderr}`));
      } else {
        resolve({ stdout, stderr, exitCode, signal });
      }
    });
  });
}

/** The wizard asks for an underlay interface only on the userspace datapath. */
const NETDEV = (await detectDatapath()) === "netdev";

async function assertNotMember(node: LabNode): Promise<void> {
  const left = await readdir(node.stateDir).catch(() => [] as string[]);
  assert.ok(!left.includes("data"), `${node.name} has no data: ${left.join(", ")}`);
  assert.match(await lab!.ok(node.name, ["status"]), /not a member of a cluster yet/);
}

const q = (text: string) => new RegExp(`${text}: $`);

before(async () => {
  lab = await startLab(0);
});

after(() => stopLab(lab));

describe("microovn init", () => {
  it("bootstraps m1 through the wizard, asking again after bad answers, and prints a token", async () => {
    const m1 = await lab!.addNode();
    const r = await converse(m1, [
      {
        prompt: q(`listen on\\? \\[default=${m1.address.replaceAll(".", "\\.")}\\]`),
        answer: "10.0.1",
      },
      { prompt: q(`"10\\.0\\.1" is not an IP address.*\\n.*listen on\\? .*`), answer: "" },
      {
        prompt: q(`Create a new MicroOVN cluster .*\\? \\(yes/no\\) \\[default=no\\]`),
        answer: "maybe",
      },
      { prompt: q(`"maybe" is neither yes nor no.*\\n.*Create a new .*`), answer: "yes" },
      { prompt: q(`Name of this member \\[default=.*\\]`), answer: "m1" },
      { prompt: q(`Which services .*\\[default=auto\\]`), answer: "" },
      ...(NETDEV
        ? [
            {
              prompt: q(`move onto br-phy \\(empty: none\\) \\[default=none\\]`),
              answer: "nosuch0",
            },
            {
              prompt: q(`has no interface "nosuch0" .*\\n.*move onto br-phy .*`),
              answer: "ul0",
            },
          ]
        : []),
      { prompt: q(`custom encapsulation .*\\[default=no\\]`), answer: "yes" },
      { prompt: q(`Encapsulation IP address for this member`), answer: "198.18.1" },
      { prompt: q(`not an IP address.*\\n.*Encapsulation IP address .*`), answer: m1.encapIp },
      { prompt: q(`Make join tokens for more members now\\? .*`), answer: "yes" },
      { prompt: q(`Name of a new member \\(empty when done\\)`), answer: "m2" },
      { prompt: q(`Name of a new member .*`), answer: "m1" },
      { prompt: q(`"m1" is already taken.*\\n.*Name of a new member .*`), answer: "" },
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, /Bootstrapped m1 \(198\.18\.0\.1\); services: central, switch, chassis/);
    assert.match(r.stderr, /Join token for m2 \(valid until [^)]+\):/);
    // Answers from a pipe are echoed, so the log reads like a terminal session.
    assert.match(r.stderr, /\nName of this member \[default=[^\]]+\]: m1\n/);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 1, `stdout holds the token alone: ${r.stdout}`);
    m2Token = lines[0]!;
    assert.match(m2Token, /^[A-Za-z0-9+/]+=*$/);
    if (NETDEV) assert.match(r.stderr, /Underlay interface: ul0 \(its addresses are on br-phy/);
  });

  it("joins m2 from a preseed file", async () => {
    const m2 = await lab!.addNode();
    const file = join(lab!.root, "m2-preseed.yaml");
    await writeFile(
      file,
      `# m2 joins\naddress: ${m2.address}\nencap_ip: ${m2.encapIp}\n` +
        (NETDEV ? "underlay_interface: ul0\n" : "") +
        `join:\n  token: ${m2Token}\n`,
    );
    const r = await init(m2, ["--preseed", file]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, "", "a join prints no tokens");
    assert.match(r.stderr, /Joined as m2 \(198\.18\.0\.2\); services: central, switch, chassis/);
  });

  it("joins m3 through the wizard with every answer piped at once", async () => {
    const m3 = await lab!.addNode();
    const token = (await lab!.ok("m1", ["cluster", "add", "m3"])).trim();
    // The encapsulation IP is left to the underlay (its address) where there is one.
    const answers = NETDEV ? ["ul0", "no"] : ["yes", m3.encapIp];
    const r = await init(m3, [], [m3.address, "no", token, ...answers, ""].join("\n"));
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /This member will join as m3\./);
    assert.match(r.stderr, /Join token \(.*\): \(hidden\)\n/);
    assert.ok(!r.stderr.includes(token), "the token is not echoed");
    assert.match(r.stderr, /Joined as m3 \(198\.18\.0\.3\)/);
    assert.doesNotMatch(r.stderr, /Which services/, "a joiner is not asked for services");
  });

  it("made the cluster bootstrap/add/join make: three voters with every service", async () => {
    const listed = JSON.parse(await lab!.ok("m2", ["cluster", "list", "-f", "json"])) as {
      name: string;
      address: string;
      role: string;
      status: string;
    }[];
    assert.deepEqual(
      listed.map((m) => [m.name, m.address, m.role, m.status]),
      lab!.nodes.map((n) => [n.name, `${n.address}:6686`, "voter", "ONLINE"]),
    );
    const status = JSON.parse(await lab!.ok("m3", ["status", "--json"])) as {
      members: { name: string; services: string[] }[];
    };
    assert.deepEqual(
      status.members.map((m) => [m.name, [...m.services].sort()]),
      lab!.nodes.map((n) => [n.name, ["central", "chassis", "switch"]]),
    );
  });

  it("set each member's encapsulation IP, on br-phy with the userspace datapath", async () => {
    for (const n of lab!.nodes) {
      const ip = await lab!.ok(n.name, [
        "ovs-vsctl",
        "get",
        "Open_vSwitch",
        ".",
        "external_ids:ovn-encap-ip",
      ]);
      assert.equal(JSON.parse(ip), n.encapIp, n.name);
      const shown = await lab!.ok(n.name, ["chassis", "show"]);
      assert.match(shown, new RegExp(`encap-ip: \\(?${n.encapIp}`));
      if (NETDEV) assert.match(shown, /underlay-interface: ul0 \(its addresses on br-phy\)/);
    }
  });

  it("lets a VM on m1 ping a VM on m3 through Geneve", async () => {
    const vm1 = await lab!.addVm("m1");
    const vm2 = await lab!.addVm("m3");
    const ping = (count: number) =>
      runIn(vm1.namespace, "ping", ["-c", String(count), "-i", "0.2", "-W", "1", vm2.ip], {
        allowFailure: true,
        timeoutMs: 20_000,
      });
    await waitFor("vm1 reaches vm2", async () => (await ping(1)).exitCode === 0, {
      timeoutMs: 30_000,
    });
    const r = await ping(3);
    assert.match(r.stdout, /3 received/, r.stdout);
  });

  it("refuses a bad preseed, naming the field, and leaves the machine as it was", async () => {
    const m4 = await lab!.addNode();
    const file = join(lab!.root, "bad-preseed.yaml");
    await writeFile(file, `create: true\nname: m4\nencap_ip: 10.0.1\n`);
    const r = await init(m4, ["--preseed", file]);
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /preseed: "encap_ip" must be an IP address, got "10\.0\.1"/);
    assert.equal(r.stdout, "");

    const piped = await init(m4, ["--preseed", "-"], `create: true\nencap-ip: 10.0.0.4\n`);
    assert.notEqual(piped.exitCode, 0);
    assert.match(piped.stderr, /unknown key "encap-ip" \(did you mean "encap_ip"\?\)/);

    const conflict = await init(
      m4,
      ["--preseed", "-"],
      `create: true\njoin:\n  token: ${m2Token}\n`,
    );
    assert.notEqual(conflict.exitCode, 0);
    assert.match(conflict.stderr, /"create: true" and "join" exclude each other/);

    if (NETDEV) {
      const noLink = await init(m4, ["--preseed", "-"], "create: true\nunderlay_interface: eth7\n");
      assert.notEqual(noLink.exitCode, 0);
      assert.match(
        noLink.stderr,
        /preseed: "underlay_interface" this machine has no interface "eth7"/,
      );
    }
    const notHere = await init(m4, ["--preseed", "-"], "create: true\nencap_ip: 203.0.113.9\n");
    assert.notEqual(notHere.exitCode, 0);
    assert.match(
      notHere.stderr,
      /preseed: "encap_ip" 203\.0\.113\.9 is not an address of this machine/,
    );

    const missing = await init(m4, ["--preseed", join(lab!.root, "nope.yaml")]);
    assert.match(missing.stderr, /cannot read the preseed file .*nope\.yaml/);
    await assertNotMember(m4);
  });

  it("changes nothing when the wizard's input ends early", async () => {
    const m4 = lab!.node("m4");
    const r = await init(m4, [], "\nyes\nm4\n");
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /the input ended before this question was answered: "Which services/);
    assert.match(r.stderr, /nothing was changed/);
    await assertNotMember(m4);
  });

  it("refuses a machine that is a member already, pointing at microovn status", async () => {
    const m1 = lab!.node("m1");
    for (const r of [
      await init(m1, [], "\nyes\n"),
      await init(m1, ["--preseed", "-"], "create: true\n"),
    ]) {
      assert.notEqual(r.exitCode, 0);
      assert.match(
        r.stderr,
        /already a member of a cluster; nothing was changed\. See `microovn status`/,
      );
      assert.doesNotMatch(r.stderr, /listen on/, "nothing is asked");
    }
  });
});
