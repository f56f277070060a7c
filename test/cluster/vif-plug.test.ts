/**
 * VIF plug on two members, with NB rows as Neutron's ML2/OVN driver writes
 * them (a `neutron-<uuid>` switch with neutron:mtu, ports named by UUIDs,
 * a DHCP_Options row per subnet): lab VMs plugged with `port plug` get
 * exactly their port's address from OVN's native DHCP, with the router as
 * default route and the MTU, and ping each other over Geneve; SB binds each
 * port to its member; unplug takes the binding away and plug brings it
 * back; every refused plug or unplug says why and leaves conf.db as it was.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Lab } from "../../src/lab/lab.js";
import { runIn } from "../../src/lab/netns.js";
import { run } from "../../src/process/run.js";
import { CLI } from "../helpers/member.js";
import { isAlive } from "../helpers/processes.js";
import { startLab, stopLab } from "../helpers/lab.js";
import { waitFor } from "../helpers/wait.js";

const NETWORK = "5b0f3a2e-7c1d-4e8f-9a6b-2d4c6e8f0a1b";
const SWITCH = `neutron-${NETWORK}`;
const P1 = "a1b2c3d4-0001-4e5f-8a9b-0c1d2e3f4a51";
const P2 = "a1b2c3d4-0002-4e5f-8a9b-0c1d2e3f4a52";
/** A router's port on the switch, which no VM can take. */
const ROUTER_PORT = "a1b2c3d4-00ff-4e5f-8a9b-0c1d2e3f4aff";
/** A port whose addresses are only "unknown": no MAC to take. */
const UNKNOWN_PORT = "a1b2c3d4-00fe-4e5f-8a9b-0c1d2e3f4afe";
/** In NB without DHCP options. */
const NO_DHCP = "a1b2c3d4-0004-4e5f-8a9b-0c1d2e3f4a54";
/** In NB, never plugged by the VMs: for the refusals. */
const P3 = "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a53";
const PORTS = [
  { id: P1, mac: "fa:16:3e:5a:00:01", ip: "10.0.0.5", node: "m1" },
  { id: P2, mac: "fa:16:3e:5a:00:02", ip: "10.0.0.6", node: "m2" },
  { id: P3, mac: "fa:16:3e:5a:00:03", ip: "10.0.0.7", node: "m1" },
];

let lab: Lab | undefined;
/** Processes this file stopped with SIGSTOP: let them go on whatever happens. */
const stopped: number[] = [];

function resumeStopped(): void {
  for (const pid of stopped.splice(0)) {
    try {
      process.kill(pid, "SIGCONT");
    } catch {
      /* gone */
    }
  }
}

/** `microovn lab …` with the built CLI, as a user runs it. */
function labCli(args: readonly string[]) {
  return run(process.execPath, [CLI, "lab", ...args, "--dir", lab!.root], {
    allowFailure: true,
    timeoutMs: 120_000,
  });
}

/** The lab as lab.json now describes it (`lab vm add` ran in another process). */
async function reloaded(): Promise<Lab> {
  const current = await Lab.load({ root: lab!.root, cli: lab!.cliCommand });
  assert.ok(current, "lab.json is there");
  return current;
}

async function nbctl(...args: string[]): Promise<string> {
  return (await lab!.ok("m1", ["ovn-nbctl", "--timeout=10", ...args])).trim();
}

/** SB's Port_Binding of `port`: the name of the chassis it is bound to, "" when none. */
async function boundChassis(node: string, port: string): Promise<string> {
  const chassis = (
    await lab!.ok(node, [
      "ovn-sbctl",
      "--timeout=10",
      "--bare",
      "--columns=chassis",
      "find",
      "Port_Binding",
      `logical_port=${port}`,
    ])
  ).trim();
  if (chassis === "") return "";
  return (
    await lab!.ok(node, [
      "ovn-sbctl",
      "--timeout=10",
      "--bare",
      "--columns=name",
      "list",
      "Chassis",
      chassis,
    ])
  ).trim();
}

/** What plug and unplug may change in a member's conf.db: interfaces, their ids, br-int's ports. */
async function confDb(node: string): Promise<string> {
  const interfaces = await lab!.ok(node, [
    "ovs-vsctl",
    "--format=json",
    "--columns=name,external_ids",
    "list",
    "Interface",
  ]);
  const rows = (JSON.parse(interfaces) as { data: unknown[][] }).data.map((r) =>
    JSON.stringify(
      r.map((cell) => (Array.isArray(cell) && cell[0] === "map" ? sortedMap(cell) : cell)),
    ),
  );
  // ovn-controller adds ovn-installed when it has bound a port: not ours to compare.
  const ports = await lab!.ok(node, ["ovs-vsctl", "list-ports", "br-int"]);
  return JSON.stringify({ interfaces: rows.sort(), ports: ports.split("\n").sort() });
}

function sortedMap(cell: unknown[]): unknown[] {
  const pairs = (cell[1] as [string, string][]).filter(([k]) => k !== "ovn-installed");
  return ["map", pairs.sort(([a], [b]) => a.localeCompare(b))];
}

async function ping(vm: string, ip: string): Promise<boolean> {
  const r = await (await reloaded()).exec(vm, "ping", ["-c", "1", "-W", "1", ip]);
  return r.exitCode === 0;
}

function seconds(since: bigint): string {
  return (Number(process.hrtime.bigint() - since) / 1e9).toFixed(3);
}

before(async () => {
  lab = await startLab(2);
  await nbctl(
    "ls-add",
    SWITCH,
    "--",
    "set",
    "Logical_Switch",
    SWITCH,
    'external_ids:"neutron:mtu"="1400"',
  );
  const dhcp = await nbctl(
    "create",
    "DHCP_Options",
    "cidr=10.0.0.0/24",
    'options={lease_time="43200", mtu="1400", router="10.0.0.1", server_id="10.0.0.1", ' +
      'server_mac="fa:16:3e:5a:00:fe", dns_server="{10.0.0.2}"}',
    'external_ids={"subnet_id"="0e5f2a4c-1111-4d2b-9c3a-5e6f7a8b9c0d"}',
  );
  await nbctl("lsp-add", SWITCH, UNKNOWN_PORT, "--", "lsp-set-addresses", UNKNOWN_PORT, "unknown");
  await nbctl("lsp-add", SWITCH, ROUTER_PORT, "--", "lsp-set-type", ROUTER_PORT, "router");
  for (const p of PORTS) {
    await nbctl(
      "lsp-add",
      SWITCH,
      p.id,
      "--",
      "lsp-set-addresses",
      p.id,
      `${p.mac} ${p.ip}`,
      "--",
      "lsp-set-dhcpv4-options",
      p.id,
      dhcp,
    );
  }
});

after(async () => {
  resumeStopped();
  if (!lab) return;
  await stopLab((await Lab.load({ root: lab.root, cli: lab.cliCommand })) ?? lab);
});

describe("VIF plug", () => {
  it("puts VMs on Neutron ports with their addresses from OVN's DHCP; they ping over Geneve", async (t) => {
    for (const p of PORTS.slice(0, 2)) {
      const started = process.hrtime.bigint();
      const r = await labCli(["vm", "add", p.node, "--port", p.id, "--dhcp"]);
      assert.equal(r.exitCode, 0, r.stderr);
      t.diagnostic(`lab vm add ${p.node} --dhcp: ${seconds(started)} s; ${r.stdout.trim()}`);
      assert.match(
        r.stdout,
        new RegExp(
          `on ${p.node}, port ${p.id}, MAC ${p.mac}, .*by DHCP in [0-9.]+ s: ${p.ip}/24, router 10\\.0\\.0\\.1, MTU 1400, lease 43200 s`,
        ),
      );
    }
    const current = await reloaded();
    for (const [i, p] of PORTS.slice(0, 2).entries()) {
      const vm = current.vms[i]!;
      assert.equal(vm.port, p.id);
      const [eth0] = JSON.parse(
        (await runIn(vm.namespace, "ip", ["-j", "addr", "show", "eth0"])).stdout,
      ) as {
        address: string;
        mtu: number;
        addr_info: { family: string; local: string; prefixlen: number }[];
      }[];
      assert.equal(eth0!.address, p.mac);
      assert.equal(eth0!.mtu, 1400, "option 26 from the DHCP_Options row");
      assert.deepEqual(
        eth0!.addr_info.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`),
        [`${p.ip}/24`],
      );
      const routes = JSON.parse(
        (await runIn(vm.namespace, "ip", ["-j", "route", "show", "default"])).stdout,
      ) as { gateway?: string; dev?: string }[];
      assert.deepEqual(
        routes.map((r) => [r.gateway, r.dev]),
        [["10.0.0.1", "eth0"]],
      );
      // One-shot: the client has exited, its pidfile names no running process.
      const pidFile = join(current.root, "dhcp", `${vm.name}.pid`);
      if (existsSync(pidFile)) assert.equal(isAlive(Number(readFileSync(pidFile, "utf8"))), false);
      assert.equal(await boundChassis("m1", p.id), p.node);
      assert.equal(await nbctl("lsp-get-up", p.id), "up");
    }
    await waitFor("vm1 to ping vm2 across the tunnel", () => ping("vm1", "10.0.0.6"), {
      timeoutMs: 20_000,
    });
    const list = await lab!.ok("m1", ["port", "list", "-f", "csv"]);
    assert.equal(list, `IFACE,PORT_ID,MAC,BOUND\nvm1-h,${P1},fa:16:3e:5a:00:01,yes\n`);
  });

  it("refuses a lab VM on a missing port, and takes one away again when DHCP gets no answer", async () => {
    const before = await reloaded();
    const vms = before.vms.length;
    const missing = await labCli(["vm", "add", "m1", "--port", "no-such-port", "--dhcp"]);
    assert.notEqual(missing.exitCode, 0);
    assert.match(missing.stderr, /m1 cannot read port no-such-port from NB .*nothing was made/);
    assert.equal((await reloaded()).vms.length, vms);
    const noMac = await labCli(["vm", "add", "m1", "--port", UNKNOWN_PORT]);
    assert.notEqual(noMac.exitCode, 0);
    assert.match(noMac.stderr, /port \S+ has no MAC in its addresses \(unknown\); give it one/);
    assert.equal((await reloaded()).vms.length, vms);

    // A port with an address but no dhcpv4_options: OVN does not answer.
    await nbctl(
      "lsp-add",
      SWITCH,
      NO_DHCP,
      "--",
      "lsp-set-addresses",
      NO_DHCP,
      "fa:16:3e:5a:00:04 10.0.0.8",
    );
    const confBefore = await confDb("m1");
    const r = await labCli(["vm", "add", "m1", "--port", NO_DHCP, "--dhcp"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(
      r.stderr,
      /no DHCP answer on eth0 after [0-9.]+ s .*does the port have dhcpv4_options/s,
    );
    const after = await reloaded();
    assert.equal(after.vms.length, vms, "the VM is forgotten");
    const namespaces = (await run("ip", ["netns", "list"])).stdout;
    assert.doesNotMatch(
      namespaces,
      new RegExp(`^${after.hub.replace("-hub", "")}-vm${vms + 1}\\b`, "m"),
    );
    assert.equal(await confDb("m1"), confBefore, "its interface is unplugged again");
  });

  it("prints the libvirt interface of a port, with its MAC and its network's MTU", async () => {
    const xml = await lab!.ok("m2", ["port", "libvirt-xml", P2]);
    assert.equal(
      xml,
      [
        "<interface type='bridge'>",
        "  <mac address='fa:16:3e:5a:00:02'/>",
        "  <source bridge='br-int'/>",
        "  <virtualport type='openvswitch'>",
        `    <parameters interfaceid='${P2}'/>`,
        "  </virtualport>",
        "  <target dev='tapa1b2c3d4-00'/>",
        "  <model type='virtio'/>",
        "  <mtu size='1400'/>",
        "</interface>",
        "",
      ].join("\n"),
    );
    const other = await lab!.ok("m2", ["port", "libvirt-xml", P2, "--mac", "FA:16:3E:00:00:99"]);
    assert.match(other, /<mac address='fa:16:3e:00:00:99'\/>/);
    const missing = await lab!.cli("m2", [
      "port",
      "libvirt-xml",
      "0e5f2a4c-2222-4d2b-9c3a-5e6f7a8b9c0d",
    ]);
    assert.notEqual(missing.exitCode, 0);
    assert.match(missing.stderr, /NB has no logical switch port 0e5f2a4c-2222-/);
    const noMac = await lab!.cli("m2", ["port", "libvirt-xml", UNKNOWN_PORT]);
    assert.notEqual(noMac.exitCode, 0);
    assert.match(noMac.stderr, /has no MAC in NB \(addresses: unknown\); give the VM's with --mac/);
    const given = await lab!.ok("m2", [
      "port",
      "libvirt-xml",
      UNKNOWN_PORT,
      "--mac",
      "fa:16:3e:00:00:fe",
    ]);
    assert.match(given, /<mac address='fa:16:3e:00:00:fe'\/>[^]*<mtu size='1400'\/>/);
    const router = await lab!.cli("m2", ["port", "libvirt-xml", ROUTER_PORT]);
    assert.notEqual(router.exitCode, 0);
    assert.match(router.stderr, /is a "router" port in NB/);
    const notUuid = await lab!.cli("m2", ["port", "libvirt-xml", "lab-vm1"]);
    assert.notEqual(notUuid.exitCode, 0);
    assert.match(notUuid.stderr, /libvirt takes only a UUID .* "lab-vm1" is not one/);
  });

  it("unplug takes the binding away, plug brings it back (by port id and by interface)", async (t) => {
    for (const { p, target, iface } of [
      { p: PORTS[0]!, target: P1, iface: "vm1-h" },
      { p: PORTS[1]!, target: "vm2-h", iface: "vm2-h" },
    ]) {
      let started = process.hrtime.bigint();
      const out = await lab!.ok(p.node, ["port", "unplug", target]);
      const unplugSeconds = seconds(started);
      started = process.hrtime.bigint();
      assert.match(out, new RegExp(`Port ${p.id} unplugged: ${iface} is off br-int`));
      await waitFor(`SB to unbind ${p.id}`, async () => (await boundChassis("m1", p.id)) === "", {
        timeoutMs: 15_000,
      });
      t.diagnostic(
        `port unplug took ${unplugSeconds} s; the binding's chassis was gone ${seconds(started)} s later`,
      );
      assert.equal(
        await lab!.ok(p.node, ["port", "list", "-f", "csv"]),
        "IFACE,PORT_ID,MAC,BOUND\n",
      );

      started = process.hrtime.bigint();
      const plugged = await lab!.ok(p.node, ["port", "plug", p.id, iface, "--mac", p.mac]);
      const plugSeconds = seconds(started);
      started = process.hrtime.bigint();
      assert.match(plugged, /: plugged; ovn-controller binds it to this chassis/);
      await waitFor(
        `SB to bind ${p.id} to ${p.node}`,
        async () => (await boundChassis("m1", p.id)) === p.node,
        {
          timeoutMs: 15_000,
        },
      );
      t.diagnostic(
        `port plug took ${plugSeconds} s; the binding named ${p.node} ${seconds(started)} s later`,
      );
      await waitFor(`${p.id} marked ovn-installed`, async () =>
        (await lab!.ok(p.node, ["port", "list", "-f", "csv"])).includes(`,${p.mac},yes`),
      );
      t.diagnostic(`…and port list said BOUND yes ${seconds(started)} s after the plug returned`);
      const again = await lab!.ok(p.node, ["port", "plug", p.id, iface, "--mac", p.mac]);
      assert.match(again, /already plugged, nothing to do/);
    }
    await waitFor("vm2 to ping vm1 again", () => ping("vm2", "10.0.0.5"), { timeoutMs: 20_000 });
    const unknown = await lab!.cli("m1", ["port", "unplug", "no-such-thing"]);
    assert.notEqual(unknown.exitCode, 0);
    assert.match(unknown.stderr, /nothing is plugged here as "no-such-thing"/);
  });

  it("puts a lab VM on a port without DHCP: the port's address as a /24", async () => {
    const r = await labCli(["vm", "add", "m2", "--port", NO_DHCP]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stdout,
      /MAC fa:16:3e:5a:00:04, .*address 10\.0\.0\.8\/24 from the port's addresses/,
    );
    const vm = (await reloaded()).vms.find((v) => v.port === NO_DHCP)!;
    await waitFor("the VM without DHCP to ping vm1", () => ping(vm.name, "10.0.0.5"), {
      timeoutMs: 20_000,
    });
    const noNode = await labCli(["vm", "add", "m9", "--port", P3]);
    assert.notEqual(noNode.exitCode, 0);
    assert.match(noNode.stderr, /no lab member "m9"; the lab has m1, m2/);
  });

  it("refuses plugs that cannot work, saying why, and changes nothing in conf.db", async () => {
    const m1 = lab!.node("m1");
    // A spare interface with no addresses, as a VM's tap would be.
    await run("ip", [
      "-n",
      m1.namespace,
      "link",
      "add",
      "spare0",
      "type",
      "veth",
      "peer",
      "name",
      "spare1",
    ]);
    const before = await confDb("m1");
    const refusals: [string[], RegExp][] = [
      [
        ["port", "plug", "no-such-port", "spare0"],
        /NB has no logical switch port no-such-port; create it first/,
      ],
      [
        ["port", "plug", ROUTER_PORT, "spare0"],
        /is a "router" port in NB, which ovn-controller never binds/,
      ],
      [["port", "plug", P3, "nosuch0"], /there is no interface "nosuch0" on this member/],
      [
        ["port", "plug", P3, "vm1-h"],
        new RegExp(`vm1-h is already plugged for port ${P1}; unplug it first`),
      ],
      [
        ["port", "plug", P1, "spare0"],
        new RegExp(`port ${P1} is already plugged here as vm1-h; to move it`),
      ],
      [
        ["port", "plug", P3, "eth0"],
        /eth0 holds 198\.18\.0\.1\/24: it is this member's own network/,
      ],
      [["port", "plug", P3, "ul0"], /ul0 is a port of bridge br-phy, not a VM's interface/],
      [
        ["port", "plug", P3, "spare0", "--mac", "fa:16:3e:zz:00:01"],
        /"fa:16:3e:zz:00:01" is not a MAC address/,
      ],
      [["port", "plug", P3, "spare0", "--mac", "01:00:5e:00:00:01"], /is a multicast address/],
      [["port", "plug", P3, "bad/name"], /"bad\/name" is not an interface name/],
    ];
    for (const [args, message] of refusals) {
      const r = await lab!.cli("m1", args);
      assert.notEqual(r.exitCode, 0, args.join(" "));
      assert.match(r.stderr, message);
      assert.equal(await confDb("m1"), before, `${args.join(" ")} changed conf.db`);
    }

    // NB does not answer (both NB servers stopped): refused, unless told not to look.
    for (const node of ["m1", "m2"]) {
      const pid = (await lab!.pids(node)).ovnnb_db;
      assert.ok(pid !== undefined && isAlive(pid), `${node}'s NB server runs`);
      stopped.push(pid);
      process.kill(pid, "SIGSTOP");
    }
    try {
      const r = await lab!.cli("m1", ["port", "plug", P3, "spare0"]);
      assert.notEqual(r.exitCode, 0);
      assert.match(
        r.stderr,
        new RegExp(
          `did not answer within 5 s .*so port ${P3} could not be looked up; .*--no-check; nothing was changed`,
          "s",
        ),
      );
      assert.equal(await confDb("m1"), before);
      const blind = await lab!.ok("m1", ["port", "plug", P3, "spare0", "--no-check"]);
      assert.match(blind, /plugged without looking it up in NB/);
    } finally {
      resumeStopped();
    }
    assert.match(
      await lab!.ok("m1", ["port", "list", "-f", "csv"]),
      new RegExp(`^spare0,${P3},`, "m"),
    );
    await lab!.ok("m1", ["port", "unplug", "spare0"]);
    assert.equal(await confDb("m1"), before);
  });

  it("refuses to plug on a member without the chassis service", async () => {
    await lab!.ok("m2", ["disable", "chassis"]);
    const before = await confDb("m2");
    const r = await lab!.cli("m2", ["port", "plug", P2, "vm2-h"]);
    assert.notEqual(r.exitCode, 0);
    assert.match(
      r.stderr,
      /this member \(m2\) runs no chassis service, so it cannot plug a VM's interface; enable it with `microovn enable chassis`/,
    );
    assert.equal(await confDb("m2"), before);
  });
});
