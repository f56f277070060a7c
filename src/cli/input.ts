/** Files a command reads on the operator's side and sends to the daemon. */
import { readFile } from "node:fs/promises";
import { MicroOvnError } from "../errors.js";

/** The text of `path`, or an error naming `what` the file was meant to hold. */
export async function readInputFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new MicroOvnError(
      "CANNOT_READ",
      `cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
}

/**
 * A password from stdin (`--password-stdin`), so that it never shows in a
 * process list or a shell history. One line ending is dropped, as `echo`
 * and a typed line add one; an empty one is refused by the daemon.
 */
export async function readPasswordStdin(): Promise<string> {
  const { text } = await import("node:stream/consumers");
  return (await text(process.stdin)).replace(/\r?\n$/, "");
}
