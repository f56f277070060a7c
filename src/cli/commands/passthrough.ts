/** `microovn TOOL ARGS…`: an OVN/OVS tool pointed at this member (see ../passthrough.ts). */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runAttached } from "../../process/run.js";
import type { CliContext } from "../context.js";
import { toolInvocation, type PassthroughTool, type ToolContext } from "../passthrough.js";

/** NAME.ctl when it exists, else NAME.<pid>.ctl from NAME.pid. */
function targetResolver(runDir: string): (name: string) => string | undefined {
  return (name) => {
    const ctl = join(runDir, `${name}.ctl`);
    if (existsSync(ctl)) return ctl;
    try {
      const pid = readFileSync(join(runDir, `${name}.pid`), "utf8").trim();
      return join(runDir, `${name}.${pid}.ctl`);
    } catch {
      return undefined;
    }
  };
}

export async function runPassthrough(
  ctx: CliContext,
  tool: PassthroughTool,
  args: readonly string[],
): Promise<number> {
  // Never starts a stopped member: say so instead (the tools would find no OVN).
  const tools = await ctx.client().query<ToolContext>("/tools");
  const invocation = toolInvocation(tool, args, tools, targetResolver(tools.runDir));
  return runAttached(invocation.program, invocation.args, { env: invocation.env });
}
