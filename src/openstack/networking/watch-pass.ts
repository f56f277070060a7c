/**
 * What the API's NB watchers share (routers/gateway-watch.ts,
 * floating-ips/mode-watch.ts, migration-watch.ts): a change in the
 * service's replicas asks for a pass; the pass looks at the replicas for
 * what is wrong and mends it with one NB write (writeNb, which builds it
 * again from the replicas after a conflict); a pass that fails (NB not
 * answering) is tried again a moment later. Each watcher only says which
 * changes concern it and what a pass writes.
 *
 * Every API server runs the same watchers and sees the same changes, so a
 * pass must write only what is still wrong and guard it with the rows as
 * it read them: one server commits, the others' guards fail, they read
 * again, find nothing left to do and write nothing.
 *
 * Passes are keyed. A watcher that looks at everything at once asks for
 * EVERYTHING; the migration watch asks per port, so that one port's end
 * neither waits for nor repeats another's.
 */
import type { RowChange } from "../../ovsdb/index.js";
import type { Backend } from "../backend.js";
import { writeNb, type NbTransaction } from "./write.js";

/** When a key's passes run. */
export interface PassTiming {
  /**
   * How long requests are gathered into one pass: a burst of changes (a
   * member's ovn-controller starting) is looked at once. 0 gathers what
   * the same turn of the event loop brings, which is how a replica hands
   * over one update.
   */
  gatherMs: number;
  /** How long a failed pass waits before it is tried again; requests meanwhile wait with it. */
  retryMs: number;
}

/**
 * Runs passes by key: at most one at a time for a key; a request while
 * one is due joins it; a request while one runs gives exactly one more
 * after it (the running one may have read the replicas before the change);
 * a pass that fails is run again after `retryMs` until one succeeds.
 * Nothing here knows of NB, so the timing is tested on its own.
 */
export class PassScheduler {
  private readonly due = new Map<string, () => void>();
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private closed = false;

  constructor(
    private readonly timing: PassTiming,
    private readonly run: (key: string) => Promise<void>,
  ) {}

  /** Asks for a pass over `key`. */
  request(key: string): void {
    if (this.closed) return;
    if (this.running.has(key)) this.again.add(key);
    else if (!this.due.has(key)) this.startAfter(key, this.timing.gatherMs);
  }

  /** Cancels every pass due; one running ends without a successor. */
  close(): void {
    this.closed = true;
    for (const cancel of this.due.values()) cancel();
    this.due.clear();
  }

  private startAfter(key: string, ms: number): void {
    const start = (): void => {
      this.due.delete(key);
      this.start(key);
    };
    if (ms === 0) {
      const immediate = setImmediate(start);
      this.due.set(key, () => clearImmediate(immediate));
    } else {
      const timeout = setTimeout(start, ms);
      this.due.set(key, () => clearTimeout(timeout));
    }
  }

  private start(key: string): void {
    if (this.closed) return;
    this.running.add(key);
    this.again.delete(key);
    this.run(key).then(
      () => {
        this.running.delete(key);
        if (this.again.delete(key)) this.request(key);
      },
      () => {
        this.running.delete(key);
        // The retry reads the replicas afresh: it covers what came meanwhile.
        this.again.delete(key);
        if (!this.closed) this.startAfter(key, this.timing.retryMs);
      },
    );
  }
}

/** What one pass writes to NB, and what the log says of it. */
export interface NbPass<R> {
  /** Adds what mends the replicas' state to `txn`; called again at each attempt. */
  build(txn: NbTransaction): R;
  /** The log line for a pass whose write answered `result`; undefined when it changed nothing. */
  wrote(result: R): string | undefined;
  /** The start of the log line for a failed pass; the error's message follows. */
  failure: string;
}

/** The keys a batch of one replica's changes asks passes for. */
export type ChangedKeys = (changes: readonly RowChange[]) => Iterable<string>;

export interface PassWatchSpec<R> extends PassTiming {
  nb?: ChangedKeys;
  sb?: ChangedKeys;
  state?: ChangedKeys;
  /** The keys looked at when the watch starts, for what changed while no service ran. */
  initial: Iterable<string>;
  /** The pass over `key`, read from the replicas when it runs; undefined when nothing is wrong. */
  pass(key: string): NbPass<R> | undefined;
}

export interface PassWatch {
  close(): void;
}

/** The key of a watcher whose every pass looks at everything. */
export const EVERYTHING = "*";

/** For a watcher of EVERYTHING: a pass when a change touches one of `tables`. */
export function onTables(tables: ReadonlySet<string>): ChangedKeys {
  return (changes) => (changes.some((c) => tables.has(c.table)) ? [EVERYTHING] : []);
}

/**
 * Runs `spec`'s passes on the changes of `backend`'s replicas until
 * closed. `log` hears of every pass that wrote something and every
 * failure.
 */
export function watchPasses<R>(
  backend: Backend,
  log: (message: string) => void,
  spec: PassWatchSpec<R>,
): PassWatch {
  const { nb } = backend;
  const scheduler = new PassScheduler(spec, async (key) => {
    const pass = spec.pass(key);
    if (!pass) return;
    let result: R;
    try {
      result = await writeNb(nb, (txn) => pass.build(txn));
    } catch (e) {
      log(`${pass.failure}: ${(e as Error).message}`);
      throw e;
    }
    const line = pass.wrote(result);
    if (line !== undefined) log(line);
  });
  const request = (keys: Iterable<string>): void => {
    for (const key of keys) scheduler.request(key);
  };
  const listeners = (
    [
      [backend.nbReplica, spec.nb],
      [backend.sbReplica, spec.sb],
      [backend.stateReplica, spec.state],
    ] as const
  ).flatMap(([replica, keysOf]) => {
    if (!keysOf) return [];
    const listener = (changes: readonly RowChange[]): void => request(keysOf(changes));
    replica.on("change", listener);
    return [() => replica.off("change", listener)];
  });
  request(spec.initial);
  return {
    close() {
      scheduler.close();
      for (const off of listeners) off();
    },
  };
}
