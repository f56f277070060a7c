/** What every CLI command gets: the state dir chosen on the command line and the daemon client. */
import { StateDir } from "../member/state-dir.js";
import { MicroOvnError } from "../errors.js";
import { ControlClient } from "./control-client.js";

export class CliContext {
  private stateDir: StateDir | undefined;

  constructor(private readonly stateDirOption: () => string | undefined) {}

  get state(): StateDir {
    this.stateDir ??= new StateDir(this.stateDirOption());
    return this.stateDir;
  }

  /** The control API client; only root may talk to the daemon. */
  client(): ControlClient {
    if (process.getuid?.() !== 0) {
      throw new MicroOvnError(
        "ROOT_REQUIRED",
        "microovn talks to microovnd, which only root may do; run it as root (e.g. with sudo)",
      );
    }
    return new ControlClient(this.state);
  }

  print(text: string): void {
    process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  }
}
