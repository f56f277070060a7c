/**
 * OVSDB client benchmark (`npm run bench:ovsdb`): our client against OVN's
 * own tools and against a hand-written floor, on real ovsdb-server processes
 * serving fresh OVN_Northbound databases on unix sockets.
 *
 * 1. Bulk write: 10,000 logical switch ports with addresses on 100 switches.
 * 2. Initial sync: a 101,000-row NB (1,000 switches × 100 ports).
 * 3. Memory of the synced copy (bytes per row, peak RSS).
 *
 * Progress goes to stdout; the last line is one JSON object with every figure.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { OvsdbClient } from "../src/ovsdb/client/client.js";
import type { OvnNorthboundDatabase } from "../src/ovsdb/models/ovn-northbound.js";
import { run } from "../src/process/run.js";
import { address, floorWrite, floorWritePipelined, rawRequest } from "./lib/raw.js";
import { makeTempDir, removeDir } from "../test/helpers/tmp.js";
import { startServer, stopPid, trackPid, type BenchServer, type ServerMode } from "./lib/server.js";
import { fmtInt, log, median, sig } from "./lib/stats.js";
import type { SyncResult } from "./lib/sync-child.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SYNC_CHILD = join(ROOT, "bench", "lib", "sync-child.ts");

const WRITE_SWITCHES = 100;
const PORTS_PER_SWITCH = 100;
const WRITE_PORTS = WRITE_SWITCHES * PORTS_PER_SWITCH;
const SYNC_SWITCHES = 1000;
const FAST_REPS = 7;
const SYNC_REPS = 5;
const DUMP_REPS = 3;
/** Linux refuses any single argv string over 128 KiB and all of argv+env over ARG_MAX. */
const ARGV_LIMIT = 128 * 1024;

type NbClient = OvsdbClient<OvnNorthboundDatabase>;

/* ---- checks ------------------------------------------------------------------------- */

/** Throws unless the database holds exactly the switches and ports a write run makes. */
async function verifyWrite(
  server: BenchServer,
  switches: number,
  perSwitch: number,
): Promise<void> {
  const [ports, lswitches] = (await rawRequest(server.socketPath, "transact", [
    "OVN_Northbound",
    {
      op: "select",
      table: "Logical_Switch_Port",
      where: [],
      columns: ["_uuid", "name", "addresses"],
    },
    { op: "select", table: "Logical_Switch", where: [], columns: ["name", "ports"] },
  ])) as [
    { rows: { _uuid: [string, string]; name: string; addresses: unknown }[] },
    { rows: { name: string; ports: unknown }[] },
  ];
  const total = switches * perSwitch;
  if (ports.rows.length !== total)
    throw new Error(`expected ${total} ports, found ${ports.rows.length}`);
  if (lswitches.rows.length !== switches) {
    throw new Error(`expected ${switches} switches, found ${lswitches.rows.length}`);
  }
  const nameOf = new Map<string, string>();
  for (const row of ports.rows) {
    const p = Number(row.name.slice(1));
    const addrs = row.addresses;
    const single = typeof addrs === "string" ? addrs : (addrs as [string, string[]])[1][0];
    if (single !== address(p))
      throw new Error(`port ${row.name} has addresses ${JSON.stringify(addrs)}`);
    nameOf.set(row._uuid[1], row.name);
  }
  for (const sw of lswitches.rows) {
    const s = Number(sw.name.slice(2));
    const refs = sw.ports as ["set", ["uuid", string][]] | ["uuid", string];
    const uuids = refs[0] === "set" ? refs[1].map((r) => r[1]) : [refs[1]];
    const names = new Set(uuids.map((u) => nameOf.get(u)));
    for (let p = s * perSwitch; p < (s + 1) * perSwitch; p++) {
      if (!names.has(`p${p}`)) throw new Error(`switch ${sw.name} lacks port p${p}`);
    }
    if (uuids.length !== perSwitch) throw new Error(`switch ${sw.name} has ${uuids.length} ports`);
  }
}

/* ---- ours ----------------------------------------------------------------------------- */

function connectOurs(server: BenchServer): Promise<NbClient> {
  return OvsdbClient.connect<OvnNorthboundDatabase>({
    remotes: server.remote,
    database: "OVN_Northbound",
  });
}

type Txn = ReturnType<NbClient["transaction"]>;

/** Adds switch `s` and its ports to a typed transaction, ports referenced by uuid-name. */
function addSwitch(txn: Txn, s: number, perSwitch: number): void {
  const ports: string[] = [];
  for (let p = s * perSwitch; p < (s + 1) * perSwitch; p++) {
    ports.push(txn.insert("Logical_Switch_Port", { name: `p${p}`, addresses: [address(p)] }));
  }
  txn.insert("Logical_Switch", { name: `sw${s}`, ports });
}

/**
 * Like addSwitch, but with the columns a cloud manager fills in (external_ids,
 * options, port security), so that "all columns" carries several times the
 * bytes of the narrow selection, as in a real Northbound DB.
 */
function addRichSwitch(txn: Txn, s: number, perSwitch: number): void {
  const ports: string[] = [];
  const network = `net-${s.toString(16).padStart(8, "0")}-1111-2222-3333-444455556666`;
  for (let p = s * perSwitch; p < (s + 1) * perSwitch; p++) {
    const id = `${p.toString(16).padStart(8, "0")}-aaaa-bbbb-cccc-ddddeeeeffff`;
    ports.push(
      txn.insert("Logical_Switch_Port", {
        name: `p${p}`,
        addresses: [address(p)],
        port_security: [address(p)],
        enabled: true,
        options: { "requested-chassis": `chassis-${p % 50}`, mcast_flood_reports: "true" },
        external_ids: {
          "neutron:cidrs": address(p).split(" ")[1] + "/16",
          "neutron:device_id": `vm-${id}`,
          "neutron:device_owner": "compute:nova",
          "neutron:network_name": network,
          "neutron:port_name": `port-${p}`,
          "neutron:project_id": "0123456789abcdef0123456789abcdef",
          "neutron:revision_number": "3",
          "neutron:security_group_ids": `sg-${s % 20}`,
        },
      }),
    );
  }
  txn.insert("Logical_Switch", {
    name: `sw${s}`,
    ports,
    external_ids: { "neutron:network_name": network, "neutron:revision_number": "2" },
    other_config: { mcast_snoop: "true", mcast_flood_unregistered: "false" },
  });
}

type OursConfig =
  | "one transaction"
  | "per-switch, all pipelined"
  | "per-switch, 4 in flight"
  | "per-switch, sequential";
const OURS_CONFIGS: readonly OursConfig[] = [
  "one transaction",
  "per-switch, all pipelined",
  "per-switch, 4 in flight",
  "per-switch, sequential",
];

/**
 * Writes the data set with the typed API on an open client. Timed from the
 * first insert() to the last commit resolved (connect and schema excluded).
 */
async function oursWrite(
  client: NbClient,
  config: OursConfig,
  switches: number,
  perSwitch: number,
): Promise<number> {
  const t0 = performance.now();
  if (config === "one transaction") {
    const txn = client.transaction();
    for (let s = 0; s < switches; s++) addSwitch(txn, s, perSwitch);
    await txn.commit();
  } else if (config === "per-switch, all pipelined") {
    const commits = [];
    for (let s = 0; s < switches; s++) {
      const txn = client.transaction();
      addSwitch(txn, s, perSwitch);
      commits.push(txn.commit());
    }
    await Promise.all(commits);
  } else if (config === "per-switch, 4 in flight") {
    let next = 0;
    const worker = async () => {
      while (next < switches) {
        const txn = client.transaction();
        addSwitch(txn, next++, perSwitch);
        await txn.commit();
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  } else {
    for (let s = 0; s < switches; s++) {
      const txn = client.transaction();
      addSwitch(txn, s, perSwitch);
      await txn.commit();
    }
  }
  return (performance.now() - t0) / 1000;
}

/* ---- ovn-nbctl -------------------------------------------------------------------------- */

/** `ls-add swS -- lsp-add swS pN -- lsp-set-addresses pN "…" -- …` for one switch. */
function nbctlSwitchArgs(s: number, perSwitch: number): string[] {
  const args = ["ls-add", `sw${s}`];
  for (let p = s * perSwitch; p < (s + 1) * perSwitch; p++) {
    args.push("--", "lsp-add", `sw${s}`, `p${p}`, "--", "lsp-set-addresses", `p${p}`, address(p));
  }
  const bytes = args.reduce((n, a) => n + Buffer.byteLength(a) + 1, 0);
  if (bytes > ARGV_LIMIT)
    throw new Error(`ovn-nbctl argv of ${bytes} bytes is over the ${ARGV_LIMIT}-byte limit`);
  return args;
}

/** One ovn-nbctl invocation per switch, each a chain of commands (one transaction). */
async function nbctlWrite(server: BenchServer): Promise<number> {
  const t0 = performance.now();
  for (let s = 0; s < WRITE_SWITCHES; s++) {
    await run("ovn-nbctl", [`--db=${server.remote}`, ...nbctlSwitchArgs(s, PORTS_PER_SWITCH)], {
      env: { OVS_RUNDIR: server.dir, OVN_RUNDIR: server.dir },
    });
  }
  return (performance.now() - t0) / 1000;
}

/** ovn-nbctl's daemon mode: one daemon, then one command chain per switch sent to it. */
async function nbctlDaemonWrite(server: BenchServer): Promise<number> {
  const dir = await makeTempDir("obd");
  const pidFile = join(dir, "nbctl.pid");
  const env = { OVS_RUNDIR: dir, OVN_RUNDIR: dir, OVS_LOGDIR: dir, OVN_LOGDIR: dir };
  let pid: number | undefined;
  try {
    const started = await run(
      "ovn-nbctl",
      [
        `--db=${server.remote}`,
        "--detach",
        "--no-chdir",
        `--pidfile=${pidFile}`,
        `--log-file=${join(dir, "nbctl.log")}`,
      ],
      { env },
    );
    pid = Number(readFileSync(pidFile, "utf8").trim());
    trackPid(pid);
    const control = started.stdout.trim();
    if (!control) throw new Error("ovn-nbctl --detach printed no control socket");
    const t0 = performance.now();
    for (let s = 0; s < WRITE_SWITCHES; s++) {
      await run("ovn-nbctl", nbctlSwitchArgs(s, PORTS_PER_SWITCH), {
        env: { ...env, OVN_NB_DAEMON: control },
      });
    }
    return (performance.now() - t0) / 1000;
  } finally {
    if (pid !== undefined) await stopPid(pid);
    await removeDir(dir);
  }
}

/* ---- part 1: bulk write ----------------------------------------------------------------- */

/** Runs `measure` against a fresh server, checks the result, stops the server. */
async function onFreshServer(
  mode: ServerMode,
  measure: (server: BenchServer) => Promise<number>,
): Promise<number> {
  const server = await startServer(mode);
  try {
    const seconds = await measure(server);
    await verifyWrite(server, WRITE_SWITCHES, PORTS_PER_SWITCH);
    return seconds;
  } finally {
    await server.stop();
  }
}

async function oursOnFresh(mode: ServerMode, config: OursConfig): Promise<number> {
  return onFreshServer(mode, async (server) => {
    const client = await connectOurs(server);
    try {
      return await oursWrite(client, config, WRITE_SWITCHES, PORTS_PER_SWITCH);
    } finally {
      client.close();
    }
  });
}

interface WriteFigures {
  server: ServerMode;
  floor_ports_per_s: number;
  floor_pipelined_ports_per_s: number;
  ours_ports_per_s: number;
  ours_best_config: string;
  ours_configs_ports_per_s: Record<string, number>;
  ours_first_run_ports_per_s: number;
  nbctl_ports_per_s?: number;
  nbctl_daemon_ports_per_s?: number;
  write_ratio_to_floor: number;
  /** Against the faster of the two hand-made shapes (one message, or one per switch pipelined). */
  write_ratio_to_best_floor: number;
}

const rate = (seconds: number) => WRITE_PORTS / seconds;

async function benchWrite(mode: ServerMode, withNbctl: boolean): Promise<WriteFigures> {
  log(
    `\n== bulk write: ${fmtInt(WRITE_PORTS)} ports on ${WRITE_SWITCHES} switches, ${mode} server ==`,
  );
  // A first, cold run of our client (JIT not warmed), reported separately.
  const firstRun = await oursOnFresh(mode, "per-switch, all pipelined");
  const floor: number[] = [];
  const floorPipelined: number[] = [];
  const ours = new Map<OursConfig, number[]>(OURS_CONFIGS.map((c) => [c, []]));
  // Interleaved so that drift on the machine hits every competitor alike.
  for (let rep = 0; rep < FAST_REPS; rep++) {
    floor.push(
      await onFreshServer(mode, (s) =>
        floorWrite(s.socketPath, WRITE_SWITCHES, PORTS_PER_SWITCH).then((r) => r.seconds),
      ),
    );
    floorPipelined.push(
      await onFreshServer(mode, (s) =>
        floorWritePipelined(s.socketPath, WRITE_SWITCHES, PORTS_PER_SWITCH).then((r) => r.seconds),
      ),
    );
    for (const config of OURS_CONFIGS) {
      if (config === "per-switch, sequential" && rep >= 3) continue;
      ours.get(config)!.push(await oursOnFresh(mode, config));
    }
  }
  const configs: Record<string, number> = {};
  let best: OursConfig = OURS_CONFIGS[0]!;
  for (const config of OURS_CONFIGS) {
    configs[config] = sig(rate(median(ours.get(config)!)));
    if (configs[config] > configs[best]!) best = config;
  }
  const figures: WriteFigures = {
    server: mode,
    floor_ports_per_s: sig(rate(median(floor))),
    floor_pipelined_ports_per_s: sig(rate(median(floorPipelined))),
    ours_ports_per_s: configs[best]!,
    ours_best_config: best,
    ours_configs_ports_per_s: configs,
    ours_first_run_ports_per_s: sig(rate(firstRun)),
    write_ratio_to_floor: sig(configs[best]! / rate(median(floor)), 3),
    write_ratio_to_best_floor: sig(
      configs[best]! / Math.max(rate(median(floor)), rate(median(floorPipelined))),
      3,
    ),
  };
  log(
    `floor (one hand-made transact)         ${fmtInt(figures.floor_ports_per_s)} ports/s  (runs: ${floor.map((s) => (s * 1000).toFixed(0)).join(", ")} ms)`,
  );
  log(
    `floor (hand-made, per switch, pipelined) ${fmtInt(figures.floor_pipelined_ports_per_s)} ports/s  (runs: ${floorPipelined.map((s) => (s * 1000).toFixed(0)).join(", ")} ms)`,
  );
  for (const config of OURS_CONFIGS) {
    const runs = ours
      .get(config)!
      .map((s) => (s * 1000).toFixed(0))
      .join(", ");
    log(`ours: ${config.padEnd(28)} ${fmtInt(configs[config]!)} ports/s  (runs: ${runs} ms)`);
  }
  log(
    `ours: first (cold) run, all pipelined   ${fmtInt(figures.ours_first_run_ports_per_s)} ports/s`,
  );
  if (withNbctl) {
    const nbctl = await onFreshServer(mode, nbctlWrite);
    figures.nbctl_ports_per_s = sig(rate(nbctl));
    log(`ovn-nbctl, one chained call per switch ${fmtInt(figures.nbctl_ports_per_s)} ports/s`);
    const daemon = await onFreshServer(mode, nbctlDaemonWrite);
    figures.nbctl_daemon_ports_per_s = sig(rate(daemon));
    log(
      `ovn-nbctl daemon, one chain per switch  ${fmtInt(figures.nbctl_daemon_ports_per_s)} ports/s`,
    );
  }
  log(
    `write_ratio_to_floor (${mode}) = ${figures.write_ratio_to_floor} (ours best: ${best}); ` +
      `against the faster hand-made shape: ${figures.write_ratio_to_best_floor}`,
  );
  return figures;
}

/* ---- part 2 and 3: initial sync and memory ------------------------------------------------- */

async function syncChild(
  competitor: "ours" | "floor",
  columns: "all" | "narrow",
  server: BenchServer,
): Promise<SyncResult> {
  const result = await run(
    process.execPath,
    ["--expose-gc", "--import", "tsx", SYNC_CHILD, competitor, columns, server.socketPath],
    { cwd: ROOT, timeoutMs: 120_000 },
  );
  const last = result.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as SyncResult;
}

async function dumpSeconds(server: BenchServer): Promise<number> {
  const t0 = performance.now();
  await run("sh", ["-c", `exec ovsdb-client dump '${server.remote}' OVN_Northbound > /dev/null`], {
    timeoutMs: 120_000,
  });
  return (performance.now() - t0) / 1000;
}

interface SyncFigures {
  rows: number;
  build_ports_per_s: number;
  reply_bytes_all: number;
  reply_bytes_narrow: number;
  ours_all_s: number;
  ours_narrow_s: number;
  floor_all_s: number;
  floor_narrow_s: number;
  /** Time from the reply's last byte to done: the client-side work alone. */
  ours_all_after_last_byte_s: number;
  ours_narrow_after_last_byte_s: number;
  floor_all_after_last_byte_s: number;
  floor_narrow_after_last_byte_s: number;
  dump_s: number;
  sync_ratio_to_floor: number;
  sync_narrow_ratio_to_floor: number;
  sync_ratio_to_dump: number;
  bytes_per_row_all: number;
  bytes_per_row_narrow: number;
  floor_bytes_per_row_all: number;
  peak_rss_all_bytes: number;
  peak_rss_narrow_bytes: number;
  floor_peak_rss_all_bytes: number;
  rss_before_sync_bytes: number;
}

async function benchSync(): Promise<SyncFigures> {
  const ports = SYNC_SWITCHES * PORTS_PER_SWITCH;
  log(
    `\n== initial sync: ${fmtInt(SYNC_SWITCHES)} switches × ${PORTS_PER_SWITCH} ports, clustered server ==`,
  );
  const server = await startServer("clustered");
  try {
    // Build the database with our client: 10 switches (1,000 ports) per transaction, all in flight.
    const client = await connectOurs(server);
    let buildSeconds: number;
    try {
      const t0 = performance.now();
      const commits = [];
      for (let first = 0; first < SYNC_SWITCHES; first += 10) {
        const txn = client.transaction();
        for (let s = first; s < first + 10; s++) addRichSwitch(txn, s, PORTS_PER_SWITCH);
        commits.push(txn.commit());
      }
      await Promise.all(commits);
      buildSeconds = (performance.now() - t0) / 1000;
    } finally {
      client.close();
    }
    log(
      `built ${fmtInt(ports)} ports with our client in ${buildSeconds.toFixed(2)} s (${fmtInt(ports / buildSeconds)} ports/s, 1,000-port transactions pipelined)`,
    );

    const runs: Record<string, SyncResult[]> = {
      "floor all": [],
      "ours all": [],
      "floor narrow": [],
      "ours narrow": [],
    };
    const keys = Object.keys(runs);
    const dumps: number[] = [];
    // One unmeasured run first: the first monitor after the bulk load is slower on the server.
    await syncChild("floor", "all", server);
    for (let rep = 0; rep < SYNC_REPS; rep++) {
      // Rotate the order so that no competitor always runs right after another.
      for (let k = 0; k < keys.length; k++) {
        const key = keys[(k + rep) % keys.length]!;
        const [competitor, columns] = key.split(" ") as ["ours" | "floor", "all" | "narrow"];
        const r = await syncChild(competitor, columns, server);
        if (r.rows !== ports + SYNC_SWITCHES)
          throw new Error(`${key} synced ${r.rows} rows, expected ${ports + SYNC_SWITCHES}`);
        runs[key]!.push(r);
      }
      if (rep < DUMP_REPS) dumps.push(await dumpSeconds(server));
    }
    const med = (key: string, f: (r: SyncResult) => number) => median(runs[key]!.map(f));
    const secs = (key: string) => med(key, (r) => r.seconds);
    const show = (key: string) => runs[key]!.map((r) => r.seconds.toFixed(3)).join(", ");
    const figures: SyncFigures = {
      rows: ports + SYNC_SWITCHES,
      build_ports_per_s: sig(ports / buildSeconds),
      reply_bytes_all: runs["floor all"]![0]!.replyBytes ?? 0,
      reply_bytes_narrow: runs["floor narrow"]![0]!.replyBytes ?? 0,
      ours_all_s: sig(secs("ours all")),
      ours_narrow_s: sig(secs("ours narrow")),
      floor_all_s: sig(secs("floor all")),
      floor_narrow_s: sig(secs("floor narrow")),
      ours_all_after_last_byte_s: sig(
        med("ours all", (r) => r.afterLastByteSeconds),
        3,
      ),
      ours_narrow_after_last_byte_s: sig(
        med("ours narrow", (r) => r.afterLastByteSeconds),
        3,
      ),
      floor_all_after_last_byte_s: sig(
        med("floor all", (r) => r.afterLastByteSeconds),
        3,
      ),
      floor_narrow_after_last_byte_s: sig(
        med("floor narrow", (r) => r.afterLastByteSeconds),
        3,
      ),
      dump_s: sig(median(dumps)),
      sync_ratio_to_floor: sig(secs("ours all") / secs("floor all"), 3),
      sync_narrow_ratio_to_floor: sig(secs("ours narrow") / secs("floor narrow"), 3),
      sync_ratio_to_dump: sig(secs("ours all") / median(dumps), 3),
      bytes_per_row_all: Math.round(med("ours all", (r) => r.bytesPerRow)),
      bytes_per_row_narrow: Math.round(med("ours narrow", (r) => r.bytesPerRow)),
      floor_bytes_per_row_all: Math.round(med("floor all", (r) => r.bytesPerRow)),
      peak_rss_all_bytes: Math.round(med("ours all", (r) => r.peakRssBytes)),
      peak_rss_narrow_bytes: Math.round(med("ours narrow", (r) => r.peakRssBytes)),
      floor_peak_rss_all_bytes: Math.round(med("floor all", (r) => r.peakRssBytes)),
      rss_before_sync_bytes: Math.round(med("ours all", (r) => r.rssBeforeBytes)),
    };
    log(
      `reply size: all columns ${(figures.reply_bytes_all / 1e6).toFixed(1)} MB, narrow ${(figures.reply_bytes_narrow / 1e6).toFixed(1)} MB`,
    );
    log(
      `floor, all columns (raw monitor_cond)  ${figures.floor_all_s} s  (runs: ${show("floor all")})`,
    );
    log(
      `ours, all columns (Replica.start)      ${figures.ours_all_s} s  (runs: ${show("ours all")})`,
    );
    log(
      `floor, narrow                          ${figures.floor_narrow_s} s  (runs: ${show("floor narrow")})`,
    );
    log(
      `ours, narrow                           ${figures.ours_narrow_s} s  (runs: ${show("ours narrow")})`,
    );
    log(
      `ovsdb-client dump                      ${figures.dump_s} s  (runs: ${dumps.map((d) => d.toFixed(3)).join(", ")})`,
    );
    log(
      `after the last byte (client work alone): ours ${figures.ours_all_after_last_byte_s} s all, ` +
        `${figures.ours_narrow_after_last_byte_s} s narrow; floor ${figures.floor_all_after_last_byte_s} s all, ` +
        `${figures.floor_narrow_after_last_byte_s} s narrow`,
    );
    log(
      `sync_ratio_to_floor = ${figures.sync_ratio_to_floor}, sync_narrow_ratio_to_floor = ${figures.sync_narrow_ratio_to_floor}`,
    );
    log(
      `memory: ${figures.bytes_per_row_all} B/row all columns, ${figures.bytes_per_row_narrow} B/row narrow ` +
        `(raw parsed reply: ${figures.floor_bytes_per_row_all} B/row); peak RSS ${(figures.peak_rss_all_bytes / 2 ** 20).toFixed(0)} MiB ` +
        `all, ${(figures.peak_rss_narrow_bytes / 2 ** 20).toFixed(0)} MiB narrow (floor ${(figures.floor_peak_rss_all_bytes / 2 ** 20).toFixed(0)} MiB; ` +
        `${(figures.rss_before_sync_bytes / 2 ** 20).toFixed(0)} MiB before connecting)`,
    );
    return figures;
  } finally {
    await server.stop();
  }
}

/* ---- main ------------------------------------------------------------------------------- */

async function versions(): Promise<{ ovs: string; ovn: string }> {
  const ovs = (await run("ovsdb-server", ["--version"])).stdout.split("\n")[0]!.trim();
  const ovn = (await run("ovn-nbctl", ["--version"])).stdout.split("\n")[0]!.trim();
  return { ovs, ovn };
}

async function main(): Promise<void> {
  const started = performance.now();
  const v = await versions();
  const machine = {
    nproc: os.availableParallelism(),
    mem_total_mib: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    ovsdb_server: v.ovs,
    ovn_nbctl: v.ovn,
    /** 1-minute load average before the run; anything well above 0 means a busy machine. */
    loadavg_1m_start: sig(os.loadavg()[0]!, 2),
  };
  if (machine.loadavg_1m_start > 0.5) {
    log(
      `warning: load average ${machine.loadavg_1m_start} before the run; other work will skew the figures`,
    );
  }
  log(
    `machine: ${machine.nproc} CPUs, ${fmtInt(machine.mem_total_mib)} MiB, Node ${machine.node}, ${v.ovs}, ${v.ovn}`,
  );

  const clustered = await benchWrite("clustered", true);
  const standalone = await benchWrite("standalone", true);
  const sync = await benchSync();

  const targets = {
    write_ge_0_8_floor: clustered.write_ratio_to_floor >= 0.8,
    sync_all_within_1_2_floor: sync.sync_ratio_to_floor <= 1.2,
    sync_narrow_within_1_2_floor: sync.sync_narrow_ratio_to_floor <= 1.2,
    sync_faster_than_dump: sync.ours_all_s < sync.dump_s,
  };
  log(
    `\ntargets: ${Object.entries(targets)
      .map(([k, ok]) => `${k}: ${ok ? "met" : "NOT met"}`)
      .join("; ")}`,
  );
  const total = (performance.now() - started) / 1000;
  log(`total ${total.toFixed(1)} s`);
  const out = {
    machine,
    write: { ports: WRITE_PORTS, switches: WRITE_SWITCHES, clustered, standalone },
    write_ratio_to_floor: clustered.write_ratio_to_floor,
    write_ratio_to_floor_standalone: standalone.write_ratio_to_floor,
    sync: { server: "clustered", ...sync },
    sync_ratio_to_floor: sync.sync_ratio_to_floor,
    sync_narrow_ratio_to_floor: sync.sync_narrow_ratio_to_floor,
    targets,
    total_seconds: sig(total, 3),
  };
  log(JSON.stringify(out));
}

main().catch((e: unknown) => {
  process.stderr.write(
    `bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exitCode = 1;
});
