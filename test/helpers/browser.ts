/**
 * A real headless browser for tests: Debian's chromium, driven by
 * playwright-core (no browser is ever downloaded), run inside a lab
 * member's network namespace so that it reaches the members' addresses as
 * that member does. The browser process is killed by its pid when the test
 * ends, whatever happened.
 */
import { chmod, readFile, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { isAlive } from "./processes.js";

export const CHROMIUM = "/usr/bin/chromium";

/** Why a browser test cannot run here, or undefined when it can. */
export function browserMissing(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is missing: install Debian's chromium (scripts/install-test-packages.sh)`;
}

export interface NamespacedBrowser {
  browser: Browser;
  /** Closes the browser and kills whatever of it is left. */
  close(): Promise<void>;
}

/** Chromium in network namespace `namespace`; `dir` holds its launcher script. */
export async function launchInNamespace(
  namespace: string,
  dir: string,
): Promise<NamespacedBrowser> {
  // `ip netns exec` execs chromium in place: the script's pid is the browser's.
  const launcher = join(dir, "chromium-in-netns");
  const pidFile = join(dir, "chromium.pid");
  await writeFile(
    launcher,
    `#!/bin/sh\necho $$ > ${pidFile}\nexec ip netns exec ${namespace} ${CHROMIUM} "$@"\n`,
  );
  await chmod(launcher, 0o755);
  const kill = async () => {
    const pid = Number(await readFile(pidFile, "utf8").catch(() => ""));
    if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return;
    // Playwright starts it as the leader of its own process group: take the renderers too.
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      process.kill(pid, "SIGKILL");
    }
  };
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: launcher,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
      timeout: 60_000,
    });
  } catch (e) {
    await kill();
    throw e;
  }
  return {
    browser,
    close: async () => {
      await browser.close().catch(() => undefined);
      await kill();
    },
  };
}
