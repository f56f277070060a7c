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
  if (process.stdin.isTTY) {
    throw new MicroOvnError(
      "PASSWORD_STDIN_IS_TERMINAL",
      "--password-stdin reads the password from a pipe or file, e.g. " +
        "`printf '%s' \"$PASSWORD\" | microovn user add NAME --password-stdin`; leave the " +
        "option out to have a password made and printed once",
    );
  }
  const { text } = await import("node:stream/consumers");
  return (await text(process.stdin)).replace(/\r?\n$/, "");
}
