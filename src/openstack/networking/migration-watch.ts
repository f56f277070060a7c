/**
 * Ends live migrations (migration.ts) as the VM manager's last step does
 * under Neutron: once SB shows the VM on its destination, the port is
 * bound there alone — requested-chassis = HOST, no activation-strategy,
 * `binding:host_id` = HOST, `migrating_to` gone from binding:profile.
 *
 * Every API server watches its SB replica for this, so the change may be
 * seen by several at once: each builds it from its NB replica behind a
 * guard that the port is still as it read it. One commits; the others'
 * guards fail, they read the port again, find it no longer migrating and
 * write nothing. A migration abandoned or changed meanwhile is left alone
 * the same way.
 */
import type { LogicalSwitchPort } from "../../ovsdb/models/ovn-northbound.js";
import type { RowChange } from "../../ovsdb/index.js";
import { changedIds, jsonOf } from "./attributes.js";
import type { NetworkingContext } from "./context.js";
import {
  migrationEnd,
  migrationOf,
  rebound,
  sbChassis,
  storedProfile,
  withoutMigration,
  type Migration,
} from "./migration.js";
import { PORT_KEYS } from "./ports.js";
import { nbRows, type NbRows } from "./rows.js";
import { watchPasses, type PassWatch } from "./watch-pass.js";
import { expectSame, type NbTransaction } from "./write.js";

/** How long a failed end (NB not answering) waits before it is tried again. */
const RETRY_MS = 1_000;

/**
 * Ends the migration of port `id` to `migration.destination` in `txn`, if
 * NB still shows that migration; returns whether it wrote anything.
 */
export function buildMigrationEnd(
  txn: NbTransaction,
  rows: NbRows,
  id: string,
  migration: Migration,
): boolean {
  const lsp = rows.port(id);
  const now = lsp && migrationOf(lsp.options);
  if (!lsp || now?.source !== migration.source || now.destination !== migration.destination) {
    return false;
  }
  const profile = withoutMigration(
    jsonOf<Record<string, unknown>>(lsp.external_ids, PORT_KEYS.profile, {}),
  );
  expectSame(txn, "Logical_Switch_Port", lsp._uuid, { external_ids: lsp.external_ids });
  txn.update("Logical_Switch_Port", [["_uuid", "==", lsp._uuid]], {
    options: rebound(lsp.options, migration.destination, undefined),
    external_ids: changedIds(lsp.external_ids, { [PORT_KEYS.profile]: storedProfile(profile) }),
  });
  return true;
}

export type MigrationWatch = PassWatch;

/**
 * Watches the service's replicas and ends each migration whose VM has
 * shown up on its destination. `log` hears of every end and failure.
 */
export function watchMigrations(
  context: NetworkingContext,
  log: (message: string) => void,
): MigrationWatch {
  const { nbReplica, sbReplica } = context.backend;
  const rows = nbRows(context);
  const chassis = sbChassis(sbReplica);
  /** Ports NB shows migrating, by name. */
  const migrating = new Map<string, Migration>();

  const track = (lsp: LogicalSwitchPort): void => {
    const migration = migrationOf(lsp.options);
    if (migration) migrating.set(lsp.name, migration);
    else migrating.delete(lsp.name);
  };
  /** The migrating ports among `ports`: the others have nothing to end. */
  const migratingOf = (ports: string[]): string[] => ports.filter((id) => migrating.has(id));
  /** The migrating ports a batch of NB changes touches, once `migrating` has taken the batch in. */
  const nbPorts = (changes: readonly RowChange[]): string[] =>
    migratingOf(
      changes.flatMap((c) => {
        if (c.table !== "Logical_Switch_Port") return [];
        const lsp = c.row as unknown as LogicalSwitchPort;
        if (c.kind === "delete") migrating.delete(lsp.name);
        else track(lsp);
        return [lsp.name];
      }),
    );
  const sbPorts = (changes: readonly RowChange[]): string[] =>
    migratingOf(
      changes.flatMap((c) => {
        if (c.table === "Port_Binding")
          return [(c.row as unknown as { logical_port: string }).logical_port];
        // A chassis (re)registered: names may now resolve.
        if (c.table === "Chassis") return [...migrating.keys()];
        return [];
      }),
    );

  for (const lsp of nbReplica.table("Logical_Switch_Port").values()) track(lsp);
  return watchPasses(context.backend, log, {
    gatherMs: 0,
    retryMs: RETRY_MS,
    nb: nbPorts,
    sb: sbPorts,
    initial: migrating.keys(),
    pass: (id) => {
      const migration = migrating.get(id);
      if (!migration) return undefined;
      const binding = sbReplica.table("Port_Binding").lookup({ logical_port: id });
      const why = migrationEnd(migration, binding, chassis);
      if (!why) return undefined;
      return {
        build: (txn) => buildMigrationEnd(txn, rows, id, migration),
        wrote: (wrote) =>
          wrote
            ? `port ${id}: migration from ${migration.source} to ${migration.destination} ended ` +
              (why === "activated"
                ? `(the VM announced itself on ${migration.destination})`
                : `(${migration.source} let the port go)`)
            : undefined,
        failure: `port ${id}: could not end its migration yet`,
      };
    },
  });
}
