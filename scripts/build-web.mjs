// Bundles the dashboard's page (web/dashboard/) into dist/web/: one script,
// one style sheet and the HTML, with preact and dagre inside; nothing is
// fetched from elsewhere when the page runs.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";

const out = "dist/web";
await mkdir(out, { recursive: true });
await build({
  entryPoints: { dashboard: "web/dashboard/main.tsx" },
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: out,
  logLevel: "warning",
  legalComments: "none",
});
await copyFile("web/dashboard/index.html", `${out}/index.html`);
