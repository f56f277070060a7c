/** Warnings go to stderr, one per line, so that stdout stays what scripts read. */
export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`Warning: ${w}\n`);
}
