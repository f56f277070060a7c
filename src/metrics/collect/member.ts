/**
 * Our own metrics (`microovn_*`): the cluster's members as this member sees
 * them, its processes as the supervisor keeps them, certificate expiry,
 * schema versions, and how long its bootstrap or join took. All from the
 * daemon's memory and files: nothing here asks another program.
 */
import { memberStatus } from "../../cluster/members.js";
import { readShippedStateSchema } from "../../cluster/state-schema.js";
import { certificateServices } from "../../lifecycle/certificates.js";
import type { ClusterWatcher } from "../../membership/watcher.js";
import { activeSchemaVersion, expectedSchemaVersion } from "../../ovn/schemas.js";
import type { MemberRuntime } from "../../runtime/member-runtime.js";
import { readJoinDuration } from "../join-duration.js";
import type { MetricSet } from "../metric-set.js";

/** Certificate expiry (service → Unix seconds); certificates change with a renewal or reissue. */
type Expiry = Map<string, number>;

export async function collectMember(
  set: MetricSet,
  rt: MemberRuntime,
  watcher: ClusterWatcher,
  slow: SlowReads,
): Promise<void> {
  const config = rt.config;
  if (!config) return;
  const now = Date.now();
  for (const row of watcher.knownMembers() ?? []) {
    set.gauge(
      "microovn_member_up",
      "1 when the member's heartbeat is recent (ONLINE), 0 when it is OFFLINE, as this member sees it",
      memberStatus(row, now) === "ONLINE" ? 1 : 0,
      { member: row.name },
    );
  }
  for (const p of rt.supervisor.status()) {
    set.gauge(
      "microovn_process_up",
      "1 when the supervised process runs",
      p.phase === "running" ? 1 : 0,
      {
        process: p.name,
      },
    );
    set.counter(
      "microovn_process_restarts_total",
      "Restarts of the supervised process after it died, since this daemon started",
      p.restarts,
      { process: p.name },
    );
  }
  for (const [service, seconds] of await slow.expiry.read()) {
    set.gauge(
      "microovn_certificate_expiry_timestamp_seconds",
      "When the certificate expires (Unix time)",
      seconds,
      { service },
    );
  }
  const joined = await readJoinDuration(rt.state);
  if (joined) {
    set.gauge(
      "microovn_join_duration_seconds",
      "How long this member's own bootstrap or join took (how = bootstrap|join)",
      joined.seconds,
      { how: joined.how },
    );
  }
  for (const [db, versions] of Object.entries(await slow.schemas.read())) {
    set.info(
      "microovn_schema_version_info",
      "1, labelled with the schema version this member expects and the one running",
      {
        db_name: db,
        expected: versions.expected ?? "",
        active: versions.active ?? "",
      },
    );
  }
}

export type SchemaVersions = Record<string, { expected?: string; active?: string }>;

/** A value read again only once it is `maxAgeMs` old. */
export class Cached<T> {
  private value: T | undefined;
  private readAt = 0;

  constructor(
    private readonly reader: () => Promise<T>,
    private readonly maxAgeMs = 60_000,
  ) {}

  async read(): Promise<T> {
    if (this.value === undefined || Date.now() - this.readAt >= this.maxAgeMs) {
      this.value = await this.reader();
      this.readAt = Date.now();
    }
    return this.value;
  }
}

/**
 * What changes only with an upgrade or a certificate change, read once a
 * minute rather than at every refresh: the active NB/SB schema versions
 * take a connection each, the certificates a parse each.
 */
export interface SlowReads {
  schemas: Cached<SchemaVersions>;
  expiry: Cached<Expiry>;
}

export function slowReads(rt: MemberRuntime, watcher: ClusterWatcher): SlowReads {
  return {
    schemas: new Cached(() => readSchemaVersions(rt, watcher)),
    expiry: new Cached(async () => {
      const services = certificateServices(rt.config?.services ?? []);
      const expiry: Expiry = new Map();
      for (const c of await rt.pki.status(services)) {
        if (c.cert.notAfter) expiry.set(c.name, c.cert.notAfter.getTime() / 1000);
      }
      return expiry;
    }),
  };
}

async function readSchemaVersions(
  rt: MemberRuntime,
  watcher: ClusterWatcher,
): Promise<SchemaVersions> {
  const versions: SchemaVersions = {};
  const ignore = () => undefined;
  const state = await readShippedStateSchema().catch(ignore);
  versions.MicroOVN = {
    ...(state ? { expected: state.version } : {}),
    ...(watcher.activeSchemaVersion ? { active: watcher.activeSchemaVersion } : {}),
  };
  const central = rt.config?.services.includes("central") ? rt.central() : undefined;
  for (const db of ["nb", "sb"] as const) {
    const [expected, active] = await Promise.all([
      expectedSchemaVersion(db).catch(ignore),
      central ? activeSchemaVersion(central.unixSocket(db), db).catch(ignore) : undefined,
    ]);
    versions[db === "nb" ? "OVN_Northbound" : "OVN_Southbound"] = {
      ...(expected ? { expected } : {}),
      ...(active ? { active } : {}),
    };
  }
  return versions;
}
