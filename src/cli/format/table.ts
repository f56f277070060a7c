/**
 * The list formats of `cluster list`, `user list` and `project list`:
 * a boxed table, compact columns, JSON, YAML or CSV, one row per item.
 */
import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { MicroOvnError } from "../../errors.js";

export const LIST_FORMATS = ["table", "compact", "json", "yaml", "csv"] as const;
export type ListFormat = (typeof LIST_FORMATS)[number];

export function checkListFormat(format: string): ListFormat {
  if (!(LIST_FORMATS as readonly string[]).includes(format)) {
    throw new MicroOvnError(
      "BAD_FORMAT",
      `"${format}" is not an output format; choose one of ${LIST_FORMATS.join(", ")}`,
    );
  }
  return format as ListFormat;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function widths(headers: readonly string[], rows: readonly string[][]): number[] {
  return headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
}

function boxed(headers: readonly string[], rows: readonly string[][]): string {
  const w = widths(headers, rows);
  const rule = `+${w.map((n) => "-".repeat(n + 2)).join("+")}+`;
  const line = (r: readonly string[]) => `|${r.map((c, i) => ` ${c.padEnd(w[i]!)} `).join("|")}|`;
  return [rule, line(headers), rule, ...rows.map(line), rule].join("\n") + "\n";
}

export function compact(headers: readonly string[], rows: readonly string[][]): string {
  const w = widths(headers, rows);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(w[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/**
 * `items` in `format`: JSON and YAML show the items as they are, the other
 * formats the `headers` columns that `cells` makes of each item.
 */
export function formatList<T>(
  items: readonly T[],
  headers: readonly string[],
  cells: (item: T) => string[],
  format: ListFormat,
): string {
  switch (format) {
    case "json":
      return JSON.stringify(items, null, 2) + "\n";
    case "yaml":
      return toYaml(items);
    case "csv":
      return (
        [headers.join(","), ...items.map((i) => cells(i).map(csvField).join(","))].join("\n") + "\n"
      );
    case "compact":
      return compact(headers, items.map(cells));
    case "table":
      return boxed(headers, items.map(cells));
  }
}

/**
 * A `list` subcommand of `group` with `-f table|compact|json|yaml|csv`:
 * `items` fetches what it lists, `print` writes it in the format chosen.
 */
export function addListCommand<T>(
  group: Command,
  description: string,
  items: () => Promise<T[]>,
  print: (items: T[], format: ListFormat) => string,
): void {
  group
    .command("list")
    .description(description)
    .option("-f, --format <format>", "table, compact, json, yaml or csv", "table")
    .action(async (options: { format: string }) => {
      const format = checkListFormat(options.format);
      process.stdout.write(print(await items(), format));
    });
}
