/**
 * OVSDB's JSON-RPC runs over a byte stream of concatenated JSON values with no
 * delimiter (RFC 7047 §3.1 leaves framing to the JSON syntax itself). This
 * splitter finds where each top-level value ends by tracking nesting depth and
 * string/escape state over raw bytes, so a chunk boundary may fall anywhere —
 * inside a string, an escape, or a multi-byte UTF-8 character — and nothing is
 * decoded until a whole value is in hand. Each byte is scanned once.
 */
import { StringDecoder } from "node:string_decoder";
import { MicroOvnError } from "../../errors.js";

export class FramingError extends MicroOvnError {
  /** Whole values that came before the bad bytes in the same chunk; still valid. */
  parsedBefore: unknown[] = [];

  constructor(message: string) {
    super("OVSDB_PROTOCOL", message);
  }
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

export interface JsonSplitterOptions {
  /** A value larger than this is a protocol error (protects memory). */
  maxMessageBytes?: number;
}

/**
 * Default limit: room for the initial monitor reply of a big Northbound DB
 * (100,000 rows with every column: 71 MB), well under V8's longest string.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export class JsonStreamSplitter {
  private readonly maxMessageBytes: number;
  /**
   * The unfinished value so far, already decoded: text is decoded chunk by
   * chunk as it arrives (while the server is still sending), so a large
   * reply costs no big copy and no big decode once its last byte is in.
   */
  private parts: string[] = [];
  private readonly decoder = new StringDecoder("utf8");
  /** Bytes of the value being read that are held in `parts`. */
  private held = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;

  constructor(options: JsonSplitterOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /**
   * Feeds bytes in; returns every complete value they finish, parsed. Throws a
   * FramingError on bytes that cannot start a JSON-RPC message, on a value that
   * is not valid JSON, or on one over the size limit; the splitter is then
   * unusable (the stream cannot be resynchronised).
   */
  push(chunk: Buffer): unknown[] {
    const values: unknown[] = [];
    try {
      this.scan(chunk, values);
    } catch (e) {
      if (e instanceof FramingError) e.parsedBefore = values;
      throw e;
    }
    return values;
  }

  private scan(chunk: Buffer, values: unknown[]): void {
    let start = 0;
    const length = chunk.length;
    for (let i = 0; i < length; i++) {
      const byte = chunk[i]!;
      if (!this.started) {
        if (isWhitespace(byte)) {
          start = i + 1;
          continue;
        }
        if (byte !== OPEN_BRACE && byte !== OPEN_BRACKET) {
          throw new FramingError(
            `expected a JSON object from the server, got byte 0x${byte.toString(16)}`,
          );
        }
        this.started = true;
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false; // this byte is the escaped character
          continue;
        }
        // Jump to the next quote natively; it ends the string unless an odd
        // run of backslashes right before it escapes it.
        const quote = chunk.indexOf(QUOTE, i);
        const end = quote === -1 ? length : quote;
        let run = 0;
        for (let j = end - 1; j >= i && chunk[j] === BACKSLASH; j--) run++;
        if (quote === -1) {
          this.escaped = run % 2 === 1;
          i = length;
          break;
        }
        i = quote;
        if (run % 2 === 0) this.inString = false;
        continue;
      }
      if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) this.depth++;
      else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (--this.depth === 0) {
          values.push(this.complete(chunk, start, i + 1));
          start = i + 1;
        }
      }
    }
    if (this.started) {
      const rest = length - start;
      if (rest > 0) {
        this.held += rest;
        if (this.held > this.maxMessageBytes) {
          throw new FramingError(
            `a message from the server exceeds ${this.maxMessageBytes} bytes; refusing to buffer it`,
          );
        }
        this.parts.push(this.decoder.write(start === 0 ? chunk : chunk.subarray(start)));
      }
    }
  }

  /** Bytes of an unfinished value held so far (0 between messages). */
  get pendingBytes(): number {
    return this.held;
  }

  private complete(chunk: Buffer, start: number, end: number): unknown {
    const size = this.held + end - start;
    if (size > this.maxMessageBytes) {
      throw new FramingError(
        `a message from the server exceeds ${this.maxMessageBytes} bytes; refusing to buffer it`,
      );
    }
    let text: string;
    if (this.parts.length === 0) {
      text = chunk.toString("utf8", start, end);
    } else {
      // The value ends on an ASCII '}' or ']', so the decoder holds no partial character.
      this.parts.push(this.decoder.write(chunk.subarray(start, end)));
      text = this.parts.join("");
      this.parts = [];
    }
    this.held = 0;
    this.started = false;
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw new FramingError(`the server sent invalid JSON: ${(e as Error).message}`);
    }
  }
}
