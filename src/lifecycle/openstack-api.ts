/**
 * The OpenStack API service's settings file (where NB, SB and the state
 * database are, which certificates to use), and `openstack-api
 * set-certificate`: the operator's own certificate for the
 * OpenStack API's HTTPS ports, e.g. one their clients already trust. It is
 * checked before anything is written, then installed in place of the
 * cluster's; the service reads it at once without closing a port. The
 * cluster leaves it alone from then on (no renewal, `reissue all` or CA
 * change replaces it); `certificates reissue openstack-api` goes back to
 * one from the cluster CA.
 */
import { MicroOvnError } from "../errors.js";
import {
  checkOperatorCertificate,
  type CertificateAndKey,
  type OperatorCertificate,
} from "../pki/pem.js";
import type { MemberRuntime } from "../runtime/member-runtime.js";
import { OPENSTACK_API_PROCESS } from "../openstack/service.js";
import {
  readApiSettings,
  sameSettings,
  writeApiSettings,
  type ApiSettings,
} from "../openstack/settings.js";
import { certificatesChanged } from "./certificates.js";

/** Server lists in a stable order: the service's client finds the leader itself. */
function sorted(remotes: readonly string[]): string[] {
  return [...remotes].sort();
}

/** What the service is told now: this member's address, the databases, its files. */
export function openstackApiSettings(rt: MemberRuntime): ApiSettings {
  return {
    address: rt.requireConfig().address,
    nbRemotes: sorted(rt.nbRemotes()),
    sbRemotes: sorted(rt.sbRemotes()),
    stateDbRemotes: sorted(rt.stateDbRemotes()),
    serverTls: rt.pki.tlsFiles("openstack-api"),
    databaseTls: rt.pki.tlsFiles("client"),
  };
}

/**
 * After a membership change: new settings for a running service, which
 * reads them on SIGHUP and follows without closing a port. True when they
 * changed.
 */
export async function refreshOpenstackApi(rt: MemberRuntime): Promise<boolean> {
  if (!rt.supervisor.get(OPENSTACK_API_PROCESS)) return false;
  const path = rt.state.openstackApiSettingsPath;
  const fresh = openstackApiSettings(rt);
  const current = await readApiSettings(path).catch(() => undefined);
  if (current && sameSettings(current, fresh)) return false;
  await writeApiSettings(path, fresh);
  rt.supervisor.signal(OPENSTACK_API_PROCESS, "SIGHUP");
  return true;
}

export async function setOpenstackApiCertificate(
  rt: MemberRuntime,
  pair: CertificateAndKey,
): Promise<OperatorCertificate> {
  if (!rt.requireConfig().services.includes("openstack-api")) {
    throw new MicroOvnError(
      "SERVICE_NOT_ENABLED",
      "openstack-api is not enabled on this member; run `microovn enable openstack-api` " +
        "first, then set its certificate",
    );
  }
  const checked = checkOperatorCertificate(pair);
  await rt.pki.writeService("openstack-api", pair, "external");
  certificatesChanged(rt, ["openstack-api"]);
  return checked;
}
