/**
 * `microovn init`: make this machine a member, asking questions (the
 * wizard) or reading the answers from a YAML file (`--preseed FILE`, `-`
 * for standard input). Either way the whole plan is settled and checked
 * first — every question answered, every field of the file valid — and only
 * then does the daemon act: bootstrap (POST /cluster/bootstrap) or join
 * (POST /cluster/join), then the underlay interface and the encapsulation
 * IP (PUT /chassis), then the join tokens asked for (POST /cluster/add).
 * Bad input, or the input ending early, changes nothing.
 *
 * Questions and progress go to stderr; stdout carries only the join tokens
 * (the wizard: each alone on its line; a preseed: `NAME TOKEN` per line).
 */
import { readFile } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import type { Command } from "commander";
import type { Readiness } from "../../daemon/api/route-context.js";
import { MicroOvnError } from "../../errors.js";
import type { ChassisSettings, MemberConfig, ServiceName } from "../../member/config.js";
import { detectDatapath, type DatapathType } from "../../ovn/switch.js";
import { UNDERLAY_BRIDGE, checkUnderlayCandidate, readLinks } from "../../ovn/underlay.js";
import type { CliContext } from "../context.js";
import type { ControlClient } from "../control-client.js";
import type * as Checks from "../preseed.js";
import type { BootstrapPlan, InitPlan } from "../preseed.js";
import type { Prompter } from "../prompts.js";
import { ALLOW_FOREIGN_OVS_HELP, asNewMember } from "../new-member.js";

type ChecksModule = typeof Checks;

function info(text: string): void {
  process.stderr.write(`${text}\n`);
}

/**
 * The addresses of this machine (in this network namespace) a member can
 * listen on, lowercase; not IPv6 link-local ones, which need a scope.
 */
function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((a) => a.address.toLowerCase())
    .filter((a) => !a.startsWith("fe80:"));
}

function checkLocal(address: string): string {
  const local = localAddresses();
  if (!local.includes(address.toLowerCase())) {
    throw new MicroOvnError(
      "ADDRESS_NOT_LOCAL",
      `${address} is not an address of this machine (it has ${local.join(", ")})`,
    );
  }
  return address;
}

/**
 * Checks an underlay interface against this machine (it has it, with an
 * address; not loopback, not a MicroOVN bridge; the userspace datapath).
 */
async function underlayChecker(): Promise<{
  datapath: DatapathType;
  check: (name: string) => string;
}> {
  const [datapath, links] = await Promise.all([detectDatapath(), readLinks()]);
  const check = (name: string) =>
    checkUnderlayCandidate({
      name,
      datapath,
      link: links.find((l) => l.ifname === name),
      allLinks: links.map((l) => l.ifname),
      ovsBridge: undefined,
      current: undefined,
      currentAddress: undefined,
    });
  return { datapath, check };
}

/** Refuses a machine that is a member already, before anything is asked or done. */
async function checkNotMember(client: ControlClient): Promise<void> {
  const readiness = await client.call<Readiness>("GET", "/ready");
  if (readiness.bootstrapped) {
    throw new MicroOvnError(
      "ALREADY_BOOTSTRAPPED",
      "this machine is already a member of a cluster; nothing was changed. " +
        "See `microovn status`",
    );
  }
}

// ---------------------------------------------------------------------------
// The wizard.

const QUESTIONS = {
  address: (d: string) => `Which address should MicroOVN listen on? [default=${d}]:`,
  create: "Create a new MicroOVN cluster (no: join an existing one)? (yes/no) [default=no]:",
  name: (d: string) => `Name of this member [default=${d}]:`,
  services:
    "Which services should this member run? " +
    "(auto, or a comma list of central,switch,chassis) [default=auto]:",
  underlay:
    "This machine has no openvswitch kernel module, so Geneve to other machines leaves only " +
    `from an address on an OVS bridge. Interface facing the other machines, whose addresses ` +
    `and routes move onto ${UNDERLAY_BRIDGE} (empty: none) [default=none]:`,
  encap: "Use a custom encapsulation (Geneve) IP address for this member? (yes/no) [default=no]:",
  encapIp: "Encapsulation IP address for this member:",
  more: "Make join tokens for more members now? (yes/no) [default=no]:",
  tokenName: "Name of a new member (empty when done):",
  token: "Join token (printed by `microovn cluster add NAME` on a member):",
} as const;

interface ChassisAnswers {
  underlayInterface?: string;
  encapIp?: string;
}

/** The underlay interface (asked only on the userspace datapath) and a custom encapsulation IP. */
async function askChassis(c: ChecksModule, p: Prompter): Promise<ChassisAnswers> {
  const answers: ChassisAnswers = {};
  const underlay = await underlayChecker();
  if (underlay.datapath === "netdev") {
    const name = await p.ask(QUESTIONS.underlay, (a) => {
      if (a === "") return undefined;
      underlay.check(c.checkInterfaceName(a));
      return a;
    });
    if (name !== undefined) answers.underlayInterface = name;
  }
  if (!(await p.ask(QUESTIONS.encap, (a) => c.parseYesNo(a, false)))) return answers;
  answers.encapIp = await p.ask(QUESTIONS.encapIp, (a) => {
    if (a === "") throw new MicroOvnError("INVALID_ANSWER", "an IP address is needed");
    return checkLocal(c.checkIp(a));
  });
  return answers;
}

async function wizard(c: ChecksModule, p: Prompter): Promise<InitPlan> {
  const { defaultAddress } = await import("../../lifecycle/bootstrap.js");
  const fallback = defaultAddress();
  const address = await p.ask(QUESTIONS.address(fallback), (a) =>
    a === "" ? fallback : checkLocal(c.checkIp(a)),
  );
  const create = await p.ask(QUESTIONS.create, (a) => c.parseYesNo(a, false));
  if (!create) {
    const token = await p.ask(
      QUESTIONS.token,
      (a) => {
        if (a === "") throw new MicroOvnError("INVALID_ANSWER", "a join token is needed");
        return { text: a, token: c.checkJoinToken(a) };
      },
      { secret: true },
    );
    p.say(`This member will join as ${token.token.name}.`);
    return {
      kind: "join",
      token: token.text,
      name: token.token.name,
      address,
      ...(await askChassis(c, p)),
    };
  }
  const host = hostname();
  const name = await p.ask(QUESTIONS.name(host), (a) => c.checkName(a === "" ? host : a));
  const services = await p.ask(QUESTIONS.services, c.parseServicesAnswer);
  const chassis =
    services === undefined || services.includes("chassis") ? await askChassis(c, p) : {};
  const tokens: string[] = [];
  if (await p.ask(QUESTIONS.more, (a) => c.parseYesNo(a, false))) {
    for (;;) {
      const next = await p.ask(QUESTIONS.tokenName, (a) =>
        a === "" ? undefined : c.checkTokenName(a, [name, ...tokens]),
      );
      if (next === undefined) break;
      tokens.push(next);
    }
  }
  return {
    kind: "bootstrap",
    address,
    name,
    ...(services !== undefined ? { services } : {}),
    ...chassis,
    tokens,
  };
}

// ---------------------------------------------------------------------------
// The preseed file.

async function readPreseed(file: string): Promise<string> {
  try {
    if (file !== "-") return await readFile(file, "utf8");
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString("utf8");
  } catch (e) {
    throw new MicroOvnError(
      "PRESEED_UNREADABLE",
      `cannot read the preseed file ${file === "-" ? "(standard input)" : file}: ` +
        (e as Error).message,
    );
  }
}

/** `check` on a preseed field; its refusal names the field. */
function preseedField(key: string, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    throw new MicroOvnError("BAD_PRESEED", `preseed: "${key}" ${(e as Error).message}`);
  }
}

/** What the preseed leaves to this machine, settled and checked before anything is done. */
async function completePreseed(c: ChecksModule, plan: InitPlan): Promise<InitPlan> {
  const { address, encapIp, underlayInterface } = plan;
  if (address !== undefined) preseedField("address", () => checkLocal(address));
  if (encapIp !== undefined) preseedField("encap_ip", () => checkLocal(encapIp));
  if (underlayInterface !== undefined) {
    const underlay = await underlayChecker();
    preseedField("underlay_interface", () => underlay.check(underlayInterface));
  }
  if (plan.kind === "join" || plan.name !== undefined) return plan;
  // The daemon would name the member after the host: check that name here.
  const name = hostname();
  try {
    c.checkName(name);
  } catch {
    throw new MicroOvnError(
      "BAD_PRESEED",
      `preseed: "name" is not given and the host name "${name}" is not a valid member name; ` +
        `give "name"`,
    );
  }
  const clash = plan.tokens.findIndex((t) => t === name);
  if (clash >= 0) {
    throw new MicroOvnError(
      "BAD_PRESEED",
      `preseed: "tokens[${clash}]" is this member's own name ("${name}", the host name)`,
    );
  }
  return { ...plan, name };
}

// ---------------------------------------------------------------------------
// Doing it.

type TokenPrinter = (name: string, token: string, expiresAt: string) => void;

/** A step after this machine became a member: its failure says how to finish by hand. */
async function afterwards<T>(
  member: string,
  what: string,
  fix: string,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (e) {
    const code = e instanceof MicroOvnError ? e.code : "INIT_INCOMPLETE";
    throw new MicroOvnError(
      code,
      `${member} is a member now, but ${what} failed: ${(e as Error).message}\n` +
        `Finish with: ${fix}`,
    );
  }
}

/** The underlay interface, then the encapsulation IP, as `chassis set` would set them. */
async function setChassis(client: ControlClient, member: string, plan: InitPlan): Promise<void> {
  const put = (body: Record<string, string>) => () =>
    client.call<{ settings: ChassisSettings }>("PUT", "/chassis", body);
  const { underlayInterface, encapIp } = plan;
  if (underlayInterface !== undefined) {
    const { settings } = await afterwards(
      member,
      `moving the addresses of ${underlayInterface} onto ${UNDERLAY_BRIDGE}`,
      `microovn chassis set underlay-interface ${underlayInterface}`,
      put({ underlayInterface }),
    );
    info(
      `Underlay interface: ${underlayInterface} (its addresses are on ${UNDERLAY_BRIDGE}; ` +
        `Geneve from ${settings.underlay?.address ?? "?"})`,
    );
  }
  if (encapIp !== undefined) {
    const { settings } = await afterwards(
      member,
      "setting the encapsulation IP",
      `microovn chassis set encap-ip ${encapIp}`,
      put({ encapIp }),
    );
    info(`Encapsulation IP: ${settings.encapIp ?? encapIp}`);
  }
}

async function issueTokens(
  client: ControlClient,
  member: string,
  plan: BootstrapPlan,
  print: TokenPrinter,
): Promise<void> {
  for (const [i, name] of plan.tokens.entries()) {
    const timeout = plan.tokensTimeout ?? "3h";
    const { token, expiresAt } = await afterwards(
      member,
      `making the join token for ${name}`,
      plan.tokens
        .slice(i)
        .map((n) => `microovn cluster add ${n} --timeout ${timeout}`)
        .join("; "),
      () =>
        client.call<{ token: string; expiresAt: string }>("POST", "/cluster/add", {
          name,
          timeout,
        }),
    );
    print(name, token, expiresAt);
  }
}

function describe(member: MemberConfig): string {
  return `${member.name} (${member.address}); services: ${member.services.join(", ")}`;
}

async function execute(client: ControlClient, plan: InitPlan, print: TokenPrinter): Promise<void> {
  if (plan.kind === "bootstrap") {
    info(`Bootstrapping a new cluster as ${plan.name ?? "this host"}…`);
    const body: {
      name?: string;
      address?: string;
      services?: ServiceName[];
      allowForeignOvs?: boolean;
    } = {};
    if (plan.name !== undefined) body.name = plan.name;
    if (plan.allowForeignOvs === true) body.allowForeignOvs = true;
    if (plan.address !== undefined) body.address = plan.address;
    if (plan.services !== undefined) body.services = plan.services;
    const { member } = await client.call<{ member: MemberConfig }>(
      "POST",
      "/cluster/bootstrap",
      body,
    );
    info(`Bootstrapped ${describe(member)}`);
    await setChassis(client, member.name, plan);
    await issueTokens(client, member.name, plan, print);
    return;
  }
  info(`Joining the cluster as ${plan.name}…`);
  const { member, layout } = await client.call<{
    member: MemberConfig;
    layout: { members: { name: string }[] };
  }>("POST", "/cluster/join", {
    token: plan.token,
    ...(plan.address !== undefined ? { address: plan.address } : {}),
    ...(plan.allowForeignOvs === true ? { allowForeignOvs: true } : {}),
  });
  info(`Joined as ${describe(member)}; members: ${layout.members.map((m) => m.name).join(", ")}`);
  await setChassis(client, member.name, plan);
}

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command("init")
    .description(
      "Make this machine a member: bootstrap a new cluster or join one, answering questions " +
        "or from a preseed file",
    )
    .option(
      "--preseed <file>",
      "take the answers from this YAML file (- for standard input) instead of asking",
    )
    .option("--allow-foreign-ovs", ALLOW_FOREIGN_OVS_HELP)
    .action(async (options: { preseed?: string; allowForeignOvs?: boolean }) => {
      // Loaded only here: the checks pull in code other commands do not need.
      const c: ChecksModule = await import("../preseed.js");
      const allow = (plan: InitPlan): InitPlan =>
        options.allowForeignOvs === true ? { ...plan, allowForeignOvs: true } : plan;
      if (options.preseed !== undefined) {
        const plan = await completePreseed(c, c.parsePreseed(await readPreseed(options.preseed)));
        const client = ctx.client();
        await asNewMember(client, async () => {
          await checkNotMember(client);
          await execute(client, allow(plan), (name, token) => ctx.print(`${name} ${token}`));
        });
        return;
      }
      const client = ctx.client();
      await asNewMember(client, async () => {
        await checkNotMember(client);
        const { Prompter } = await import("../prompts.js");
        const prompter = new Prompter(process.stdin, process.stderr);
        let plan: InitPlan;
        try {
          plan = await wizard(c, prompter);
        } finally {
          prompter.close();
        }
        await execute(client, allow(plan), (name, token, expiresAt) => {
          info(`Join token for ${name} (valid until ${expiresAt}):`);
          ctx.print(token);
        });
      });
    });
}
