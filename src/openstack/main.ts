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
import { PluginAuthenticator } from "./auth/plugins.js";
import { Backend } from "./backend.js";
import { KeystoneAuthenticator } from "./auth/keystone.js";
import { LocalTokens } from "./auth/local.js";
import { NoauthAuthenticator } from "./auth/noauth.js";
import { OvirtAuthenticator } from "./auth/ovirt.js";
import { identityApi } from "./identity/api.js";
import { networkingApi, type NetworkingContext } from "./networking/api.js";
import { watchMigrations } from "./networking/migration-watch.js";
import { watchFloatingIpModes } from "./networking/floating-ips/mode-watch.js";
import { watchGateways } from "./networking/routers/gateway-watch.js";
import { readApiSettings, type ApiSettings } from "./settings.js";
import { openstackSecurityLog } from "./security-events.js";
import { IDENTITY_PORTS, NETWORKING_PORT } from "./service.js";

const options = new Command("microovn-openstack-api")
  .description("MicroOVN's OpenStack API service (started by microovnd)")
  .version(VERSION)
  .requiredOption("--pidfile <file>", "written once every port listens")
  .requiredOption("--settings <file>", "what microovnd tells the service (settings.ts)")
  .parse()
  .opts<{ pidfile: string; settings: string }>();

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} ${message}\n`);
}

async function readTls(settings: ApiSettings): Promise<{ key: string; cert: string }> {
  const [key, cert] = await Promise.all([
    readFile(settings.serverTls.privateKey, "utf8"),
    readFile(settings.serverTls.certificate, "utf8"),
  ]);
  return { key, cert };
}

function apis(
  backend: Backend,
  address: string,
): { servers: [ApiDefinition, number][]; networking: NetworkingContext } {
  const tokens = new LocalTokens(backend, log);
  const ovirt = new OvirtAuthenticator(backend, log);
  const auth = new PluginAuthenticator(backend, {
    local: tokens,
    noauth: new NoauthAuthenticator(backend, address, log),
    keystone: new KeystoneAuthenticator(backend, log),
    ovirt,
  });
  const identity = identityApi({ backend, auth, tokens, ovirt, address, log });
  const networking: NetworkingContext = { backend, auth, address };
  return {
    servers: [
      [networkingApi(networking), NETWORKING_PORT],
      ...IDENTITY_PORTS.map((port): [ApiDefinition, number] => [identity, port]),
    ],
    networking,
  };
}

async function main(): Promise<void> {
  const settings = await readApiSettings(options.settings);
  const tls = await readTls(settings);
  const backend = await Backend.open(settings);
  log(`connected to NB (${backend.nb.currentRemote}) and the state database`);
  const servers: ApiServer[] = [];
  const { servers: definitions, networking } = apis(backend, settings.address);
  // Live migrations end when SB shows the VM on its destination (migration-watch.ts).
  const migrations = watchMigrations(networking, log);
  // Gateways follow the chassis that may host them (routers/gateway-watch.ts).
  const gateways = watchGateways(networking, log);
  // Floating IPs follow their VMs' chassis between distributed and centralised.
  const fipModes = watchFloatingIpModes(networking, log);
  const closeAll = async () => {
    migrations.close();
    gateways.close();
    fipModes.close();
    await Promise.all(servers.map((s) => s.close()));
    backend.close();
    await rm(options.pidfile, { force: true });
  };
  const { address } = settings;
  const security = openstackSecurityLog(options.settings, backend);
  try {
    for (const [api, port] of definitions) {
      const server = await buildApiServer({ api, host: address, port, tls, log, security });
      servers.push(server);
      await server.listen({ host: address, port });
      log(`${api.title} API listening on ${address}:${port}`);
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  await writeFile(options.pidfile, `${process.pid}\n`);

  // microovnd rewrote the settings: other certificate files or contents,
  // other database servers. The ports stay open throughout.
  process.on("SIGHUP", () => {
    readApiSettings(options.settings)
      .then(async (fresh) => {
        if (fresh.address !== address) {
          log(`the member address is now ${fresh.address}: restart the service to listen there`);
        }
        backend.follow(fresh);
        const freshTls = await readTls(fresh);
        for (const server of servers) server.server.setSecureContext(freshTls);
        log("settings, certificate and key read again");
      })
      .catch((e: unknown) => log(`kept the old settings: ${(e as Error).message}`));
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
