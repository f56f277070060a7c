/**
 * Three members in the lab: every member runs central, so NB, SB and the
 * cluster state database are 3-server Raft clusters; chassis and northd
 * know every central; VMs on different members talk through Geneve; and
 * the cluster rides out the loss of the member that leads NB and SB.
 */
import { after, before, describe, it } from "node:test";
import type { Lab, LabVm } from "../../src/lab/lab.js";
import {
  checkGeneveOnUnderlay,
  checkMembersOnline,
  checkOneActiveNorthd,
  checkPing,
  checkRaftClusters,
  checkRemotes,
  checkSurvivesLeaderLoss,
  checkTunnel,
} from "../helpers/cluster-checks.js";
import { startLab, stopLab } from "../helpers/lab.js";

let lab: Lab | undefined;
const vms: LabVm[] = [];

before(async () => {
  lab = await startLab(3);
  // vm1 on m1, vm2 on m3, vm3 on m2.
  for (const node of ["m1", "m3", "m2"]) vms.push(await lab.addVm(node));
});

after(() => stopLab(lab));

describe("a three-member cluster", () => {
  it("has NB, SB and the state database as 3-server Raft clusters over ssl", async () => {
    await checkRaftClusters(lab!);
  });

  it("lists 3 members ONLINE, the first three as voters", async () => {
    await checkMembersOnline(lab!, "m2");
  });

  it("points every chassis at all 3 SB servers, and northd on every central at all of NB and SB", async () => {
    await checkRemotes(lab!);
  });

  it("runs exactly one active northd, the others on standby", async () => {
    await checkOneActiveNorthd(lab!);
  });

  it("lets a VM on m1 ping a VM on m3 through a Geneve tunnel", async () => {
    const [vm1, vm2] = vms;
    await checkPing(vm1!, vm2!.ip);
    await checkTunnel(lab!, lab!.node("m1"), lab!.node("m3"));
  });

  it("carries the Geneve traffic on the underlay network, not on the members' network", async () => {
    const [vm1, vm2] = vms;
    await checkGeneveOnUnderlay(lab!, vm1!, vm2!.ip);
  });

  it("survives SIGKILL of everything on the member that leads NB and SB, and takes it back", async () => {
    await checkSurvivesLeaderLoss(lab!, vms, (vm) => vm.ip);
  });
});
