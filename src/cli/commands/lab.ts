/**
 * `microovn lab up|status|down|exec|vm add|outside add|remove`: a real
 * multi-member cluster on this machine, one network namespace per member
 * (see src/lab/lab.ts), and a network outside it (src/lab/outside.ts).
 */
import type { Command } from "commander";
import { MicroOvnError } from "../../errors.js";
import { DEFAULT_LAB_ROOT, Lab, labMemberName, type LabOptions } from "../../lab/lab.js";
import {
  DEFAULT_OUTSIDE_CIDR,
  OUTSIDE_HOST,
  OUTSIDE_OVS_BRIDGE,
  type LabOutside,
} from "../../lab/outside.js";
import { isRunning } from "../../supervisor/supervisor.js";
import type { CliContext } from "../context.js";
import { compact } from "../format/table.js";

interface RootOptions {
  dir: string;
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new MicroOvnError("ROOT_REQUIRED", "the lab makes network namespaces: run it as root");
  }
}

function count(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new MicroOvnError(
      "BAD_LAB_OPTION",
      `--${what} must be a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/** The members `--vm-on` names, checked before anything is made (members are m1…mN). */
export function vmHosts(vmOn: string | undefined, nodes: number): string[] {
  const all = Array.from({ length: nodes }, (_, i) => labMemberName(i + 1));
  if (vmOn === undefined) return all;
  const names = vmOn.split(",").map((s) => s.trim());
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    throw new MicroOvnError(
      "BAD_LAB_OPTION",
      `--vm-on names ${unknown.map((n) => `"${n}"`).join(", ")}, but a lab of ` +
        `${nodes} has the members ${all.join(", ")}; nothing was made`,
    );
  }
  return names;
}

async function loadLab(options: RootOptions): Promise<Lab> {
  const lab = await Lab.load({ root: options.dir });
  if (!lab) {
    throw new MicroOvnError(
      "NO_LAB",
      `no lab runs from ${options.dir}; start one with \`microovn lab up --nodes 3\``,
    );
  }
  return lab;
}

/** Columns under the first row's headers, as `cluster list -f compact` prints them. */
function table(rows: readonly string[][]): string {
  return compact(rows[0]!, rows.slice(1)).trimEnd();
}

function describeOutside(o: LabOutside): string {
  return (
    `Outside: ${o.cidr}, host ${o.address} in ${o.namespace} (\`lab exec ${OUTSIDE_HOST} -- …\`), ` +
    `linked to ${OUTSIDE_OVS_BRIDGE} on ${o.members.join(", ")}`
  );
}

async function describe(lab: Lab): Promise<string> {
  const lines: string[] = [`Lab in ${lab.root}`];
  const nodeRows = [["MEMBER", "NAMESPACE", "ADDRESS", "ENCAP IP", "STATE DIR", "MICROOVND"]];
  for (const n of lab.nodes) {
    const pid = (await lab.pids(n.name)).microovnd;
    nodeRows.push([
      n.name,
      n.namespace,
      n.address,
      n.encapIp,
      n.stateDir,
      pid !== undefined && isRunning(pid) ? `running (pid ${pid})` : "not running",
    ]);
  }
  lines.push("", table(nodeRows));
  if (lab.vms.length > 0) {
    const vmRows = [["VM", "ON", "IP", "MAC", "NAMESPACE", "PORT"]];
    for (const v of lab.vms) {
      vmRows.push([v.name, v.node, [v.ip, v.ip6].join(" ").trim(), v.mac, v.namespace, v.port]);
    }
    lines.push("", table(vmRows));
  }
  if (lab.outside) lines.push("", describeOutside(lab.outside));
  for (const n of lab.nodes) {
    const r = await lab.cli(n.name, ["cluster", "list", "-f", "compact"]);
    if (r.exitCode === 0) {
      lines.push("", `Cluster (as ${n.name} sees it):`, r.stdout.trimEnd());
      break;
    }
  }
  return lines.join("\n");
}

export function registerLab(program: Command, ctx: CliContext): void {
  const lab = program
    .command("lab")
    .description("A multi-member cluster on this machine, one network namespace per member");
  const dirOption = [
    "--dir <dir>",
    "where the lab keeps its members' state",
    DEFAULT_LAB_ROOT,
  ] as const;

  lab
    .command("up")
    .description("Make N members (joined into one cluster) and VMs on a shared logical switch")
    .option("--nodes <n>", "how many members", "3")
    .option("--vms <n>", "how many VMs", "0")
    .option("--vm-on <members>", "members to put VMs on, in turn (e.g. m1,m3; default: all)")
    .option("--prefix <name>", "namespace name prefix", "mlab")
    .option(
      "--ipv6",
      "members and underlay with IPv6 addresses only (fd50:0:0:1::/64, fd50:0:0:2::/64)",
    )
    .option(...dirOption)
    .action(
      async (
        options: RootOptions & {
          nodes: string;
          vms: string;
          vmOn?: string;
          prefix: string;
          ipv6?: boolean;
        },
      ) => {
        requireRoot();
        const nodes = count(options.nodes, "nodes", 1, 9);
        const vms = count(options.vms, "vms", 0, 200);
        const on = vmHosts(options.vmOn, nodes);
        const labOptions: LabOptions = {
          root: options.dir,
          prefix: options.prefix,
          ipv6: options.ipv6 === true,
        };
        const created = await Lab.create(labOptions);
        try {
          for (let i = 0; i < nodes; i++) {
            const node = await created.grow();
            process.stderr.write(
              `${node.name} ${i === 0 ? "bootstrapped" : "joined"} at ${node.address} ` +
                `in ${node.joinSeconds!.toFixed(2)} s\n`,
            );
          }
          for (let i = 0; i < vms; i++) {
            const vm = await created.addVm(on[i % on.length]!);
            process.stderr.write(
              `${vm.name} (${[vm.ip, vm.ip6].join(" ").trim()}) on ${vm.node}\n`,
            );
          }
        } catch (e) {
          process.stderr.write(
            `The lab could not be completed; what was made stays for inspection. ` +
              `Remove it with \`microovn lab down --dir ${options.dir}\`.\n`,
          );
          throw e;
        }
        ctx.print(await describe(created));
      },
    );

  const vm = lab.command("vm").description("VMs of the lab");
  vm.command("add")
    .description(
      "A VM on member NODE whose eth0 is plugged (`microovn port plug`) into an existing " +
        "logical switch port, with the port's MAC",
    )
    .argument("<node>", "the member to run it on (m1, m2, …)")
    .requiredOption("--port <port-id>", "the logical switch port (e.g. a Neutron port's id)")
    .option("--dhcp", "address, MTU and default route from OVN's native DHCP")
    .option(...dirOption)
    .action(async (node: string, options: RootOptions & { port: string; dhcp?: boolean }) => {
      requireRoot();
      const found = await loadLab(options);
      const added = await found.addPortVm(node, options.port, { dhcp: options.dhcp === true });
      const how = added.dhcp
        ? `by DHCP in ${added.dhcp.seconds.toFixed(2)} s: ${added.ip}/${added.dhcp.prefixLength}` +
          (added.dhcp.router ? `, router ${added.dhcp.router}` : "") +
          (added.dhcp.mtu !== undefined ? `, MTU ${added.dhcp.mtu}` : "") +
          (added.dhcp.leaseSeconds !== undefined ? `, lease ${added.dhcp.leaseSeconds} s` : "")
        : `${added.ip}/24 from the port's addresses`;
      ctx.print(
        `${added.name} on ${added.node}, port ${added.port}, MAC ${added.mac}, namespace ` +
          `${added.namespace}; address ${how}`,
      );
    });

  const outside = lab
    .command("outside")
    .description(
      "A network outside the cluster: a host on it (`lab exec outside -- …`) and links " +
        "to br-ex on members, for gateway chassis (bridge-mappings physnet1:br-ex)",
    );
  outside
    .command("add")
    .description("Make the outside network and link members to it through br-ex")
    .option("--members <members>", "members to link (e.g. m1,m2; default: all)")
    .option(
      "--cidr <cidr>",
      "the outside network; its first address is the host's",
      DEFAULT_OUTSIDE_CIDR,
    )
    .option(...dirOption)
    .action(async (options: RootOptions & { members?: string; cidr: string }) => {
      requireRoot();
      const made = await (await loadLab(options)).addOutside(options.members, options.cidr);
      ctx.print(describeOutside(made));
    });
  outside
    .command("remove")
    .description("Take the outside network and the members' links to it away")
    .option(...dirOption)
    .action(async (options: RootOptions) => {
      requireRoot();
      await (await loadLab(options)).removeOutside();
      ctx.print("The outside network is gone");
    });

  lab
    .command("status")
    .description("Show the lab's members, VMs and cluster")
    .option(...dirOption)
    .action(async (options: RootOptions) => {
      requireRoot();
      ctx.print(await describe(await loadLab(options)));
    });

  lab
    .command("exec")
    .description(
      "Run a command in a member's namespace (with its state dir), a VM's or the outside host's",
    )
    .argument("<name>", "a member (m1, m2, …), a VM (vm1, …) or outside")
    .argument("<command...>", "the command, after --")
    .option(...dirOption)
    .action(async (name: string, command: string[], options: RootOptions) => {
      requireRoot();
      const found = await loadLab(options);
      const [program, ...args] = command;
      const r = await found.exec(name, program!, args);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode ?? 1;
    });

  lab
    .command("down")
    .description("Stop every member and remove the lab's namespaces and files")
    .option(...dirOption)
    .action(async (options: RootOptions) => {
      requireRoot();
      await (await loadLab(options)).down();
      ctx.print(`The lab in ${options.dir} is gone`);
    });
}
