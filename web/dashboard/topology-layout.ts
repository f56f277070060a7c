/**
 * Lays the topology out with dagre: routers above the switches they
 * connect, each switch's ports below it (at most the few the server lists,
 * then one "+N ports" box), every port box naming its chassis. Returns
 * boxes and edge paths in SVG coordinates.
 */
import dagre from "@dagrejs/dagre";
import type { Topology } from "./api.js";

export type BoxKind = "router" | "switch" | "port" | "more";

export interface Box {
  id: string;
  kind: BoxKind;
  x: number;
  y: number;
  width: number;
  height: number;
  title: string;
  lines: string[];
  /** The chassis a port is bound to, for its colour. */
  chassis?: string;
  down?: boolean;
}

export interface Layout {
  boxes: Box[];
  edges: { from: string; to: string; points: { x: number; y: number }[] }[];
  width: number;
  height: number;
}

const LINE = 15;
const CHAR = 6.6;

function size(title: string, lines: string[]): { width: number; height: number } {
  const longest = Math.max(title.length + 2, ...lines.map((l) => l.length));
  return { width: Math.max(120, Math.ceil(longest * CHAR) + 24), height: 30 + lines.length * LINE };
}

/** "1 port", "3 ports". */
function countOf(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

export function layoutTopology(t: Topology): Layout {
  const g = new dagre.graphlib.Graph<
    { rankdir: string; nodesep: number; ranksep: number; marginx: number; marginy: number } & {
      width?: number;
      height?: number;
    },
    { width: number; height: number; x: number; y: number },
    { points?: { x: number; y: number }[] }
  >();
  g.setGraph({ rankdir: "TB", nodesep: 24, ranksep: 48, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  const boxes = new Map<string, Omit<Box, "x" | "y">>();
  const add = (box: Omit<Box, "x" | "y" | "width" | "height">) => {
    const full = { ...box, ...size(box.title, box.lines) };
    boxes.set(box.id, full);
    g.setNode(box.id, { width: full.width, height: full.height, x: 0, y: 0 });
  };
  const routerOfPort = new Map<string, string>();
  for (const r of t.routers) {
    const id = `router:${r.name}`;
    for (const p of r.ports) routerOfPort.set(p.name, id);
    add({
      id,
      kind: "router",
      title: r.name,
      lines: [
        ...r.ports.map(
          (p) =>
            `${p.name} ${p.networks.join(" ")}${p.gatewayChassis ? ` ⇒ ${p.gatewayChassis}` : ""}`,
        ),
        ...r.nat.map(
          (n) =>
            `NAT ${n.type} ${n.externalIp} ↔ ${n.logicalIp}${n.logicalPort ? ` (${n.logicalPort})` : ""}`,
        ),
      ],
    });
  }
  for (const s of t.switches) {
    const id = `switch:${s.name}`;
    const vifs = s.ports.filter((p) => p.type !== "router");
    add({
      id,
      kind: "switch",
      title: s.name,
      lines: [countOf(s.ports.length + s.more.count, "port")],
    });
    for (const p of s.ports) {
      if (p.type === "router" && p.routerPort) {
        const router = routerOfPort.get(p.routerPort);
        if (router) g.setEdge(router, id);
      }
    }
    for (const p of vifs) {
      const pid = `port:${s.name}:${p.name}`;
      add({
        id: pid,
        kind: "port",
        title: p.name,
        lines: [
          ...(p.addresses.length > 0 ? [p.addresses.join(" ")] : []),
          p.chassis ? `on ${p.chassis}` : p.type ? `type ${p.type}` : "not bound",
        ],
        ...(p.chassis ? { chassis: p.chassis } : {}),
        down: p.up === false,
      });
      g.setEdge(id, pid);
    }
    if (s.more.count > 0) {
      const mid = `more:${s.name}`;
      add({
        id: mid,
        kind: "more",
        title: `+${countOf(s.more.count, "port")}`,
        lines: Object.entries(s.more.byChassis)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([c, n]) => `${n} ${c ? `on ${c}` : "not bound"}`),
      });
      g.setEdge(id, mid);
    }
  }
  dagre.layout(g);
  const placed: Box[] = [...boxes.values()].map((b) => {
    const n = g.node(b.id);
    return { ...b, x: n.x - b.width / 2, y: n.y - b.height / 2 };
  });
  const graph = g.graph();
  return {
    boxes: placed,
    edges: g.edges().map((e) => ({ from: e.v, to: e.w, points: g.edge(e).points ?? [] })),
    width: graph.width ?? 0,
    height: graph.height ?? 0,
  };
}
