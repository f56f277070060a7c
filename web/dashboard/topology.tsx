/** The topology as an SVG picture (see topology-layout.ts); chassis by colour. */
import type { Topology } from "./api.js";
import { layoutTopology, type Box } from "./topology-layout.js";

/** Colours (style.css: .chassis-0 … .chassis-6); a class, as the CSP allows no inline style. */
const COLOURS = 7;

function colourOf(chassis: string | undefined, all: string[]): string | undefined {
  if (chassis === undefined) return undefined;
  const i = all.indexOf(chassis);
  return `chassis-${(i < 0 ? all.length : i) % COLOURS}`;
}

function BoxView(props: { box: Box; colour: string | undefined }) {
  const b = props.box;
  return (
    <g
      class={`node ${b.kind}${b.down ? " down" : ""}${props.colour ? ` ${props.colour}` : ""}`}
      data-name={b.title}
      transform={`translate(${b.x},${b.y})`}
    >
      <rect width={b.width} height={b.height} rx={b.kind === "router" ? 14 : 4} />
      {props.colour && <rect class="chassis-bar" width={6} height={b.height} />}
      <text x={12} y={19} class="title">
        {b.kind === "router" ? "⬡ " : b.kind === "switch" ? "▦ " : ""}
        {b.title}
      </text>
      {b.lines.map((line, i) => (
        <text x={12} y={19 + (i + 1) * 15} class="line">
          {line}
        </text>
      ))}
    </g>
  );
}

export function TopologyPicture(props: { topology: Topology }) {
  const t = props.topology;
  if (t.problem) return <p class="error">{t.problem}</p>;
  if (t.switches.length === 0 && t.routers.length === 0) {
    return <p class="muted">No logical switches or routers yet.</p>;
  }
  const layout = layoutTopology(t);
  const chassis = t.chassis.map((c) => c.hostname || c.name);
  return (
    <div class="topology">
      <div class="legend">
        {chassis.map((c) => (
          <span>
            <i class={colourOf(c, chassis)} />
            {c}
          </span>
        ))}
      </div>
      <svg
        id="topology"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
      >
        {layout.edges.map((e) => (
          <polyline class="edge" points={e.points.map((p) => `${p.x},${p.y}`).join(" ")} />
        ))}
        {layout.boxes.map((b) => (
          <BoxView box={b} colour={colourOf(b.chassis, chassis)} />
        ))}
      </svg>
    </div>
  );
}
