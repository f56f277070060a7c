/** `microovn project add|list|delete`: the projects of the OpenStack API's identity store. */
import type { Command } from "commander";
import type { ProjectView } from "../../identity/store.js";
import type { CliContext } from "../context.js";
import { addListCommand, formatList } from "../format/table.js";

const HEADERS = ["NAME", "ID", "DOMAIN", "ENABLED", "DESCRIPTION"];

function cells(p: ProjectView): string[] {
  return [p.name, p.id, p.domain, String(p.enabled), p.description];
}

export function registerProject(program: Command, ctx: CliContext): void {
  const project = program
    .command("project")
    .description("Projects of the OpenStack API's identity store (shared by the whole cluster)");

  project
    .command("add")
    .description("Add a project")
    .argument("<name>")
    .option("--description <text>", "what the project is for", "")
    .action(async (name: string, options: { description: string }) => {
      const { project: added } = await ctx
        .client()
        .call<{ project: ProjectView }>("POST", "/identity/projects", {
          name,
          description: options.description,
        });
      ctx.print(`Project ${name} added (id ${added.id})`);
    });

  addListCommand(
    project,
    "Every project",
    async () =>
      (await ctx.client().query<{ projects: ProjectView[] }>("/identity/projects")).projects,
    (projects, format) => formatList(projects, HEADERS, cells, format),
  );

  project
    .command("delete")
    .description("Delete a project no one holds a role on")
    .argument("<name>")
    .action(async (name: string) => {
      await ctx.client().call("DELETE", `/identity/projects/${encodeURIComponent(name)}`);
      ctx.print(`Project ${name} deleted`);
    });
}
