/** Small file-system helpers shared by the state-keeping modules. */
import { access, chmod, rename, writeFile } from "node:fs/promises";

export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Replaces `path` with `content` so that a reader sees either the old file
 * or the new one, never half of it (write a temporary file, then rename).
 */
export async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  await writeFile(temporary, content, { mode });
  await chmod(temporary, mode); // the umask may have taken bits away
  await rename(temporary, path);
}

/** Resolves once `path` exists; throws `onTimeout()` after `timeoutMs`. */
export async function waitForPath(
  path: string,
  timeoutMs: number,
  onTimeout: () => Error,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pathExists(path))) {
    if (Date.now() > deadline) throw onTimeout();
    await new Promise((r) => setTimeout(r, 5));
  }
}
