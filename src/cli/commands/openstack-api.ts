/** `microovn openstack-api set-certificate --cert F --key F` and `openstack-api openrc [--user NAME]`. */
import type { Command } from "commander";
import type { Openrc } from "../../lifecycle/openrc.js";
import type { CliContext } from "../context.js";
import { readInputFile } from "../input.js";

export function registerOpenstackApi(program: Command, ctx: CliContext): void {
  const group = program
    .command("openstack-api")
    .description("The OpenStack API service (enable it with `microovn enable openstack-api`)");
  group
    .command("set-certificate")
    .description(
      "Serve the OpenStack API with your own certificate and key instead of the cluster's " +
        "(checked first; `certificates reissue openstack-api` goes back)",
    )
    .requiredOption("--cert <file>", "the server certificate (PEM), then any intermediates")
    .requiredOption("--key <file>", "its private key (PEM, unencrypted)")
    .action(async (options: { cert: string; key: string }) => {
      const result = await ctx
        .client()
        .call<{ subject: string; subjectAltName?: string; notAfter: string }>(
          "POST",
          "/openstack-api/certificate",
          {
            certPem: await readInputFile(options.cert, "certificate"),
            keyPem: await readInputFile(options.key, "key"),
          },
        );
      ctx.print(
        `The OpenStack API now serves ${result.subject}` +
          (result.subjectAltName ? ` (${result.subjectAltName})` : "") +
          `, valid until ${result.notAfter.slice(0, 10)}`,
      );
    });
  group
    .command("openrc")
    .description(
      "Print the environment the `openstack` CLI needs for this cluster " +
        '(`eval "$(microovn openstack-api openrc)"`); the admin password where this member knows it',
    )
    .option("--user <name>", "whose environment (default admin)")
    .action(async (options: { user?: string }) => {
      const query = options.user === undefined ? "" : `?user=${encodeURIComponent(options.user)}`;
      const rc = await ctx.client().call<Openrc>("GET", `/openstack-api/openrc${query}`);
      ctx.print(formatOpenrc(rc));
    });
}

/** A value as a POSIX shell reads it back unchanged: single-quoted. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** The lines `openstack-api openrc` prints. */
export function formatOpenrc(rc: Openrc): string {
  const vars: [string, string][] = [
    ["OS_AUTH_URL", rc.authUrl],
    ["OS_CACERT", rc.caCert],
    ["OS_IDENTITY_API_VERSION", "3"],
    ["OS_USERNAME", rc.userName],
    ["OS_USER_DOMAIN_NAME", "Default"],
    ["OS_PROJECT_NAME", rc.projectName],
    ["OS_PROJECT_DOMAIN_NAME", "Default"],
    ["OS_REGION_NAME", "RegionOne"],
    ["OS_INTERFACE", "public"],
    ...(rc.password !== undefined ? [["OS_PASSWORD", rc.password] as [string, string]] : []),
  ];
  return [
    "# The OpenStack API of this MicroOVN cluster",
    // Left over from another cloud, these would take precedence over the lines below.
    "unset OS_CLOUD OS_TOKEN OS_AUTH_TYPE OS_USER_ID OS_PROJECT_ID OS_TENANT_ID OS_TENANT_NAME",
    ...vars.map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    ...(rc.passwordNote ? [`# No OS_PASSWORD: ${rc.passwordNote}`] : []),
  ].join("\n");
}
