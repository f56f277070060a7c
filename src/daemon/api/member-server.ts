/**
 * The member API: HTTPS on port 6686 with mutual TLS, for members talking to
 * each other. A caller is let through only with a certificate that chains to
 * the cluster CA and names a current member, checked on every request, so a
 * removed member is refused at once, even on a connection it already holds.
 * Routes marked `public` (joining, where the caller has no certificate yet)
 * are open to anyone who completes the TLS handshake.
 */
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { MicroOvnError } from "../../errors.js";
import { MEMBER_API_PORT } from "../../cluster/member-client.js";
import { hexFingerprint } from "../../pki/pem.js";
import { MEMBER_API_HEADER, MEMBER_API_VERSION } from "../../version.js";
import { Router, type Guard, type Peer, type Route } from "./router.js";

export interface MemberTls {
  /** PEM contents. */
  key: string;
  cert: string;
  ca: string;
}

export interface MemberServerOptions {
  tls: MemberTls;
  /** Whether the certificate holder is a current member of the cluster. */
  isMember: (peer: Peer) => boolean | Promise<boolean>;
  /** Told of every call refused for want of a member's certificate (the security log). */
  onRefused?: (refusal: { code: string; reason: string; remote?: string; path: string }) => void;
}

export class MemberServer {
  private readonly server: Server;

  constructor(routes: readonly Route[], options: MemberServerOptions) {
    const guard: Guard = async (route, req) => {
      const socket = req.socket as TLSSocket;
      const cert = socket.getPeerCertificate();
      const presented = cert && Object.keys(cert).length > 0;
      if (!presented || !socket.authorized) {
        if (route.public) return undefined;
        throw new MicroOvnError(
          presented ? "MEMBER_CERTIFICATE_REFUSED" : "MEMBER_CERTIFICATE_REQUIRED",
          presented
            ? `the client certificate was refused (${String(socket.authorizationError)}): ` +
                "it was not issued by this cluster's CA"
            : "this call needs a client certificate issued by this cluster's CA",
        );
      }
      const subject = cert.subject as unknown as Record<string, string | string[]> | undefined;
      const cn = subject?.CN;
      const peer: Peer = {
        name: Array.isArray(cn) ? (cn[0] ?? "") : (cn ?? ""),
        fingerprint: hexFingerprint(cert.fingerprint256),
      };
      if (!(await options.isMember(peer))) {
        if (route.public) return undefined;
        throw new MicroOvnError(
          "NOT_A_MEMBER",
          `the certificate of "${peer.name}" does not belong to a current member of this cluster`,
        );
      }
      return peer;
    };
    const recorded: Guard = async (route, req) => {
      try {
        return await guard(route, req);
      } catch (e) {
        const { code, message } = e as MicroOvnError;
        const remote = req.socket.remoteAddress;
        const path = new URL(req.url ?? "/", "https://member").pathname;
        options.onRefused?.({ code, reason: message, path, ...(remote ? { remote } : {}) });
        throw e;
      }
    };
    const router = new Router(routes, recorded);
    this.server = createServer(
      {
        key: options.tls.key,
        cert: options.tls.cert,
        ca: options.tls.ca,
        requestCert: true,
        // Refused later, per route: joining members have no certificate yet.
        rejectUnauthorized: false,
        minVersion: "TLSv1.2",
      },
      (req, res) => {
        // Every answer says which member API this member serves, so that a
        // caller can tell an older or newer member from a broken one.
        res.setHeader(MEMBER_API_HEADER, MEMBER_API_VERSION);
        void router.dispatch(req, res);
      },
    );
  }

  listen(address: string, port = MEMBER_API_PORT): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, address, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  /** The port in use (useful when listening on port 0). */
  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address ? address.port : 0;
  }

  /** New certificate or CA, for the next handshakes. */
  setTls(tls: MemberTls): void {
    this.server.setSecureContext({ key: tls.key, cert: tls.cert, ca: tls.ca });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
