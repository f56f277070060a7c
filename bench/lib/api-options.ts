/** The options of `npm run bench:api` that pick what runs. */
import { MicroOvnError } from "../../src/errors.js";

/** Steps that `--only` runs alone. */
export const ONLY_STEPS = ["fip-ready"] as const;

/**
 * The one step `--only STEP` asks for (the others are skipped), or
 * undefined for all. Read before anything is built or made.
 */
export function onlyStep(args: readonly string[]): (typeof ONLY_STEPS)[number] | undefined {
  const at = args.indexOf("--only");
  if (at === -1) return undefined;
  const step = args[at + 1];
  const known = ONLY_STEPS.find((s) => s === step);
  if (known === undefined) {
    throw new MicroOvnError(
      "BAD_BENCH_OPTION",
      `--only takes one of ${ONLY_STEPS.join(", ")}, not ${step ?? "nothing"}; ` +
        "leave it out to run every step",
    );
  }
  return known;
}
