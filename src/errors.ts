/**
 * The base of every error this project raises on purpose. `code` is stable
 * (scripts and tests match on it); `message` tells the reader what to do.
 */
export class MicroOvnError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
