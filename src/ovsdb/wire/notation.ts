/**
 * RFC 7047 §5.1 notation on the wire: atoms, `["uuid", …]`,
 * `["named-uuid", …]`, `["set", […]]` and `["map", [[k, v], …]]`, plus the
 * small helpers that recognise them. Pure; no schema knowledge (that is in
 * ../schema/codec.ts).
 */

export type WireUuid = ["uuid", string];
export type WireNamedUuid = ["named-uuid", string];
export type WireAtom = string | number | boolean | WireUuid | WireNamedUuid;
export type WireSet = ["set", WireAtom[]];
export type WireMap = ["map", [WireAtom, WireAtom][]];
export type WireValue = WireAtom | WireSet | WireMap;
export type WireRow = Record<string, WireValue>;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAMED_UUID_RE = /^[_a-zA-Z][_a-zA-Z0-9]*$/;

export function isUuid(value: string): boolean {
  return value.length === 36 && UUID_RE.test(value);
}

export function isNamedUuid(value: string): boolean {
  return NAMED_UUID_RE.test(value) && !isUuid(value);
}

export function wireUuid(uuid: string): WireUuid {
  return ["uuid", uuid];
}

export function wireNamedUuid(name: string): WireNamedUuid {
  return ["named-uuid", name];
}

export function wireSet(atoms: WireAtom[]): WireSet {
  return ["set", atoms];
}

export function wireMap(pairs: [WireAtom, WireAtom][]): WireMap {
  return ["map", pairs];
}

/** The nil UUID OVSDB uses for "no transaction yet" in monitor_cond_since. */
export const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
