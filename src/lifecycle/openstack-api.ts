/**
 * `openstack-api set-certificate`: the operator's own certificate for the
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
import { certificatesChanged } from "./certificates.js";

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
