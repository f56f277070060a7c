/**
 * Calls to other members' member API (HTTPS, port 6686). Members call each
 * other with their API certificate and check that the other side's
 * certificate chains to the cluster CA. A joining member has no certificate
 * yet: it pins the fingerprint from its token instead, and checks it right
 * after the handshake, before a byte of the request (with its secret) is
 * sent.
 */
import { readFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect, type TLSSocket } from "node:tls";
import { MicroOvnError } from "../errors.js";
import type { PkiStore } from "../pki/store.js";
import { hexFingerprint } from "../pki/pem.js";
import { voters, type ClusterLayout } from "./layout.js";

/** Where every member serves the member API (daemon/api/member-server.ts). */
export const MEMBER_API_PORT = 6686;

export type MemberAuth =
  /** Mutual TLS with this member's API certificate. */
  | { pki: PkiStore }
  /** No client certificate; the server's certificate must have this SHA-256 fingerprint. */
  | { fingerprint: string };

const DEFAULT_TIMEOUT_MS = 30_000;

/** "10.0.0.1" or "10.0.0.1:6686" or "[fd00::1]:6686" → host and port. */
export function splitHostPort(target: string): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(target);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2] ?? MEMBER_API_PORT) };
  const parts = target.split(":");
  if (parts.length === 2) return { host: parts[0]!, port: Number(parts[1]) };
  return { host: target, port: MEMBER_API_PORT };
}

/** "IP:PORT" as tokens carry it. */
export function joinHostPort(host: string, port = MEMBER_API_PORT): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function openTls(
  host: string,
  port: number,
  auth: MemberAuth,
  timeoutMs: number,
): Promise<TLSSocket> {
  const options =
    "pki" in auth
      ? {
          key: await readFile(auth.pki.keyPath("microovn")),
          cert: await readFile(auth.pki.certPath("microovn")),
          ca: await readFile(auth.pki.caCertPath),
          rejectUnauthorized: true,
        }
      : { rejectUnauthorized: false };
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      ...options,
      minVersion: "TLSv1.2",
      // Members are named by address; the certificate's chain is what matters.
      checkServerIdentity: () => undefined,
    });
    const timer = setTimeout(
      () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      if ("fingerprint" in auth) {
        const presented = hexFingerprint(socket.getPeerCertificate().fingerprint256 ?? "");
        if (presented !== auth.fingerprint) {
          socket.destroy();
          reject(
            new MicroOvnError(
              "FINGERPRINT_MISMATCH",
              `the member at ${joinHostPort(host, port)} presented a certificate with ` +
                `fingerprint ${presented}, but the token expects ${auth.fingerprint}: ` +
                "the token is not from the cluster at that address (or that member's " +
                "certificate was reissued since); ask for a new token. Nothing was sent",
            ),
          );
          return;
        }
      }
      resolve(socket);
    });
    socket.once("error", (e: Error) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** Sends one request to a member and returns its JSON answer, or throws the member's error. */
export async function callMember<T>(
  target: string,
  method: "GET" | "POST" | "DELETE",
  path: string,
  body: unknown,
  auth: MemberAuth,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const { host, port } = splitHostPort(target);
  const socket = await openTls(host, port, auth, Math.min(timeoutMs, 10_000));
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const response = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = httpRequest(
      {
        createConnection: () => socket,
        method,
        path: `/1.0${path}`,
        headers: {
          host: joinHostPort(host, port),
          ...(payload
            ? {
                "content-type": "application/json",
                "content-length": Buffer.byteLength(payload),
              }
            : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on("error", reject);
    req.end(payload);
  });
  let parsed: unknown;
  try {
    parsed = response.text ? JSON.parse(response.text) : {};
  } catch {
    throw new MicroOvnError("BAD_RESPONSE", `the member at ${target} answered: ${response.text}`);
  }
  const error = (parsed as { error?: { code: string; message: string } }).error;
  if (error) throw new MicroOvnError(error.code, error.message);
  if (response.status !== 200) {
    throw new MicroOvnError(
      "BAD_RESPONSE",
      `the member at ${target} answered HTTP ${response.status}`,
    );
  }
  return parsed as T;
}

/**
 * Sends one request to the voters other than `self`, in turn, until one
 * answers; an answer that is an error is final. `what` names the job for
 * the error when none can be reached.
 */
export async function callAnyVoter<T>(
  layout: ClusterLayout,
  self: string,
  path: string,
  body: unknown,
  pki: PkiStore,
  what: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T> {
  const failures: string[] = [];
  for (const voter of voters(layout).filter((v) => v.name !== self)) {
    try {
      return await callMember<T>(
        joinHostPort(voter.address),
        "POST",
        path,
        body,
        { pki },
        timeoutMs,
      );
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      failures.push(`${voter.name}: ${(e as Error).message}`);
    }
  }
  throw new MicroOvnError(
    "NO_VOTER",
    `no voter could ${what} (${failures.join("; ") || "no voters known"}); try again once a ` +
      "voter is back",
  );
}

/** Whether the error is about reaching the member (as opposed to its answer). */
export function isUnreachable(e: unknown): boolean {
  return !(e instanceof MicroOvnError);
}
