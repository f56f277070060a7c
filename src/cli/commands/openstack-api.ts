/** `microovn openstack-api set-certificate --cert F --key F`. */
import type { Command } from "commander";
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
}
