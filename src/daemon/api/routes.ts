/**
 * The control API's endpoints, grouped as the CLI's commands are. Handlers
 * parse and check the request, then call a lifecycle step through
 * `rt.exclusive` so that steps never overlap.
 */
import { MicroOvnError } from "../../errors.js";
import { describeMembers } from "../../cluster/members.js";
import { issueJoinToken, parseLifetime } from "../../lifecycle/add.js";
import { bootstrap } from "../../lifecycle/bootstrap.js";
import { join } from "../../lifecycle/join.js";
import { removeMember } from "../../lifecycle/remove.js";
import { planRecovery, recover } from "../../lifecycle/recover.js";
import { deleteConfig, getConfig, listConfig, setConfig } from "../../lifecycle/config.js";
import {
  RENEWAL_DAYS,
  certificateServices,
  reissueCertificates,
} from "../../lifecycle/certificates.js";
import { setOpenstackApiCertificate } from "../../lifecycle/openstack-api.js";
import { openrc } from "../../lifecycle/openrc.js";
import {
  CHASSIS_CHANGE_KEYS,
  updateChassisSettings,
  type ChassisSettingsChange,
} from "../../lifecycle/chassis-settings.js";
import { changeService, type ServiceChange } from "../../lifecycle/services.js";
import { callMember, joinHostPort } from "../../cluster/member-client.js";
import { regenerateCa, rolloutCa } from "../../lifecycle/ca-rollout.js";
import { parseServiceList, type ServiceName } from "../../member/config.js";
import type { RouteContext } from "./route-context.js";
import { log } from "../log.js";
import { gatherStatus, unwritableDatabases } from "../status.js";
import type { ApiRequest, Route } from "./router.js";
import { audited } from "../../security/audited.js";
import { settingForLog } from "../../security/redact.js";

/** A certificate and its key, both PEM, as `certPem` and `keyPem`. */
function pemPair(body: Record<string, unknown>): { certPem: string; keyPem: string } {
  const certPem = optionalString(body, "certPem");
  const keyPem = optionalString(body, "keyPem");
  if (certPem === undefined || keyPem === undefined) {
    throw new MicroOvnError("BAD_REQUEST", `"certPem" and "keyPem" are required`);
  }
  return { certPem, keyPem };
}

export function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") {
    throw new MicroOvnError("BAD_REQUEST", `"${key}" must be a string`);
  }
  return value;
}

function serviceList(body: Record<string, unknown>): ServiceName[] | undefined {
  const value = body.services;
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw new MicroOvnError("BAD_REQUEST", `"services" must be a list of service names`);
  }
  return parseServiceList(value);
}

export function clusterRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "POST",
      path: "/cluster/bootstrap",
      handler: async ({ body }) => {
        const name = optionalString(body, "name");
        const address = optionalString(body, "address");
        const services = serviceList(body);
        log(`bootstrap requested (${name ?? "host name"}, ${address ?? "default address"})`);
        const member = await audited(
          rt.state,
          "member.bootstrap",
          { member: name, address },
          () =>
            rt.exclusive(() =>
              bootstrap(rt, {
                ...(name !== undefined ? { name } : {}),
                ...(address !== undefined ? { address } : {}),
                ...(services !== undefined ? { services } : {}),
                allowForeignOvs: body.allowForeignOvs === true,
              }),
            ),
          (m) => ({ member: m.name, address: m.address, services: m.services.join(",") }),
        );
        await daemon.startMembership();
        return { member };
      },
    },
    {
      method: "POST",
      path: "/cluster/add",
      handler: async ({ body }) => {
        const name = optionalString(body, "name");
        if (name === undefined) throw new MicroOvnError("BAD_REQUEST", `"name" is required`);
        const timeout = optionalString(body, "timeout");
        const lifetimeSeconds = timeout !== undefined ? parseLifetime(timeout) : undefined;
        const members = daemon.watcher.members();
        const issued = await audited(
          rt.state,
          "token.issue",
          { name },
          () =>
            rt.exclusive(() =>
              issueJoinToken(rt, members, {
                name,
                ...(lifetimeSeconds !== undefined ? { lifetimeSeconds } : {}),
              }),
            ),
          (i) => ({ expiresAt: i.expiresAt }),
        );
        log(`join token issued for ${name}, valid until ${issued.expiresAt}`);
        return issued;
      },
    },
    {
      method: "POST",
      path: "/cluster/join",
      handler: async ({ body }) => {
        const token = optionalString(body, "token");
        if (token === undefined) throw new MicroOvnError("BAD_REQUEST", `"token" is required`);
        const name = optionalString(body, "name");
        const address = optionalString(body, "address");
        const member = await audited(
          rt.state,
          "member.join",
          { name, address },
          () =>
            rt.exclusive(() =>
              join(rt, {
                token,
                ...(name !== undefined ? { name } : {}),
                ...(address !== undefined ? { address } : {}),
                allowForeignOvs: body.allowForeignOvs === true,
              }),
            ),
          (m) => ({ member: m.name, name: m.name, address: m.address }),
        );
        log(
          `joined the cluster as ${member.name} (${member.address}): ${member.services.join(", ")}`,
        );
        await daemon.startMembership();
        return { member, layout: rt.layout };
      },
    },
    {
      method: "GET",
      path: "/cluster/members",
      handler: () => {
        rt.requireConfig();
        const { watcher } = daemon;
        return Promise.resolve({
          members: describeMembers(watcher.members(), Date.now(), watcher.activeSchemaVersion),
        });
      },
    },
    {
      method: "POST",
      path: "/cluster/members/:name/remove",
      handler: async ({ params, body }) => {
        const force = body.force === true;
        const name = params.name ?? "";
        log(`removal of ${name} requested${force ? " (forced)" : ""}`);
        const rows = daemon.watcher.members();
        const result = await audited(rt.state, "member.remove", { name, force }, () =>
          rt.exclusive(() => removeMember(rt, rows, name, force)),
        );
        if (result.self) await daemon.stopMembership();
        log(`removed ${name}` + (result.backup ? `; its data is in ${result.backup}` : ""));
        return result;
      },
    },
    {
      method: "POST",
      path: "/cluster/recover",
      handler: async ({ body }) => {
        // Unconfirmed: only whether recovery is allowed, whom it keeps and whom it removes.
        if (body.confirmed !== true) return rt.exclusive(() => planRecovery(rt));
        log("recovery requested: this member becomes the only database member of a new cluster");
        const result = await rt.exclusive(() => recover(rt, log));
        // Follow the new state database from scratch, with the new certificates.
        await daemon.stopMembership();
        await daemon.startMembership();
        log(
          `recovered: kept ${result.kept.join(", ") || "no one"}, removed ` +
            `${result.lost.join(", ") || "no one"}; old files in ${result.backup}`,
        );
        return result;
      },
    },
  ];
}

export function statusRoutes(daemon: RouteContext): Route[] {
  return [
    {
      method: "GET",
      path: "/ready",
      handler: () => Promise.resolve(daemon.readiness()),
    },
    {
      method: "GET",
      path: "/ready/databases",
      handler: async () => ({ unwritable: await unwritableDatabases(daemon.rt) }),
    },
    {
      method: "GET",
      path: "/status",
      handler: () =>
        gatherStatus(daemon.rt, daemon.watcher.knownMembers(), daemon.watcher.activeSchemaVersion),
    },
  ];
}

export function serviceRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  /** Runs the change here, or on the member named by `node`. */
  const change = (action: "enable" | "disable") => async (request: ApiRequest) => {
    const service = request.params.name ?? "";
    const node = optionalString(request.body, "node");
    const allowDisableLastCentral = request.body.allowDisableLastCentral === true;
    if (node !== undefined && node !== rt.requireConfig().name) {
      const row = daemon.watcher.members().find((m) => m.name === node);
      if (!row) {
        throw new MicroOvnError(
          "UNKNOWN_MEMBER",
          `"${node}" is not a member; see \`microovn cluster list\``,
        );
      }
      log(`asking ${node} to ${action} ${service}`);
      return callMember<ServiceChange>(
        joinHostPort(row.address),
        "POST",
        `/services/${encodeURIComponent(service)}/${action}`,
        { allowDisableLastCentral },
        { pki: rt.pki },
        SERVICE_CHANGE_TIMEOUT_MS,
      );
    }
    return audited(rt.state, `service.${action}`, { service }, () =>
      rt.exclusive(() => changeService(rt, action, service, { allowDisableLastCentral }, log)),
    );
  };
  return [
    { method: "POST", path: "/services/:name/enable", handler: change("enable") },
    { method: "POST", path: "/services/:name/disable", handler: change("disable") },
  ];
}

/** How long a member may take to start or stop a service for another. */
export const SERVICE_CHANGE_TIMEOUT_MS = 120_000;

export function certificateRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "GET",
      path: "/certificates",
      handler: async () => {
        const config = rt.requireConfig();
        const certificates = await rt.pki.status(certificateServices(config.services));
        // The window in which a certificate counts as expiring (and is renewed).
        return { certificates, renewalDays: RENEWAL_DAYS };
      },
    },
    {
      method: "POST",
      path: "/certificates/regenerate-ca",
      handler: () =>
        audited(rt.state, "ca.regenerate", {}, () =>
          regenerateCa(rt, () => daemon.watcher.members(), log),
        ),
    },
    {
      method: "POST",
      path: "/certificates/set-ca",
      handler: async ({ body }) => {
        const { certPem, keyPem } = pemPair(body);
        const { checkExternalCa } = await import("../../pki/x509.js");
        let subject: string | undefined;
        return audited(
          rt.state,
          "ca.set",
          () => ({ subject }),
          async () => {
            const ca = await checkExternalCa({ certPem, keyPem });
            subject = ca.subject;
            log(`CA change: the external CA ${ca.subject} (${ca.keyType})`);
            const rows = daemon.watcher.members();
            return rt.exclusive(() => rolloutCa(rt, rows, ca, "external", log));
          },
        );
      },
    },
    {
      method: "POST",
      path: "/openstack-api/certificate",
      handler: async ({ body }) => {
        const { certPem, keyPem } = pemPair(body);
        const installed = await audited(
          rt.state,
          "certificate.set",
          {},
          () => rt.exclusive(() => setOpenstackApiCertificate(rt, { certPem, keyPem })),
          (i) => ({ subject: i.subject }),
        );
        log(`openstack-api: the operator's certificate ${installed.subject}`);
        return { ...installed, notAfter: installed.notAfter.toISOString() };
      },
    },
    {
      method: "GET",
      path: "/openstack-api/openrc",
      handler: async ({ query }) => openrc(rt, query.get("user") ?? undefined),
    },
    {
      method: "POST",
      path: "/certificates/:name/reissue",
      handler: async ({ params }) => ({
        reissued: await audited(rt.state, "certificate.reissue", { service: params.name }, () =>
          rt.exclusive(() => reissueCertificates(rt, params.name ?? "")),
        ),
      }),
    },
  ];
}

export function configRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "GET",
      path: "/config",
      handler: async () => ({ config: await listConfig(rt) }),
    },
    {
      method: "GET",
      path: "/config/:key",
      handler: ({ params }) => getConfig(rt, params.key ?? ""),
    },
    {
      method: "PUT",
      path: "/config/:key",
      handler: async ({ params, body }) => {
        const value = optionalString(body, "value");
        if (value === undefined) throw new MicroOvnError("BAD_REQUEST", `"value" is required`);
        const key = params.key ?? "";
        const result = await audited(
          rt.state,
          "config.set",
          { key, value: settingForLog(key, value) },
          () => setConfig(rt, key, value),
          (r) => ({ value: settingForLog(r.key, r.value) }),
        );
        log(`config ${result.key} set to ${settingForLog(result.key, result.value)}`);
        return result;
      },
    },
    {
      method: "DELETE",
      path: "/config/:key",
      handler: async ({ params }) => {
        await audited(rt.state, "config.delete", { key: params.key }, () =>
          deleteConfig(rt, params.key ?? ""),
        );
        log(`config ${params.key ?? ""} deleted`);
        return {};
      },
    },
  ];
}

export function chassisRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "GET",
      path: "/chassis",
      handler: () => Promise.resolve({ settings: rt.requireConfig().chassis }),
    },
    {
      method: "PUT",
      path: "/chassis",
      handler: async ({ body }) => {
        const change: ChassisSettingsChange = {};
        for (const key of Object.keys(body)) {
          if (!(CHASSIS_CHANGE_KEYS as readonly string[]).includes(key)) {
            throw new MicroOvnError(
              "BAD_REQUEST",
              `unknown chassis setting "${key}"; known: ${CHASSIS_CHANGE_KEYS.join(", ")}`,
            );
          }
        }
        Object.assign(change, body);
        return { settings: await rt.exclusive(() => updateChassisSettings(rt, change)) };
      },
    },
  ];
}

export function toolRoutes(daemon: RouteContext): Route[] {
  const rt = daemon.rt;
  return [
    {
      method: "GET",
      path: "/tools",
      handler: () => {
        rt.requireConfig();
        return Promise.resolve({
          runDir: rt.state.runDir,
          nbRemotes: rt.nbRemotes(),
          sbRemotes: rt.sbRemotes(),
          switchSocket: rt.vswitch.dbSocket,
          tls: rt.pki.tlsFiles("client"),
        });
      },
    },
  ];
}

export function daemonRoutes(daemon: RouteContext): Route[] {
  return [
    {
      method: "POST",
      path: "/shutdown",
      handler: async () => {
        await daemon.stopServices();
        return { pid: process.pid };
      },
      after: () => void daemon.exit(0),
    },
  ];
}
