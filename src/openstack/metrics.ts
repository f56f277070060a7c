/**
 * The OpenStack API's request durations, for the member's /metrics. The
 * service is its own process, so it keeps its own prom-client registry and
 * serves its text on a unix socket in the run dir
 * (OPENSTACK_API_METRICS_SOCKET, mode 0600): microovnd appends it to what
 * it serves. A socket rather than a port: nothing outside the machine can
 * reach it, and no port number has to be agreed on or kept free. Routes are
 * labelled by their pattern (`/v2.0/ports/:id`), never the URL asked for,
 * so ids never become label values.
 */
import { chmod, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { Histogram, Registry } from "prom-client";

/** The socket's name in the run dir. */
export const OPENSTACK_API_METRICS_SOCKET = "openstack-api-metrics.sock";

const registry = new Registry();
const durations = new Histogram({
  name: "microovn_openstack_api_request_duration_seconds",
  help: "OpenStack API requests by route pattern and status code, in seconds",
  labelNames: ["route", "code"],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

/** One answered request: its route pattern (undefined when none matched), status and time in ms. */
export function recordRequest(route: string | undefined, code: number, ms: number): void {
  // An unmatched URL has no pattern: all of them count under one label.
  durations.observe({ route: route ?? "unmatched", code: String(code) }, ms / 1000);
}

/** Serves the registry's text on `socket`; close it on exit. */
export async function serveMetrics(socket: string): Promise<Server> {
  await rm(socket, { force: true });
  const server = createServer((req, res) => {
    void registry.metrics().then((text) => {
      res.writeHead(200, { "content-type": registry.contentType });
      res.end(text);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () => resolve());
  });
  await chmod(socket, 0o600);
  server.unref();
  return server;
}
