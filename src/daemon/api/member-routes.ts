/**
 * The member API's endpoints (port 6686, mutual TLS): what members ask of
 * each other, and joining (the one public route: the caller proves itself
 * with its token's secret instead of a certificate).
 */
import { layoutFromRows } from "../../cluster/members.js";
import { MicroOvnError } from "../../errors.js";
import { admitMember, parseJoinRequest } from "../../lifecycle/add.js";
import { parsePemsByService, signForMember } from "../../lifecycle/certificates.js";
import {
  commitNewCa,
  installReissued,
  regenerateCa,
  requestCertificates,
  trustNewCa,
} from "../../lifecycle/ca-rollout.js";
import { forget, leave } from "../../lifecycle/remove.js";
import { changeService } from "../../lifecycle/services.js";
import { SCHEMAS_PATH, schemasAnswer } from "../../upgrade/expectations.js";
import { MEMBER_SNAPSHOT_PATH, memberSnapshot } from "../../dashboard/member-snapshot.js";
import type { RouteContext } from "./route-context.js";
import { log } from "../log.js";
import type { Route } from "./router.js";
import { audited } from "../../security/audited.js";

export function memberRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "GET",
      path: "/cluster/members",
      handler: () => Promise.resolve({ members: layoutFromRows(daemon.watcher.members()).members }),
    },
    // The NB and SB schema versions this member's OVN ships (held-back upgrades).
    { method: "GET", path: SCHEMAS_PATH, handler: () => schemasAnswer(rt) },
    // What this member's processes and database servers are doing, for the dashboards.
    { method: "GET", path: MEMBER_SNAPSHOT_PATH, handler: () => memberSnapshot(rt) },
    {
      method: "POST",
      path: "/cluster/join",
      public: true,
      handler: async ({ body, remote }) => {
        // The name is the token's (a join must come with its own name's token); never its secret.
        const name = typeof body.name === "string" ? body.name : undefined;
        const answer = await audited(
          rt.state,
          "token.use",
          { name, remote },
          () => rt.exclusive(() => admitMember(rt, parseJoinRequest(body))),
          (a) => ({ role: a.member.role }),
        );
        log(`admitted ${answer.member.name} (${answer.member.address}) as ${answer.member.role}`);
        return answer;
      },
    },
    {
      method: "POST",
      path: "/cluster/leave",
      handler: async ({ peer }) => {
        log(`leaving the cluster, as ${peer?.name ?? "?"} asked`);
        const backup = await audited(rt.state, "member.leave", { by: peer?.name }, () =>
          rt.exclusive(() => leave(rt)),
        );
        log(`left the cluster; data, logs and keys are in ${backup}`);
        return { backup };
      },
      after: () => void daemon.stopMembership(),
    },
    {
      method: "POST",
      path: "/cluster/forget",
      handler: async ({ body, peer }) => {
        const name = typeof body.name === "string" ? body.name : peer?.name;
        const row = daemon.watcher.members().find((m) => m.name === name);
        if (!row) {
          throw new MicroOvnError("NOT_A_MEMBER", `"${String(name)}" is not a member`);
        }
        log(`removing ${row.name} from the cluster, as ${peer?.name ?? "?"} asked`);
        const kicked = await audited(
          rt.state,
          "member.forget",
          { name: row.name, by: peer?.name },
          () => rt.exclusive(() => forget(rt, row)),
        );
        return { kicked };
      },
    },
    ...(["enable", "disable"] as const).map((action): Route => ({
      method: "POST",
      path: `/services/:name/${action}`,
      handler: ({ params, body, peer }) => {
        log(`${peer?.name ?? "?"} asks to ${action} ${params.name ?? ""} here`);
        const options = { allowDisableLastCentral: body.allowDisableLastCentral === true };
        return audited(
          rt.state,
          `service.${action}`,
          { service: params.name, by: peer?.name },
          () => rt.exclusive(() => changeService(rt, action, params.name ?? "", options, log)),
        );
      },
    })),
    {
      method: "POST",
      path: "/pki/sign",
      handler: async ({ body, peer }) => {
        const row = daemon.watcher.members().find((m) => m.name === peer?.name);
        if (!row)
          throw new MicroOvnError("NOT_A_MEMBER", `"${String(peer?.name)}" is not a member`);
        const ca = await rt.pki.readCa();
        if (!ca) {
          throw new MicroOvnError("NOT_A_VOTER", "this member does not hold the cluster CA key");
        }
        const requests = parsePemsByService(body, "requests");
        log(`signing ${Object.keys(requests).join(", ")} for ${row.name}`);
        const services = Object.keys(requests).join(",");
        return {
          certificates: await audited(
            rt.state,
            "certificate.sign",
            { name: row.name, services },
            () => signForMember(ca, row, requests),
          ),
        };
      },
    },
    {
      method: "POST",
      path: "/pki/ca/trust",
      handler: async ({ body, peer }) => {
        const certPem = requiredString(body, "certPem");
        const keyPem = typeof body.keyPem === "string" ? body.keyPem : undefined;
        await audited(rt.state, "ca.trust", { by: peer?.name }, () =>
          rt.exclusive(() => trustNewCa(rt, certPem, keyPem)),
        );
        log("CA change: trusting the new CA besides the current one");
        return {};
      },
    },
    {
      method: "POST",
      path: "/pki/requests",
      handler: async () => ({ requests: await rt.exclusive(() => requestCertificates(rt)) }),
    },
    {
      method: "POST",
      path: "/pki/install",
      handler: async ({ body, peer }) => {
        const certificates = parsePemsByService(body, "certificates");
        const caPem = requiredString(body, "caPem");
        await audited(rt.state, "certificate.install", { by: peer?.name }, () =>
          rt.exclusive(() => installReissued(rt, certificates, caPem)),
        );
        log("CA change: new certificates installed");
        return {};
      },
    },
    {
      method: "POST",
      path: "/pki/ca/commit",
      handler: async ({ body, peer }) => {
        const certPem = requiredString(body, "certPem");
        const origin = body.origin === "external" ? "external" : "generated";
        await audited(rt.state, "ca.commit", { by: peer?.name, origin }, () =>
          rt.exclusive(() => commitNewCa(rt, certPem, origin)),
        );
        log("CA change: the new CA is the only one trusted now");
        return {};
      },
    },
    {
      method: "POST",
      path: "/pki/ca/regenerate",
      handler: async ({ peer }) => {
        log(`CA change: a new CA, as ${peer?.name ?? "?"} asked`);
        return audited(rt.state, "ca.regenerate", { by: peer?.name }, () =>
          regenerateCa(rt, () => daemon.watcher.members(), log),
        );
      },
    },
  ];
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== "string" || value === "") {
    throw new MicroOvnError("BAD_REQUEST", `"${key}" must be a non-empty string`);
  }
  return value;
}
