/**
 * The control API on DIR/control.socket: created with mode 0600, so only
 * root talks to it. Routes are in routes.ts; HTTP and JSON in router.ts.
 */
import { chmod, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { Router, type Route } from "./router.js";

export class ControlServer {
  private readonly server: Server;

  constructor(routes: readonly Route[]) {
    const router = new Router(routes);
    this.server = createServer((req, res) => void router.dispatch(req, res));
  }

  async listen(socketPath: string): Promise<void> {
    await rm(socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      // Created with no access for others, then made explicit.
      const umask = process.umask(0o177);
      this.server.listen(socketPath, () => {
        process.umask(umask);
        this.server.off("error", reject);
        resolve();
      });
    });
    await chmod(socketPath, 0o600);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
