/** `microovn certificates list` and `microovn certificates reissue SERVICE|all`. */
import type { Command } from "commander";
import type { CertificateStatus } from "../../pki/store.js";
import type { CliContext } from "../context.js";
import { formatCertificates } from "../format/certificates.js";

export function registerCertificates(program: Command, ctx: CliContext): void {
  const certificates = program
    .command("certificates")
    .description("Manage this member's TLS certificates");
  certificates
    .command("list")
    .description("Show each certificate and key file, present or missing, with its expiry")
    .action(async () => {
      const { certificates: list } = await ctx
        .client()
        .call<{ certificates: CertificateStatus[] }>("GET", "/certificates");
      ctx.print(formatCertificates(list));
    });
  certificates
    .command("reissue")
    .description("Issue a new certificate for a service of this member (or all of them)")
    .argument("<service>", "ovnnb, ovnsb, ovn-northd, ovn-controller, client, microovn or all")
    .action(async (service: string) => {
      const { reissued } = await ctx.client().call<{
        reissued: string[];
      }>("POST", `/certificates/${encodeURIComponent(service)}/reissue`);
      ctx.print(reissued.map((s) => `New ${s} certificate issued`).join("\n"));
    });
}
