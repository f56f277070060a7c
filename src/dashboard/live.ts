/**
 * Live updates to the browsers, as server-sent events: each connected page
 * gets the latest cluster view and topology at once, then each again when
 * it changes (the same JSON is never sent twice). A comment line every 20 s
 * keeps idle connections from being cut by anything in between.
 */
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";

export type LiveEvent = "cluster" | "topology" | "logout";

const KEEPALIVE_MS = 20_000;

interface Listener {
  res: ServerResponse;
  sessionId: string;
}

export class LiveHub extends EventEmitter<{ watchers: [count: number] }> {
  private readonly pages = new Set<Listener>();
  private readonly latest = new Map<LiveEvent, string>();
  private keepalive: NodeJS.Timeout | undefined;

  get watchers(): number {
    return this.pages.size;
  }

  /** Takes over a response as an event stream until the browser goes away. */
  add(res: ServerResponse, sessionId: string): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-store",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    const listener = { res, sessionId };
    this.pages.add(listener);
    for (const [event, data] of this.latest) write(res, event, data);
    res.on("close", () => {
      this.pages.delete(listener);
      this.changed();
    });
    this.changed();
  }

  /** Sends `data` to every page, unless it is what they have already. */
  publish(event: LiveEvent, value: unknown): void {
    const data = JSON.stringify(value);
    if (this.latest.get(event) === data) return;
    this.latest.set(event, data);
    for (const l of this.pages) write(l.res, event, data);
  }

  /** The sessions that have a stream open. */
  sessionIds(): Set<string> {
    return new Set([...this.pages].map((l) => l.sessionId));
  }

  /** Closes the streams of a session that ended (logout, expiry). */
  endSession(sessionId: string): void {
    for (const l of [...this.pages]) {
      if (l.sessionId !== sessionId) continue;
      write(l.res, "logout", "{}");
      l.res.end();
    }
  }

  /** Closes every stream (the listener stops). */
  closeAll(): void {
    for (const l of [...this.pages]) l.res.end();
    this.latest.clear();
  }

  private changed(): void {
    if (this.pages.size > 0 && !this.keepalive) {
      this.keepalive = setInterval(() => {
        for (const l of this.pages) l.res.write(": keepalive\n\n");
      }, KEEPALIVE_MS);
    } else if (this.pages.size === 0) {
      clearInterval(this.keepalive);
      this.keepalive = undefined;
      // A page that comes back later must get the state as it is then.
      this.latest.clear();
    }
    this.emit("watchers", this.pages.size);
  }
}

function write(res: ServerResponse, event: string, data: string): void {
  res.write(`event: ${event}\ndata: ${data}\n\n`);
}
