/**
 * OVSDB remote strings, as OVS tools write them: `unix:PATH`,
 * `tcp:IP[:PORT]`, `ssl:IP[:PORT]` (IPv6 in brackets, port 6640 by default),
 * and comma-separated lists of them for a cluster.
 */
import { isIP } from "node:net";
import { OvsdbError } from "../errors.js";

export type Remote =
  { kind: "unix"; path: string } | { kind: "tcp" | "ssl"; host: string; port: number };

export const DEFAULT_OVSDB_PORT = 6640;

function bad(text: string, why: string): never {
  throw new OvsdbError(
    "OVSDB_BAD_REMOTE",
    `cannot use remote "${text}": ${why} (expected unix:PATH, tcp:IP:PORT or ssl:IP:PORT)`,
  );
}

export function parseRemote(text: string): Remote {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(":");
  if (colon < 0) bad(text, "no transport prefix");
  const kind = trimmed.slice(0, colon);
  const rest = trimmed.slice(colon + 1);
  if (kind === "unix") {
    if (rest === "") bad(text, "empty socket path");
    return { kind, path: rest };
  }
  if (kind !== "tcp" && kind !== "ssl") bad(text, `unknown transport "${kind}"`);
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith("[")) {
    const close = rest.indexOf("]");
    if (close < 0) bad(text, "unclosed '[' around an IPv6 address");
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) bad(text, "junk after the IPv6 address");
    portText = after === "" ? undefined : after.slice(1);
  } else {
    const parts = rest.split(":");
    if (parts.length > 2) bad(text, "put an IPv6 address in brackets, e.g. tcp:[::1]:6641");
    host = parts[0]!;
    portText = parts[1];
  }
  if (isIP(host) === 0) bad(text, `"${host}" is not an IP address`);
  const port = portText === undefined || portText === "" ? DEFAULT_OVSDB_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad(text, `bad port "${portText}"`);
  return { kind, host, port };
}

/** Parses a comma-separated list (or an array of them). */
export function parseRemotes(text: string | readonly string[]): Remote[] {
  const items = (typeof text === "string" ? [text] : text)
    .flatMap((t) => t.split(","))
    .map((t) => t.trim())
    .filter((t) => t !== "");
  if (items.length === 0) bad(String(text), "no remote given");
  return items.map(parseRemote);
}

export function formatRemote(remote: Remote): string {
  if (remote.kind === "unix") return `unix:${remote.path}`;
  const host = remote.host.includes(":") ? `[${remote.host}]` : remote.host;
  return `${remote.kind}:${host}:${remote.port}`;
}
