/**
 * Questions on a terminal or a pipe. Answers are read line by line from an
 * async iterator over the input, so lines that arrive before their
 * question (a script piping every answer at once) wait for it instead of
 * being lost. Questions and the reasons an answer was refused go to
 * `output` (the CLI uses stderr, keeping stdout for results). When the
 * input is not a terminal nothing echoes the answers, so they are written
 * after their questions (secrets as "(hidden)"): a log of a scripted run
 * reads like a session at a terminal.
 */
import { createInterface, type Interface } from "node:readline";
import { MicroOvnError } from "../errors.js";

export interface AskOptions {
  /** Not echoed when the input is not a terminal. */
  secret?: boolean;
}

export class Prompter {
  private readonly rl: Interface;
  private readonly lines: AsyncIterator<string>;
  private readonly echo: boolean;

  constructor(
    input: NodeJS.ReadableStream & { isTTY?: boolean },
    private readonly output: NodeJS.WritableStream,
  ) {
    this.echo = input.isTTY !== true;
    // No `output`: readline neither echoes nor takes the terminal over; a
    // terminal in its normal (cooked) mode echoes and edits lines itself.
    this.rl = createInterface({ input, crlfDelay: Infinity, terminal: false });
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  /** Writes `question`, returns the next line (trimmed); throws INPUT_ENDED at end of input. */
  async line(question: string, options: AskOptions = {}): Promise<string> {
    this.output.write(`${question} `);
    const next = await this.lines.next();
    if (this.echo || next.done) {
      const shown = next.done ? "" : options.secret && next.value.trim() ? "(hidden)" : next.value;
      this.output.write(`${shown.trim()}\n`);
    }
    if (next.done) {
      throw new MicroOvnError(
        "INPUT_ENDED",
        `the input ended before this question was answered: "${question}"; nothing was changed`,
      );
    }
    return next.value.trim();
  }

  /**
   * Asks until `parse` accepts the answer; each refusal (a thrown error's
   * message) is shown on one line before the question comes again.
   */
  async ask<T>(
    question: string,
    parse: (answer: string) => T,
    options: AskOptions = {},
  ): Promise<T> {
    for (;;) {
      const answer = await this.line(question, options);
      try {
        return parse(answer);
      } catch (e) {
        if (!(e instanceof MicroOvnError)) throw e;
        this.output.write(`  ${e.message.split("\n")[0]}; please try again\n`);
      }
    }
  }

  /** Writes a line of information. */
  say(text: string): void {
    this.output.write(`${text}\n`);
  }

  close(): void {
    this.rl.close();
  }
}
