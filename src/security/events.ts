/**
 * Every event the security log records, with the details its lines carry
 * beyond time, event, outcome and member (the member that wrote the line).
 * A failure adds `reason` (what was refused and why) and, where the
 * refusal was one of ours, `code` (the error's stable code).
 * docs/observability.md says what each one means; a unit test keeps the
 * two in step.
 */
export const SECURITY_EVENTS = {
  "member.bootstrap": ["address", "services"],
  "member.join": ["name", "address"],
  "member.remove": ["name", "force"],
  "member.leave": ["by"],
  "member.forget": ["name", "by"],
  "token.issue": ["name", "expiresAt"],
  "token.use": ["name", "remote", "role"],
  "service.enable": ["service", "by"],
  "service.disable": ["service", "by"],
  "config.set": ["key", "value"],
  "config.delete": ["key"],
  "security-log.on": [],
  "security-log.off": [],
  "ca.regenerate": ["by"],
  "ca.set": ["subject"],
  "ca.trust": ["by"],
  "ca.commit": ["by", "origin"],
  "certificate.reissue": ["service"],
  "certificate.renew": ["services"],
  "certificate.sign": ["name", "services"],
  "certificate.install": ["by"],
  "certificate.set": ["subject"],
  "user.create": ["user", "project", "role"],
  "user.delete": ["user"],
  "user.password": ["user"],
  "role.grant": ["user", "project", "role"],
  "role.revoke": ["user", "project", "role"],
  "project.create": ["project"],
  "project.delete": ["project"],
  "member-api.refused": ["remote", "path", "repeated"],
  "openstack.login": ["user", "remote", "method", "status"],
  "openstack.refused": ["remote", "method", "path", "status"],
  "dashboard.login": ["user", "remote", "role"],
  "dashboard.logout": ["user", "remote"],
} as const satisfies Record<string, readonly string[]>;

export type SecurityEventName = keyof typeof SECURITY_EVENTS;
