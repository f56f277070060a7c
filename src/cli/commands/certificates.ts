/** `microovn certificates list` and `microovn certificates reissue SERVICE|all`. */
import type { Command } from "commander";
import { text } from "node:stream/consumers";
import { MicroOvnError } from "../../errors.js";
import type { RolloutResult } from "../../lifecycle/ca-rollout.js";
import type { CertificateStatus } from "../../pki/store.js";
import type { CliContext } from "../context.js";
import {
  CERTIFICATE_FORMATS,
  checkCertificateFormat,
  formatCertificates,
} from "../format/certificates.js";
import { readInputFile } from "../input.js";

export function registerCertificates(program: Command, ctx: CliContext): void {
  const certificates = program
    .command("certificates")
    .description("Manage this member's TLS certificates");
  certificates
    .command("list")
    .description("Show each certificate and key file, present or missing, with its expiry")
    .option("-f, --format <format>", CERTIFICATE_FORMATS.join(", "), "text")
    .action(async (options: { format: string }) => {
      const format = checkCertificateFormat(options.format);
      const { certificates: list, renewalDays } = await ctx
        .client()
        .query<{ certificates: CertificateStatus[]; renewalDays?: number }>("/certificates");
      ctx.print(formatCertificates(list, format, renewalDays ? { renewalDays } : {}));
    });
  certificates
    .command("regenerate-ca")
    .description(
      "Make a new cluster CA and move every member to it (new certificates everywhere; " +
        "nothing stops, the old CA is refused afterwards)",
    )
    .action(async () => {
      const result = await ctx.client().call<RolloutResult>("POST", "/certificates/regenerate-ca");
      ctx.print(describeCaChange(result));
    });
  certificates
    .command("set-ca")
    .description(
      "Use an external CA (RSA, ECDSA or Ed25519; a CA allowed to sign certificates) for the " +
        "whole cluster; run on a voter. Every member gets new certificates from it",
    )
    .option("--cert <file>", "the CA certificate, PEM")
    .option("--key <file>", "its private key, PEM")
    .option("--combined", "read the certificate and key, both PEM, from stdin")
    .action(async (options: { cert?: string; key?: string; combined?: boolean }) => {
      const given = await readCaInput(options);
      const result = await ctx.client().call<RolloutResult>("POST", "/certificates/set-ca", given);
      ctx.print(describeCaChange(result));
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

function describeCaChange(result: RolloutResult): string {
  return (
    `New ${result.origin === "external" ? "external " : ""}CA ${result.subject}, valid until ` +
    `${result.notAfter.slice(0, 10)}; new certificates on ${result.members.join(", ")}`
  );
}

/** The CA from `--cert F --key F` or `--combined` (stdin); read here, checked by the daemon. */
async function readCaInput(options: {
  cert?: string;
  key?: string;
  combined?: boolean;
}): Promise<{ certPem: string; keyPem: string }> {
  const files = options.cert !== undefined || options.key !== undefined;
  if (options.combined === true && files) {
    throw new MicroOvnError("BAD_ARGUMENTS", "give either --cert and --key, or --combined");
  }
  if (options.combined === true) {
    const { splitCombinedPem } = await import("../../pki/x509.js");
    return splitCombinedPem(await text(process.stdin));
  }
  if (options.cert === undefined || options.key === undefined) {
    throw new MicroOvnError(
      "BAD_ARGUMENTS",
      "give the CA as --cert FILE --key FILE, or as one PEM on stdin with --combined",
    );
  }
  return {
    certPem: await readInputFile(options.cert, "CA certificate"),
    keyPem: await readInputFile(options.key, "CA key"),
  };
}
