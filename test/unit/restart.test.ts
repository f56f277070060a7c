/**
 * `microovn restart`'s plan (which programs, in which order, what is
 * refused before anything restarts) and the parsing of the OpenFlow state
 * a vswitchd restart carries over, from `ovs-ofctl` output captured on
 * OVS 3.1.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { restartRoutes } from "../../src/daemon/api/restart-routes.js";
import type { RouteContext } from "../../src/daemon/api/route-context.js";
import { MicroOvnError } from "../../src/errors.js";
import {
  RESTARTABLE_PROGRAMS,
  planRestart,
  type RestartableProgram,
} from "../../src/lifecycle/restart.js";
import { restorableFlows, restorableMeters, tlvMapArgument } from "../../src/ovn/openflow-state.js";

const everything = (): boolean => true;
const chassisOnly = (p: RestartableProgram): boolean =>
  ["ovsdb-server-switch", "ovs-vswitchd", "ovn-controller"].includes(p);

function refusal(fn: () => unknown): MicroOvnError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MicroOvnError) return e;
    throw e;
  }
  assert.fail("expected a refusal");
}

describe("restart plan", () => {
  it("restarts every program that runs here when none is named, databases first", () => {
    assert.deepEqual(planRestart([], everything), [...RESTARTABLE_PROGRAMS]);
    assert.deepEqual(planRestart([], chassisOnly), [
      "ovsdb-server-switch",
      "ovs-vswitchd",
      "ovn-controller",
    ]);
  });

  it("expands services, drops repeats and keeps its own order whatever the order given", () => {
    assert.deepEqual(planRestart(["chassis", "central", "ovn-northd"], everything), [
      "ovsdb-server-nb",
      "ovsdb-server-sb",
      "ovn-northd",
      "ovn-controller",
    ]);
    assert.deepEqual(planRestart(["ovs-vswitchd"], everything), ["ovs-vswitchd"]);
  });

  it("refuses an unknown name, listing the names it takes", () => {
    const e = refusal(() => planRestart(["ovn-controller", "vswitchd"], everything));
    assert.equal(e.code, "UNKNOWN_PROGRAM");
    assert.match(e.message, /"vswitchd"/);
    assert.match(e.message, /ovs-vswitchd/);
    assert.match(e.message, /central, switch, chassis/);
  });

  it("refuses a program that does not run on this member", () => {
    const e = refusal(() => planRestart(["central"], chassisOnly));
    assert.equal(e.code, "PROGRAM_NOT_RUNNING");
    assert.match(e.message, /ovsdb-server-nb does not run on this member/);
    assert.match(e.message, /microovn status/);
  });
});

describe("POST /restart", () => {
  it("refuses a body whose programs are not a list of names before touching the member", async () => {
    let touched = false;
    const daemon = {
      rt: {
        exclusive: () => {
          touched = true;
          return Promise.resolve([]);
        },
      },
    } as unknown as RouteContext;
    const [route] = restartRoutes(daemon);
    for (const programs of ["ovn-controller", [1], { a: 1 }]) {
      await assert.rejects(
        route!.handler({ params: {}, body: { programs }, query: new URLSearchParams() }),
        (e: unknown) => e instanceof MicroOvnError && e.code === "BAD_REQUEST",
      );
    }
    assert.equal(touched, false);
  });
});

describe("OpenFlow state", () => {
  it("turns dump-tlv-map's table into add-tlv-map's argument", () => {
    const dump = [
      "NXT_TLV_TABLE_REPLY (OF1.5) (xid=0x2):",
      " max option space=256 max fields=64",
      " allocated option space=4",
      "",
      " mapping table:",
      "  class  type  length  match field",
      " ------  ----  ------  --------------",
      "  0x102  0x80       4  tun_metadata0",
      "  0x102  0x81       8  tun_metadata1",
    ].join("\n");
    assert.equal(
      tlvMapArgument(dump),
      "{class=0x102,type=0x80,len=4}->tun_metadata0,{class=0x102,type=0x81,len=8}->tun_metadata1",
    );
    assert.equal(tlvMapArgument("NXT_TLV_TABLE_REPLY (OF1.5) (xid=0x2):\n mapping table:\n"), "");
  });

  it("drops the reply header and the ages from flows", () => {
    const dump = [
      "OFPST_FLOW reply (OF1.5) (xid=0x2):",
      " cookie=0x0, idle_age=3, hard_age=5, priority=100,in_port=1 actions=resubmit(,8)",
      " table=8, priority=0 actions=drop",
    ].join("\n");
    assert.equal(
      restorableFlows(dump),
      " cookie=0x0, priority=100,in_port=1 actions=resubmit(,8)\n table=8, priority=0 actions=drop",
    );
  });

  it("joins each meter's bands to it", () => {
    const dump = [
      "OFPST_METER_CONFIG reply (OF1.5) (xid=0x2):",
      "meter=7 pktps burst bands=",
      "type=drop rate=10 burst_size=5",
      "meter=8 kbps bands=",
      "type=drop rate=100",
    ].join("\n");
    assert.deepEqual(restorableMeters(dump), [
      "meter=7 pktps burst bands= type=drop rate=10 burst_size=5",
      "meter=8 kbps bands= type=drop rate=100",
    ]);
    assert.deepEqual(restorableMeters("OFPST_METER_CONFIG reply (OF1.5) (xid=0x2):\n"), []);
  });
});
