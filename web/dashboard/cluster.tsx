/** The cluster's panels: members, database servers, certificates, upgrade state. */
import type { ClusterView, DatabaseKey, MemberEntry } from "./api.js";

const DATABASES: { key: DatabaseKey; title: string }[] = [
  { key: "nb", title: "Northbound" },
  { key: "sb", title: "Southbound" },
  { key: "state", title: "Cluster state" },
];

const DAY_MS = 24 * 3600 * 1000;

function Status(props: { status: string }) {
  return (
    <span class={`badge status-${props.status.toLowerCase().replace(/ /g, "-")}`}>
      {props.status}
    </span>
  );
}

function Head(props: { columns: string[] }) {
  return (
    <thead>
      <tr>
        {props.columns.map((c) => (
          <th>{c}</th>
        ))}
      </tr>
    </thead>
  );
}

function Processes(props: { member: MemberEntry }) {
  const snapshot = props.member.snapshot;
  if (!snapshot)
    return <span class="muted">{props.member.unreachable ? "not answering" : "—"}</span>;
  return (
    <span class="processes">
      {snapshot.processes.map((p) => (
        <span
          class={`process phase-${p.phase}`}
          title={`${p.name}: ${p.phase}${p.pid ? `, pid ${p.pid}` : ""}${p.lastExit ? `; last exit ${p.lastExit}` : ""}`}
        >
          {p.name}
          {p.restarts > 0 && <sup>↻{p.restarts}</sup>}
        </span>
      ))}
    </span>
  );
}

function Members(props: { view: ClusterView }) {
  return (
    <section class="panel">
      <h2>Members</h2>
      <table id="members">
        <Head columns={["Name", "Address", "Role", "Status", "Services", "Processes (restarts)"]} />
        <tbody>
          {props.view.members.map((m) => (
            <tr data-member={m.name}>
              <td>
                {m.name}
                {m.name === props.view.self && <span class="muted"> (this one)</span>}
              </td>
              <td class="mono">{m.address}</td>
              <td>{m.role}</td>
              <td class="member-status">
                <Status status={m.status} />
              </td>
              <td>{m.services.join(", ")}</td>
              <td>
                <Processes member={m} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.view.problem && <p class="error">{props.view.problem}</p>}
    </section>
  );
}

/** The leader of a database as the members' servers see it, by member name. */
function leaderOf(view: ClusterView, key: DatabaseKey): string | undefined {
  return view.members.find((m) => m.snapshot?.raft[key]?.role === "leader")?.name;
}

function Databases(props: { view: ClusterView }) {
  const servers = props.view.members.filter((m) =>
    DATABASES.some((d) => m.snapshot?.raft[d.key] !== undefined || m.role === "voter"),
  );
  return (
    <section class="panel">
      <h2>Raft databases</h2>
      <table id="databases">
        <Head columns={["Database", "Leader", ...servers.map((m) => m.name)]} />
        <tbody>
          {DATABASES.map((d) => (
            <tr data-database={d.key}>
              <td>{d.title}</td>
              <td class="leader">
                {leaderOf(props.view, d.key) ?? <span class="error">none</span>}
              </td>
              {servers.map((m) => {
                const r = m.snapshot?.raft[d.key];
                return (
                  <td data-member={m.name}>
                    {r ? (
                      <span class={`badge role-${r.role}`} title={`term ${r.term}, ${r.status}`}>
                        {r.role}
                      </span>
                    ) : (
                      <span class="muted">—</span>
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Certificates(props: { view: ClusterView }) {
  const now = Date.now();
  return (
    <section class="panel">
      <h2>Certificates</h2>
      <table id="certificates">
        <Head columns={["Member", "Certificates (days left)"]} />
        <tbody>
          {props.view.members.map((m) => (
            <tr>
              <td>{m.name}</td>
              <td>
                {(m.snapshot?.certificates ?? []).map((c) => {
                  const days = c.notAfter
                    ? Math.floor((Date.parse(c.notAfter) - now) / DAY_MS)
                    : undefined;
                  const warn = c.problem !== undefined || (days !== undefined && days < 10);
                  return (
                    <span class={`cert ${warn ? "warn" : ""}`} title={c.notAfter ?? c.problem}>
                      {c.name} {c.problem ?? `${days}`}
                    </span>
                  );
                })}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Upgrade(props: { view: ClusterView }) {
  const u = props.view.upgrade;
  const versions = [...new Set(props.view.members.map((m) => m.versions.microovn ?? "?"))];
  return (
    <section class="panel">
      <h2>Upgrade</h2>
      <p id="upgrade">
        {u.pending.length === 0
          ? `No upgrade under way: every member runs microovn ${versions.join(", ")}`
          : u.pending.map((p) => `${p.name}: ${p.status}`).join("; ")}
        {u.stateSchema && <span class="muted"> · state schema {u.stateSchema}</span>}
      </p>
    </section>
  );
}

export function ClusterPanels(props: { view: ClusterView }) {
  return (
    <>
      <Members view={props.view} />
      <div class="columns">
        <Databases view={props.view} />
        <Certificates view={props.view} />
      </div>
      <Upgrade view={props.view} />
    </>
  );
}
