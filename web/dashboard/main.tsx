/**
 * The dashboard page: a login form, then the cluster (members, their
 * processes, the Raft role of each database server, certificates, upgrade
 * state) and a picture of the logical topology, both kept current by the
 * daemon's event stream without reloading.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { currentSession, follow, login, logout, type SessionInfo } from "./api.js";
import type { ClusterView, Topology } from "./api.js";
import { ClusterPanels } from "./cluster.js";
import { TopologyPicture } from "./topology.js";
import "./style.css";

function Field(props: {
  label: string;
  name: string;
  secret?: boolean;
  value: string;
  set: (value: string) => void;
  autocomplete: string;
}) {
  const input = {
    name: props.name,
    autocomplete: props.autocomplete,
    value: props.value,
    onInput: (e: { currentTarget: HTMLInputElement }) => props.set(e.currentTarget.value),
    required: true,
  };
  return (
    <label>
      {props.label}
      {props.secret ? <input type="password" {...input} /> : <input {...input} />}
    </label>
  );
}

function LoginForm(props: { onLogin: (s: SessionInfo) => void }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onLogin(await login(user, password));
    } catch (err) {
      setError((err as Error).message);
      setPassword("");
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login" onSubmit={(e) => void submit(e)}>
      <h1>MicroOVN</h1>
      <Field label="User" name="user" value={user} set={setUser} autocomplete="username" />
      <Field
        label="Password"
        name="password"
        secret
        value={password}
        set={setPassword}
        autocomplete="current-password"
      />
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Dashboard(props: { session: SessionInfo; onLogout: () => void }) {
  const [cluster, setCluster] = useState<ClusterView | undefined>();
  const [topology, setTopology] = useState<Topology | undefined>();
  const [live, setLive] = useState(false);
  useEffect(
    () =>
      follow({
        cluster: setCluster,
        topology: setTopology,
        ended: props.onLogout,
        connected: setLive,
      }),
    [],
  );
  const signOut = async () => {
    await logout();
    props.onLogout();
  };
  return (
    <div class="page">
      <header>
        <h1>MicroOVN</h1>
        <span class="where">{cluster ? `seen from ${cluster.self}` : "connecting…"}</span>
        <span class={`live ${live ? "on" : "off"}`}>{live ? "live" : "reconnecting"}</span>
        <span class="spacer" />
        <span class="user">{props.session.user}</span>
        <button id="logout" onClick={() => void signOut()}>
          Log out
        </button>
      </header>
      {cluster ? <ClusterPanels view={cluster} /> : <p class="muted">Reading the cluster…</p>}
      <section class="panel">
        <h2>Logical topology</h2>
        {topology ? (
          <TopologyPicture topology={topology} />
        ) : (
          <p class="muted">Reading NB and SB…</p>
        )}
      </section>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<SessionInfo | undefined | null>(null);
  useEffect(() => {
    void currentSession().then(setSession);
  }, []);
  if (session === null) return <p class="muted">…</p>;
  if (!session) return <LoginForm onLogin={setSession} />;
  return <Dashboard session={session} onLogout={() => setSession(undefined)} />;
}

render(<App />, document.getElementById("app")!);
