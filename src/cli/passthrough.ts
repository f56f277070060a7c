/**
 * `microovn TOOL ARGS…`: runs an OVN or OVS tool with this member's database
 * addresses, TLS files and control sockets filled in, so that e.g.
 * `microovn ovn-appctl -t ovnnb_db cluster/status OVN_Northbound` works as
 * typed. Options the user gives win over the ones added here.
 */
import { MicroOvnError } from "../errors.js";
import type { TlsFiles } from "../ovsdb/client/connection.js";

export const PASSTHROUGH_TOOLS = [
  "ovn-nbctl",
  "ovn-sbctl",
  "ovn-appctl",
  "ovn-trace",
  "ovs-vsctl",
  "ovs-appctl",
  "ovs-ofctl",
  "ovs-dpctl",
  "ovsdb-client",
  "ovsdb-tool",
] as const;

export type PassthroughTool = (typeof PASSTHROUGH_TOOLS)[number];

export function isPassthroughTool(name: string): name is PassthroughTool {
  return (PASSTHROUGH_TOOLS as readonly string[]).includes(name);
}

/** What the daemon tells the CLI about where things are (GET /1.0/tools). */
export interface ToolContext {
  runDir: string;
  nbRemotes: string[];
  sbRemotes: string[];
  switchSocket: string;
  tls: TlsFiles;
}

export interface Invocation {
  program: string;
  args: string[];
  env: Record<string, string>;
}

function tlsOptions(tls: TlsFiles): string[] {
  return [
    `--private-key=${tls.privateKey}`,
    `--certificate=${tls.certificate}`,
    `--ca-cert=${tls.caCert}`,
  ];
}

function hasOption(args: readonly string[], ...names: string[]): boolean {
  return args.some((a) => names.some((n) => a === n || a.startsWith(`${n}=`)));
}

/**
 * Makes `-t NAME` targets absolute: NAME.ctl in the run dir when it exists,
 * else NAME.<pid>.ctl after NAME's pidfile (how ovn-controller names its
 * socket). `resolve` looks in the run dir.
 */
export function absoluteTargets(
  args: readonly string[],
  resolve: (name: string) => string | undefined,
): { args: string[]; hasTarget: boolean } {
  const out: string[] = [];
  let hasTarget = false;
  const fix = (name: string) => (name.includes("/") ? name : (resolve(name) ?? name));
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === "-t" || a === "--target") && i + 1 < args.length) {
      hasTarget = true;
      out.push(a, fix(args[++i]!));
    } else if (a.startsWith("--target=")) {
      hasTarget = true;
      out.push(`--target=${fix(a.slice("--target=".length))}`);
    } else {
      out.push(a);
    }
  }
  return { args: out, hasTarget };
}

/** Why a database tool has nowhere to go: no member runs central and none is set outside. */
export function noCentral(tool: string): MicroOvnError {
  const db = tool === "ovn-nbctl" ? "Northbound" : "Southbound";
  return new MicroOvnError(
    "NO_CENTRAL",
    `no member of this cluster runs central, so there is no OVN ${db} database for ${tool} ` +
      "to talk to. Run `microovn enable central` on a member (`--node NAME` from here), or " +
      "point the cluster at an external central with `microovn config set ovn.central-ips IP[,IP…]`",
  );
}

export function toolInvocation(
  tool: PassthroughTool,
  userArgs: readonly string[],
  ctx: ToolContext,
  resolveTarget: (name: string) => string | undefined,
): Invocation {
  const env = { OVS_RUNDIR: ctx.runDir, OVN_RUNDIR: ctx.runDir };
  const args = [...userArgs];
  const tls = hasOption(args, "--private-key", "-p") ? [] : tlsOptions(ctx.tls);
  const withDb = (remotes: string[]) => {
    if (hasOption(args, "--db")) return [...tls, ...args];
    if (remotes.length === 0) throw noCentral(tool);
    return [`--db=${remotes.join(",")}`, ...tls, ...args];
  };
  switch (tool) {
    case "ovn-nbctl":
      return { program: tool, args: withDb(ctx.nbRemotes), env };
    case "ovn-sbctl":
    case "ovn-trace":
      return { program: tool, args: withDb(ctx.sbRemotes), env };
    case "ovs-vsctl":
      return {
        program: tool,
        args: [...(hasOption(args, "--db") ? [] : [`--db=unix:${ctx.switchSocket}`]), ...args],
        env,
      };
    case "ovn-appctl":
    case "ovs-appctl": {
      const fixed = absoluteTargets(args, resolveTarget);
      // ovs-vswitchd's socket has no pid in its name, so its default target needs help.
      const defaultTarget =
        tool === "ovs-appctl" && !fixed.hasTarget ? ["-t", `${ctx.runDir}/ovs-vswitchd.ctl`] : [];
      return { program: tool, args: [...defaultTarget, ...fixed.args], env };
    }
    case "ovsdb-client":
      return { program: tool, args: [...tls, ...args], env };
    case "ovs-ofctl":
    case "ovs-dpctl":
    case "ovsdb-tool":
      return { program: tool, args, env };
  }
}
