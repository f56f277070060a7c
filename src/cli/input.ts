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
