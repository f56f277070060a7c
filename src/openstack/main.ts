#!/usr/bin/env node
/**
 * The OpenStack API service of one member: Networking on 9696, Identity on
 * 5000 and 35357, all over HTTPS with the member's `openstack-api`
 * certificate. microovnd's supervisor runs it (service.ts) and restarts it
 * when it dies; it is never part of microovnd itself.
 *
 * The pidfile is written once every port listens, so whoever starts the
 * service can wait for it. SIGHUP reads the certificate and key again (after
 * a reissue or renewal) without closing a port; SIGTERM closes the ports and
 * exits.
 */
import { Command } from "commander";
import { readFile, rm, writeFile } from "node:fs/promises";
import { MicroOvnError } from "../errors.js";
import { VERSION } from "../version.js";
import { buildApiServer, type ApiDefinition, type ApiServer } from "./http.js";
import { IDENTITY_API } from "./identity/api.js";
import { NETWORKING_API } from "./networking/api.js";
import { IDENTITY_PORTS, NETWORKING_PORT } from "./service.js";

const options = new Command("microovn-openstack-api")
  .description("MicroOVN's OpenStack API service (started by microovnd)")
  .version(VERSION)
  .requiredOption("--pidfile <file>", "written once every port listens")
  .requiredOption("--address <ip>", "the member address: listen there")
  .requiredOption("--certificate <file>", "the server certificate (PEM)")
  .requiredOption("--private-key <file>", "its private key (PEM)")
  .parse()
  .opts<{ pidfile: string; address: string; certificate: string; privateKey: string }>();

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

async function readTls(): Promise<{ key: string; cert: string }> {
  const [key, cert] = await Promise.all([
    readFile(options.privateKey, "utf8"),
    readFile(options.certificate, "utf8"),
  ]);
  return { key, cert };
}

const PORTS: readonly [ApiDefinition, number][] = [
  [NETWORKING_API, NETWORKING_PORT],
  ...IDENTITY_PORTS.map((port): [ApiDefinition, number] => [IDENTITY_API, port]),
];

async function main(): Promise<void> {
  const tls = await readTls();
  const servers: ApiServer[] = [];
  const closeAll = async () => {
    await Promise.all(servers.map((s) => s.close()));
    await rm(options.pidfile, { force: true });
  };
  try {
    for (const [api, port] of PORTS) {
      const server = await buildApiServer({ api, host: options.address, port, tls, log });
      servers.push(server);
      await server.listen({ host: options.address, port });
      log(`${api.title} API listening on ${options.address}:${port}`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  await writeFile(options.pidfile, `${process.pid}\n`);

  process.on("SIGHUP", () => {
    readTls()
      .then((fresh) => {
        for (const server of servers) server.server.setSecureContext(fresh);
        log("certificate and key read again");
      })
      .catch((e: unknown) => log(`kept the old certificate: ${(e as Error).message}`));
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log(`${signal}: closing the ports`);
      closeAll().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  }
}

main().catch((e: unknown) => {
  const message = e instanceof MicroOvnError ? e.message : String((e as Error).stack ?? e);
  log(`microovn-openstack-api: ${message}`);
  process.exit(1);
});
