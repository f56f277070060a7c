/**
 * `enable SERVICE` / `disable SERVICE` on this member. The member record
 * changes only once the service has started or stopped.
 */
import { recordMember } from "../cluster/members.js";
import type { MemberRuntime } from "../daemon/runtime.js";
import { MicroOvnError } from "../errors.js";
import { SERVICES, isServiceName, type ServiceName } from "../member/config.js";
import { certificateServices, issueCertificates } from "./certificates.js";
import { checkPrograms } from "./preflight.js";
import { startCentral, startChassis, startSwitch } from "./start.js";
import { stopCentral, stopChassis, stopSwitch } from "./stop.js";

function checkName(service: string): ServiceName {
  if (!isServiceName(service)) {
    throw new MicroOvnError(
      "UNKNOWN_SERVICE",
      `"${service}" is not a service; choose one of ${SERVICES.join(", ")}`,
    );
  }
  return service;
}

/** Returns false when the service was already enabled. */
export async function enableService(rt: MemberRuntime, name: string): Promise<boolean> {
  const service = checkName(name);
  const config = rt.requireConfig();
  if (config.services.includes(service)) return false;
  if (service === "chassis" && !config.services.includes("switch")) {
    throw new MicroOvnError(
      "SERVICE_NEEDS_SWITCH",
      "the chassis service needs the switch service; run `microovn enable switch` first",
    );
  }
  await checkPrograms([service]);
  const services = SERVICES.filter((s) => s === service || config.services.includes(s));
  const missing = certificateServices(services).filter(
    (c) => !certificateServices(config.services).includes(c),
  );
  if (missing.length > 0) await issueCertificates(rt, missing);
  if (service === "central") await startCentral(rt);
  if (service === "switch") await startSwitch(rt);
  if (service === "chassis") await startChassis(rt);
  await rt.save({ ...config, services });
  await recordMember(rt);
  return true;
}

/** Returns false when the service was not enabled. */
export async function disableService(rt: MemberRuntime, name: string): Promise<boolean> {
  const service = checkName(name);
  const config = rt.requireConfig();
  if (!config.services.includes(service)) return false;
  if (service === "switch" && config.services.includes("chassis")) {
    throw new MicroOvnError(
      "SERVICE_IN_USE",
      "the chassis service runs on the switch service; run `microovn disable chassis` first",
    );
  }
  if (service === "central") await stopCentral(rt);
  if (service === "switch") await stopSwitch(rt);
  if (service === "chassis") await stopChassis(rt, { unregister: true });
  await rt.save({ ...config, services: config.services.filter((s) => s !== service) });
  await recordMember(rt);
  return true;
}
