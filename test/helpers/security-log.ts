/** Reading a member's security log in tests (DIR/logs/security.log). */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { waitFor } from "./wait.js";

export type SecurityLine = Record<string, string | number | boolean>;

/** Every line of the security log under state dir `dir` (none when there is no file yet). */
export async function securityLines(dir: string): Promise<SecurityLine[]> {
  const text = await readFile(join(dir, "logs", "security.log"), "utf8").catch(() => "");
  return text
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as SecurityLine);
}

/** The lines of `event` (with `fields` as given), once there are `count` of them; waits for them. */
export async function waitForSecurityLines(
  dir: string,
  event: string,
  fields: Record<string, string | number | boolean> = {},
  count = 1,
  timeoutMs = 10_000,
): Promise<SecurityLine[]> {
  const matching = async () =>
    (await securityLines(dir)).filter(
      (l) => l.event === event && Object.entries(fields).every(([k, v]) => l[k] === v),
    );
  return waitFor(
    `${count} ${event} line(s) with ${JSON.stringify(fields)} in ${dir}/logs/security.log`,
    async () => {
      const found = await matching();
      return found.length >= count ? found : undefined;
    },
    { timeoutMs },
  );
}
