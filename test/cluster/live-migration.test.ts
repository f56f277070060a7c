/**
 * Live migration of a port in a two-member lab, driven as a VM manager
 * drives it: the real `openstack` CLI sets `binding:profile migrating_to`
 * first (NB: requested-chassis "m1,m2", activation-strategy rarp), then the
 * VM is plugged on m2 (a new namespace with the port's MAC and address,
 * `microovn port plug`), the source VM stops, the new one announces itself
 * with a RARP as QEMU does, and the old interface is unplugged on m1 and
 * its namespace removed. Another VM pings the moving one every 0.1 s
 * throughout; the lost pings are counted and printed. The API service ends
 * the migration itself from what SB shows (binding:host_id m2,
 * requested-chassis m2, migrating_to gone, ACTIVE). Moved back without the
 * RARP (a VM manager that sends none), the migration ends when the
 * source's interface is unplugged; its lost pings are counted too. A
 * migration abandoned (migrating_to removed) leaves the port on m1; bad
 * migrating_to values are refused, changing nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import { labWithApi } from "../helpers/api-member.js";
import { stopLab } from "../helpers/lab.js";
import type { OpenStackCli } from "../helpers/openstack-cli.js";
import { waitFor } from "../helpers/wait.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

interface Port {
  id: string;
  status: string;
  binding_host_id: string;
  binding_profile: Record<string, unknown>;
  revision_number: number;
}

let lab: Lab | undefined;

after(async () => {
  await stopLab(lab);
});

function seconds(since: bigint): string {
  return (Number(process.hrtime.bigint() - since) / 1e9).toFixed(2);
}

/** What the lost pings of a `ping -i 0.1` run were. */
function pingReport(output: string): {
  sent: number;
  answered: Set<number>;
  duplicates: number;
  lost: number;
  longestGap: number;
  last: number;
} {
  const sent = Number(/(\d+) packets transmitted/.exec(output)?.[1] ?? 0);
  const answered = new Set<number>();
  let duplicates = 0;
  for (const m of output.matchAll(/icmp_seq=(\d+) .*?(DUP!)?$/gm)) {
    if (m[2]) duplicates++;
    else answered.add(Number(m[1]));
  }
  let longestGap = 0;
  let gap = 0;
  for (let seq = 1; seq <= sent; seq++) {
    gap = answered.has(seq) ? 0 : gap + 1;
    longestGap = Math.max(longestGap, gap);
  }
  return { sent, answered, duplicates, lost: sent - answered.size, longestGap, last: sent };
}

describe("live migration of a port", () => {
  let os: OpenStackCli;
  let pinger: Port;
  let mover: Port;
  const vms: Record<string, LabVm> = {};

  async function nbOption(port: string, key: string): Promise<string | undefined> {
    const r = await lab!.cli("m1", [
      "ovn-nbctl",
      "--timeout=10",
      "--if-exists",
      "get",
      "Logical_Switch_Port",
      port,
      `options:${key}`,
    ]);
    assert.equal(r.exitCode, 0, r.stderr);
    const v = r.stdout.trim();
    return v === "" ? undefined : v.replace(/^"(.*)"$/, "$1");
  }

  /** SB's Port_Binding of a port, chassis by name. */
  async function binding(
    port: string,
  ): Promise<{ chassis: string; additional: string[]; activated: string }> {
    const names = new Map<string, string>();
    const list = await lab!.ok("m1", [
      "ovn-sbctl",
      "--timeout=10",
      "--format=json",
      "--columns=_uuid,name",
      "list",
      "Chassis",
    ]);
    for (const [uuid, name] of (JSON.parse(list) as { data: [[string, string], string][] }).data) {
      names.set(uuid[1], name);
    }
    const found = await lab!.ok("m1", [
      "ovn-sbctl",
      "--timeout=10",
      "--format=json",
      "--columns=chassis,additional_chassis,options",
      "find",
      "Port_Binding",
      `logical_port=${port}`,
    ]);
    const row = (JSON.parse(found) as { data: unknown[][] }).data[0];
    assert.ok(row, `SB has a Port_Binding for ${port}`);
    const uuids = (cell: unknown): string[] => {
      const [kind, value] = cell as [string, unknown];
      if (kind === "uuid") return [value as string];
      return (value as [string, string][]).map((u) => u[1]);
    };
    const options = new Map((row[2] as [string, [string, string][]])[1]);
    return {
      chassis: uuids(row[0]).map((u) => names.get(u) ?? u)[0] ?? "",
      additional: uuids(row[1]).map((u) => names.get(u) ?? u),
      activated: options.get("additional-chassis-activated") ?? "",
    };
  }

  const show = (id: string) => os.json<Port>(["port", "show", id]);

  /** Waits (30 s at most) until one echo request from the pinger VM is answered by the mover. */
  const pingerReachesMover = (what: string) =>
    waitFor(
      what,
      async () =>
        (await lab!.exec(vms.pinger!.name, "ping", ["-c", "1", "-W", "1", vms.mover!.ip]))
          .exitCode === 0,
      { timeoutMs: 30_000 },
    );

  before(async () => {
    ({ lab, os } = await labWithApi(2));
    await os.json(["network", "create", "lm-net"]);
    await os.json([
      "subnet",
      "create",
      "--network",
      "lm-net",
      "--subnet-range",
      "10.30.0.0/24",
      "lm-sub",
    ]);
    pinger = await os.json<Port>([
      "port",
      "create",
      "--network",
      "lm-net",
      "--host",
      "m1",
      "pinger",
    ]);
    mover = await os.json<Port>(["port", "create", "--network", "lm-net", "--host", "m1", "mover"]);
    vms.pinger = await lab.addPortVm("m1", pinger.id);
    vms.mover = await lab.addPortVm("m1", mover.id);
    await pingerReachesMover("the pinger to reach the VM that will move");
  });

  it("refuses a migrating_to that is no chassis, not a string, or the port's own host, changing nothing", async () => {
    const before = await show(mover.id);
    const cases: [unknown, RegExp][] = [
      [5, /migrating_to must be the name of the chassis .* as a string, not 5/],
      ["m9", /'m9' is neither the name nor the hostname of a chassis \(chassis now: m1, m2\)/],
      ["m1", /bound to m1 already/],
      ["m1,m2", /is not a chassis name/],
    ];
    for (const [value, message] of cases) {
      const r = await os.call(
        "PUT",
        `/v2.0/ports/${mover.id}`,
        JSON.stringify({ port: { "binding:profile": { migrating_to: value } } }),
      );
      assert.equal(r.status, 400, JSON.stringify(r.body));
      const error = (r.body as { NeutronError: { type: string; message: string } }).NeutronError;
      assert.equal(error.type, "InvalidInput");
      assert.match(error.message, message);
    }
    const now = await show(mover.id);
    assert.equal(now.revision_number, before.revision_number);
    assert.deepEqual(now.binding_profile, {});
    assert.equal(await nbOption(mover.id, "requested-chassis"), "m1");
    assert.equal(await nbOption(mover.id, "activation-strategy"), undefined);
  });

  /**
   * Moves the mover's VM from `from` to `to` as a VM manager does, while the
   * pinger pings it every 0.1 s; with `announce`, the VM sends QEMU's RARP
   * on `to` (else the migration ends only when `from` lets the port go).
   */
  async function moveMover(
    t: TestContext,
    from: string,
    to: string,
    announce: boolean,
  ): Promise<void> {
    const pings = lab!.exec(vms.pinger!.name, "ping", [
      "-i",
      "0.1",
      "-W",
      "1",
      "-w",
      "25",
      vms.mover!.ip,
    ]);
    const start = process.hrtime.bigint();

    // 1. The VM manager announces the move.
    let r = await os.run(["port", "set", "--binding-profile", `migrating_to=${to}`, mover.id]);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(await nbOption(mover.id, "requested-chassis"), `${from},${to}`);
    assert.equal(await nbOption(mover.id, "activation-strategy"), "rarp");
    const during = await show(mover.id);
    assert.equal(during.binding_host_id, from);
    assert.deepEqual(during.binding_profile, { migrating_to: to });

    // 2. The destination's NIC, plugged before the VM runs there.
    const target = await lab!.addPortVm(to, mover.id);
    assert.equal(target.mac, vms.mover!.mac);
    assert.equal(target.ip, vms.mover!.ip);
    const ready = await waitFor(
      `${to} to hold the port as an additional chassis`,
      async () => {
        const b = await binding(mover.id);
        return b.additional.includes(to) ? b : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.equal(ready.chassis, from, `${from} keeps the port while the VM still runs there`);
    // Plugging it again on the destination changes nothing, and says what it does with it.
    const again = await lab!.ok(to, [
      "port",
      "plug",
      mover.id,
      `${target.name}-h`,
      "--mac",
      target.mac,
    ]);
    assert.match(
      again,
      new RegExp(
        `nothing to do; the port is migrating here from ${from}: ovn-controller binds it here beside it`,
      ),
    );
    await waitFor(
      `${to}'s ovn-controller to install the port's flows (port list: BOUND yes)`,
      async () => {
        const list = JSON.parse(await lab!.ok(to, ["port", "list", "-f", "json"])) as {
          portId: string;
          bound: boolean;
        }[];
        return list.some((v) => v.portId === mover.id && v.bound);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    t.diagnostic(`plugged on ${to} and bound there as additional: ${seconds(start)} s`);

    // 3. Switch-over: the VM stops on the source and resumes on the destination.
    const switchover = process.hrtime.bigint();
    r = await lab!.exec(vms.mover!.name, "ip", ["link", "set", "eth0", "down"]);
    assert.equal(r.exitCode, 0, r.stderr);
    if (announce) await lab!.announceVm(target.name);
    // 4. The source's leftovers go.
    await lab!.removeVm(vms.mover!.name);
    vms.mover = target;

    const ended = await waitFor(
      "the service to end the migration",
      async () => {
        const p = await show(mover.id);
        return p.binding_host_id === to && p.status === "ACTIVE" ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    t.diagnostic(`switch-over → port ACTIVE on ${to}: ${seconds(switchover)} s`);
    assert.deepEqual(ended.binding_profile, {});
    // What ended it: the RARP (OVN activated the destination), or the source letting go.
    const log = await readFile(join(lab!.node("m1").stateDir, "logs/openstack-api.log"), "utf8");
    const why = announce
      ? `\\(the VM announced itself on ${to}\\)`
      : `\\(${from} let the port go\\)`;
    assert.match(log, new RegExp(`port ${mover.id}: migration from ${from} to ${to} ended ${why}`));
    assert.equal(await nbOption(mover.id, "requested-chassis"), to);
    assert.equal(await nbOption(mover.id, "activation-strategy"), undefined);
    const b = await binding(mover.id);
    assert.equal(b.chassis, to);
    assert.deepEqual(b.additional, []);

    const report = pingReport((await pings).stdout);
    t.diagnostic(
      `pings: ${report.sent} sent at 0.1 s, ${report.lost} lost (longest run ${report.longestGap}), ` +
        `${report.duplicates} duplicates`,
    );
    assert.ok(report.sent >= 100, `ping ran (${report.sent} sent)`);
    for (let seq = report.last - 9; seq <= report.last; seq++) {
      assert.ok(report.answered.has(seq), `ping ${seq} of the last ten was answered on ${to}`);
    }
    assert.ok(report.longestGap < 50, `the VM was unreachable for ${report.longestGap} pings`);
  }

  it("moves a VM pinged every 0.1 s from m1 to m2 with QEMU's RARP; the service ends the migration", (t) =>
    moveMover(t, "m1", "m2", true));

  it("moves it back to m1 without a RARP: the migration ends when m2 lets the port go", (t) =>
    moveMover(t, "m2", "m1", false));

  it("returns the port to m1 when its migration is abandoned", async () => {
    // The pinger's port, on m1, starts to move to m2; its VM stays on m1.
    let r = await os.run(["port", "set", "--binding-profile", "migrating_to=m2", pinger.id]);
    assert.equal(r.exitCode, 0, r.stderr);
    const target = await lab!.addPortVm("m2", pinger.id);
    await waitFor(
      "m2 to hold the pinger's port as an additional chassis",
      async () => (await binding(pinger.id)).additional.includes("m2"),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    // m2's copy lets nothing through before a RARP (activation-strategy=rarp):
    // with m1's VM down, nothing answers for the address, though m2's is up.
    r = await lab!.exec(vms.pinger!.name, "ip", ["link", "set", "eth0", "down"]);
    assert.equal(r.exitCode, 0, r.stderr);
    const blocked = await lab!.exec(vms.mover!.name, "ping", [
      "-c",
      "3",
      "-W",
      "1",
      vms.pinger!.ip,
    ]);
    assert.notEqual(blocked.exitCode, 0, `m2's copy answered before any RARP: ${blocked.stdout}`);
    r = await lab!.exec(vms.pinger!.name, "ip", ["link", "set", "eth0", "up"]);
    assert.equal(r.exitCode, 0, r.stderr);
    r = await os.run(["port", "unset", "--binding-profile", "migrating_to", pinger.id]);
    assert.equal(r.exitCode, 0, r.stderr);
    await lab!.removeVm(target.name);
    const p = await show(pinger.id);
    assert.equal(p.binding_host_id, "m1");
    assert.deepEqual(p.binding_profile, {});
    assert.equal(await nbOption(pinger.id, "requested-chassis"), "m1");
    assert.equal(await nbOption(pinger.id, "activation-strategy"), undefined);
    await waitFor(
      "SB to bind the pinger's port on m1 alone",
      async () => {
        const b = await binding(pinger.id);
        return b.chassis === "m1" && b.additional.length === 0;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await pingerReachesMover("the pinger, still on m1, to reach the mover");
    assert.equal((await show(pinger.id)).status, "ACTIVE");
  });
});
