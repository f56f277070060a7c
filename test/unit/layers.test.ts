/**
 * The shape of src/: every import (`import type` and `import()` included)
 * runs down the layers below, never up or sideways, and no two files or
 * folders depend on each other. A newcomer reads the tree bottom-up; a new
 * folder must be given its place here.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/**
 * Bottom first. A unit is a folder under src/ or a file directly in it. A
 * unit may import its own files and units of lower layers; units that share
 * a layer know nothing of each other.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["errors.ts", "version.ts"],
  ["util", "process", "ovsdb"],
  ["pki", "supervisor", "identity"],
  ["member"],
  ["host", "ovn", "security"],
  ["lab", "cluster"],
  ["runtime", "openstack"],
  ["membership"],
  ["lifecycle", "upgrade"],
  ["metrics"],
  ["dashboard"],
  ["daemon"],
  ["cli"],
];

const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

/** Relative module specifiers in `source`: static, type-only, re-exports and `import()`. */
function relativeImports(source: string): string[] {
  return ts
    .preProcessFile(source, true, true)
    .importedFiles.map((f) => f.fileName)
    .filter((name) => name.startsWith("."));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every file of src/ (relative to it) with the files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const imports = relativeImports(readFileSync(file, "utf8")).map((specifier) => {
      const target = normalize(join(dirname(file), specifier.replace(/\.js$/, ".ts")));
      assert.ok(
        existsSync(target),
        `${relative(SRC, file)} imports "${specifier}", which is no file in src/`,
      );
      return relative(SRC, target);
    });
    graph.set(relative(SRC, file), imports);
  }
  return graph;
}

/** "cluster/layout.ts" → "cluster"; "errors.ts" → "errors.ts". */
function unitOf(file: string): string {
  return file.split("/")[0]!;
}

function unitGraph(files: Map<string, string[]>): Map<string, string[]> {
  const units = new Map<string, string[]>();
  for (const [file, imports] of files) {
    const from = unitOf(file);
    const targets = units.get(from) ?? [];
    for (const target of imports.map(unitOf)) {
      if (target !== from && !targets.includes(target)) targets.push(target);
    }
    units.set(from, targets);
  }
  return units;
}

/** The groups of nodes that reach each other (Tarjan); only those of two or more. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (stack.includes(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const group = stack.splice(stack.indexOf(node));
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return found;
}

function layerOf(unit: string): number {
  return LAYERS.findIndex((layer) => layer.includes(unit));
}

describe("layers of src/", () => {
  const files = importGraph();
  const units = unitGraph(files);

  it("reads every kind of import, and nothing in comments or strings", () => {
    const source = [
      `import type { A } from "./a.js";`,
      `import { type B, c } from "../b.js";`,
      `import "./side-effect.js";`,
      `export * from "./d.js";`,
      `export type { E } from "./e.js";`,
      `const f = await import("./f.js");`,
      `import { readFile } from "node:fs/promises";`,
      `// import { g } from "./comment.js";`,
      `const text = 'import { h } from "./string.js"';`,
    ].join("\n");
    assert.deepEqual(relativeImports(source), [
      "./a.js",
      "../b.js",
      "./side-effect.js",
      "./d.js",
      "./e.js",
      "./f.js",
    ]);
  });

  it("finds cycles, short and long, and nothing else", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["a", "c"]],
      ["c", ["d"]],
      ["d", ["e"]],
      ["e", ["c"]],
      ["f", ["a"]],
    ]);
    assert.deepEqual(cycles(graph).sort(), [
      ["a", "b"],
      ["c", "d", "e"],
    ]);
  });

  it("sees the imports of src/", () => {
    // Guards against an empty graph passing the checks below.
    assert.ok(files.size > 50, `only ${files.size} files found in ${SRC}`);
    assert.ok(files.get("daemon/main.ts")?.includes("daemon/daemon.ts"));
  });

  it("has no two files that import each other, however indirectly", () => {
    const found = cycles(files);
    assert.deepEqual(
      found,
      [],
      `import cycles between files: ${found.map((c) => c.join(" ↔ ")).join("; ")}. ` +
        "Move what both need into a file of its own that neither imports back",
    );
  });

  it("has no two folders that import each other, however indirectly", () => {
    const found = cycles(units);
    assert.deepEqual(
      found,
      [],
      `import cycles between folders: ${found.map((c) => c.join(" ↔ ")).join("; ")}`,
    );
  });

  it("places every folder of src/ in exactly one layer", () => {
    const listed = LAYERS.flat();
    for (const unit of units.keys()) {
      assert.ok(
        listed.includes(unit),
        `src/${unit} has no place in LAYERS (test/unit/layers.test.ts): add it where it belongs`,
      );
    }
    for (const unit of listed) {
      assert.ok(units.has(unit), `LAYERS lists ${unit}, which src/ does not have`);
    }
    assert.equal(new Set(listed).size, listed.length, "LAYERS lists a folder twice");
  });

  it("imports only from lower layers", () => {
    const wrong: string[] = [];
    for (const [file, imports] of files) {
      const from = unitOf(file);
      for (const target of imports) {
        const to = unitOf(target);
        if (to !== from && layerOf(to) >= layerOf(from)) wrong.push(`${file} → ${target}`);
      }
    }
    assert.deepEqual(
      wrong,
      [],
      "imports that run up or sideways (LAYERS in test/unit/layers.test.ts gives the order): " +
        "move what both need below both",
    );
  });
});
