/**
 * One initial-sync measurement in a process of its own, so that its time,
 * heap and peak RSS are not mixed with anything else. Run as
 *
 *   node --expose-gc --import tsx bench/lib/sync-child.ts <ours|floor> <all|narrow> <socket path>
 *
 * and prints one JSON line: seconds (connect start to copy complete), rows,
 * heap used before and after (each after a full GC, the copy still alive),
 * bytes per row, and the process's peak RSS.
 */
import diagnostics from "node:diagnostics_channel";
import { readFileSync } from "node:fs";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import { OvsdbClient } from "../../src/ovsdb/client/client.js";
import type { OvnNorthboundDatabase } from "../../src/ovsdb/models/ovn-northbound.js";
import { Replica, type Selection } from "../../src/ovsdb/replica/replica.js";
import { floorMonitor } from "./raw.js";

export const SYNC_TABLES = ["Logical_Switch", "Logical_Switch_Port"] as const;

export const NARROW_COLUMNS = {
  Logical_Switch: ["name", "ports"],
  Logical_Switch_Port: ["name", "addresses"],
} as const;

export interface SyncResult {
  competitor: "ours" | "floor";
  columns: "all" | "narrow";
  seconds: number;
  /** From the last byte of the reply arriving to the copy being complete: the client's own work. */
  afterLastByteSeconds: number;
  rows: number;
  replyBytes?: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  bytesPerRow: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
}

/** Every column of the synced tables, as Replica.start(…, true) asks for them. */
function allColumns(schemaFile: string): Record<string, string[]> {
  const schema = JSON.parse(readFileSync(schemaFile, "utf8")) as {
    tables: Record<string, { columns: Record<string, unknown> }>;
  };
  const out: Record<string, string[]> = {};
  for (const table of SYNC_TABLES) out[table] = Object.keys(schema.tables[table]!.columns);
  return out;
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("run with node --expose-gc");
  collect();
  collect();
}

async function main(): Promise<void> {
  const [competitor, columns, socketPath] = process.argv.slice(2);
  if (
    (competitor !== "ours" && competitor !== "floor") ||
    (columns !== "all" && columns !== "narrow") ||
    !socketPath
  ) {
    throw new Error("usage: sync-child.ts <ours|floor> <all|narrow> <socket path>");
  }
  const floorColumns =
    columns === "all" ? allColumns("/usr/share/ovn/ovn-nb.ovsschema") : NARROW_COLUMNS;
  const selection: Selection<OvnNorthboundDatabase> =
    columns === "all"
      ? { Logical_Switch: true, Logical_Switch_Port: true }
      : {
          Logical_Switch: { columns: NARROW_COLUMNS.Logical_Switch },
          Logical_Switch_Port: { columns: NARROW_COLUMNS.Logical_Switch_Port },
        };

  // Every socket this process opens reports when its data arrives (our
  // listener runs before the client's), so the time spent after the last
  // byte — parsing and building the copy — can be told from the server's.
  let lastDataAt = 0;
  diagnostics.subscribe("net.client.socket", (message) => {
    (message as { socket: net.Socket }).socket.on("data", () => (lastDataAt = performance.now()));
  });

  gc();
  const heapBeforeBytes = process.memoryUsage().heapUsed;
  const rssBeforeBytes = process.memoryUsage().rss;

  let seconds: number;
  let doneAt: number;
  let rows = 0;
  let replyBytes: number | undefined;
  let keep: unknown;
  if (competitor === "ours") {
    const t0 = performance.now();
    const client = await OvsdbClient.connect<OvnNorthboundDatabase>({
      remotes: `unix:${socketPath}`,
      database: "OVN_Northbound",
    });
    const replica = await Replica.start(client, selection);
    doneAt = performance.now();
    seconds = (doneAt - t0) / 1000;
    for (const table of SYNC_TABLES) rows += replica.table(table).size;
    keep = { client, replica };
  } else {
    const result = await floorMonitor(socketPath, floorColumns);
    doneAt = result.endedAt;
    seconds = result.seconds;
    rows = result.rows;
    replyBytes = result.bytes;
    keep = result.result;
  }

  gc();
  const heapAfterBytes = process.memoryUsage().heapUsed;
  const out: SyncResult = {
    competitor,
    columns,
    seconds,
    afterLastByteSeconds: (doneAt - lastDataAt) / 1000,
    rows,
    ...(replyBytes === undefined ? {} : { replyBytes }),
    heapBeforeBytes,
    heapAfterBytes,
    bytesPerRow: (heapAfterBytes - heapBeforeBytes) / rows,
    rssBeforeBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  // Keep the copy alive until after the measurement.
  if (keep === undefined) throw new Error("nothing was synced");
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
