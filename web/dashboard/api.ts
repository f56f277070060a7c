/**
 * The page's side of the dashboard's HTTP API: login, logout, and the live
 * stream of the cluster view and the topology. The shapes are the server's
 * (src/dashboard/), imported as types only: nothing of the daemon is bundled.
 */
import type { ClusterView, Topology } from "../../src/dashboard/view-types.js";

export type * from "../../src/dashboard/view-types.js";

export interface SessionInfo {
  user: string;
  roles: string[];
}

async function errorOf(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: string };
    return body.error ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

export async function currentSession(): Promise<SessionInfo | undefined> {
  const res = await fetch("/api/session", { credentials: "same-origin" });
  return res.ok ? ((await res.json()) as SessionInfo) : undefined;
}

export async function login(user: string, password: string): Promise<SessionInfo> {
  const res = await fetch("/api/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user, password }),
  });
  if (!res.ok) throw new Error(await errorOf(res));
  return (await res.json()) as SessionInfo;
}

export async function logout(): Promise<void> {
  await fetch("/api/logout", { method: "POST", credentials: "same-origin" });
}

export interface LiveHandlers {
  cluster(view: ClusterView): void;
  topology(topology: Topology): void;
  /** The session ended (logout elsewhere, expiry, role taken away). */
  ended(): void;
  connected(up: boolean): void;
}

/** Follows the daemon's event stream; the browser reconnects by itself when it drops. */
export function follow(handlers: LiveHandlers): () => void {
  const events = new EventSource("/api/events");
  events.addEventListener("cluster", (e) =>
    handlers.cluster(JSON.parse(e.data as string) as ClusterView),
  );
  events.addEventListener("topology", (e) =>
    handlers.topology(JSON.parse(e.data as string) as Topology),
  );
  events.addEventListener("logout", () => {
    events.close();
    handlers.ended();
  });
  events.onopen = () => handlers.connected(true);
  events.onerror = () => {
    handlers.connected(false);
    // A stream refused (401) is not retried by the browser: the session is gone.
    void currentSession().then((s) => {
      if (!s) {
        events.close();
        handlers.ended();
      }
    });
  };
  return () => events.close();
}
