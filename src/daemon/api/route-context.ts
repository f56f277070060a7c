/**
 * What a route handler works with: the member's runtime, the live view of
 * the cluster, and the few things only the daemon can do (taking part in
 * the cluster or stopping to, readiness, shutting down). The daemon
 * implements it; the routes know this and not the daemon, so the daemon
 * can import them.
 */
import type { ClusterWatcher } from "../../membership/watcher.js";
import type { MemberRuntime } from "../../runtime/member-runtime.js";

/** The answer of GET /ready. */
export interface Readiness {
  ready: boolean;
  bootstrapped: boolean;
  pid: number;
  /** Why bringing the services back failed, if it did. */
  error?: string;
}

export interface RouteContext {
  readonly rt: MemberRuntime;
  readonly watcher: ClusterWatcher;
  readiness(): Readiness;
  /** Follows the state database and serves the member API (after bootstrap, join, recovery). */
  startMembership(): Promise<void>;
  /** Stops both (after leaving the cluster). */
  stopMembership(): Promise<void>;
  /** Stops every OVN process of this member (the data stays). */
  stopServices(): Promise<void>;
  /** Ends the daemon; OVN processes still running are left to the next daemon. */
  exit(code: number): Promise<never>;
  /** The metrics listener: why it is not up when it should be (`status` says so). */
  readonly metrics?: { readonly problem: string | undefined };
}
