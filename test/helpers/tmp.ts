/**
 * Scratch directories and loopback ports for tests.
 */
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, sep } from "node:path";

/**
 * Unix socket paths are limited to about 100 bytes, and the sockets live a few
 * levels below the temporary directory, so a long $TMPDIR is not used.
 */
const MAX_TMP_ROOT_LENGTH = 40;

async function tmpRoot(): Promise<string> {
  // Resolve symbolic links so paths compare and print the same everywhere.
  const root = await realpath(tmpdir());
  return root.length <= MAX_TMP_ROOT_LENGTH ? root : "/tmp";
}

/**
 * Creates a fresh, empty directory with a short name under the system's
 * temporary directory (or /tmp when that path is too long for unix sockets).
 * `prefix` is shortened and restricted to safe characters.
 */
export async function makeTempDir(prefix: string): Promise<string> {
  const safe = prefix.replace(/[^A-Za-z0-9_-]/g, "").slice(0, 12) || "t";
  return mkdtemp(join(await tmpRoot(), `${safe}-`));
}

/**
 * Deletes a directory made by makeTempDir and everything in it. Missing
 * directories are fine. Refuses paths outside the temporary directory so a
 * wrong argument cannot remove anything else.
 */
export async function removeDir(dir: string): Promise<void> {
  const target = resolve(dir);
  const roots = new Set([resolve(tmpdir()), await tmpRoot(), "/tmp"]);
  if (![...roots].some((root) => target.startsWith(root + sep))) {
    throw new Error(`removeDir: refusing to remove ${target}, which is not a temporary directory`);
  }
  await rm(target, { recursive: true, force: true, maxRetries: 3 });
}

/** Ports this process has handed out, so two calls never return the same one. */
const handedOut = new Set<number>();

function bindAndRelease(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error("no port assigned"))));
    });
  });
}

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago: binds port 0,
 * reads the number the kernel chose and closes the socket again. Another
 * program may still take it before the caller binds it, but within this
 * process a port is never returned twice.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await bindAndRelease();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("freePort: the kernel keeps returning ports that were already handed out");
}
