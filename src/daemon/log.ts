/** The daemon's own log lines (stdout, which goes to DIR/logs/microovnd.log or the journal). */
export function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}
