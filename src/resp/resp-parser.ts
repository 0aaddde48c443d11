/**
 * The RESP request parser: turns the bytes of one connection into commands
 * (arrays of bulk strings, the form every Redis client sends, or inline
 * commands typed at a terminal). Incremental — a command may arrive in any
 * number of chunks — and bounded: argument count, bulk length and inline line
 * length are checked before anything is buffered past them, so a client
 * cannot make the daemon hold more than one command's worth of input.
 *
 * Anything that is not RESP (a first byte other than `*` on a multibulk, a
 * bad length, a missing CRLF) is a {@link RespProtocolError}: the server
 * answers it once and closes the connection, as Redis does. A line that looks
 * like HTTP is reported as {@link RespHttpError} so the server can close
 * without answering (a browser must not drive this port cross-protocol).
 *
 * A written-here parser rather than a package: the request side of RESP is
 * two productions (multibulk of bulks, inline), and the npm parsers
 * (redis-parser, resp3 parsers) parse replies, not requests.
 *
 * @module
 */

/** Bounds of {@link RespParser}. */
export interface RespParserBounds {
  /** Most arguments in one command (the command name included). */
  maxArgs: number;
  /** Longest bulk string argument, in bytes. */
  maxArgBytes: number;
  /** Longest inline command or header line (`*<n>`, `$<n>`), in bytes. */
  maxLineBytes: number;
}

/** One parsed command. */
export interface RespCommand {
  /** Arguments decoded as UTF-8; the first is the command name. */
  args: string[];
  /** True when some argument was not valid UTF-8 (it then holds U+FFFD). */
  notUtf8: boolean;
}

/** Input that is not RESP, or past a bound. The message is what the client is told. */
export class RespProtocolError extends Error {}

/** A line that looks like an HTTP request or header. */
export class RespHttpError extends Error {}

const CR = 13;
const LF = 10;
const STAR = 42; // '*'
const DOLLAR = 36; // '$'
const MINUS = 45; // '-'
const ZERO = 48; // '0'

/** First words of an HTTP request line, and the header Redis also watches for (it closes on `POST` and `Host:`). */
const HTTP_LINE = /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|TRACE) |^host:/i;

/** Parser states: between commands, inside a multibulk (reading `$<n>` headers and bulks). */
const State = { COMMAND: 0, BULK_HEADER: 1, BULK_BODY: 2 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Incremental RESP request parser for one connection.
 *
 * @example
 * const parser = new RespParser({ maxArgs: 32, maxArgBytes: 4096, maxLineBytes: 16384 });
 * parser.push(Buffer.from('*1\r\n$4\r\nPING\r\n'));
 * parser.next(); // { args: ['PING'], notUtf8: false }
 * parser.next(); // undefined: nothing more buffered
 */
export class RespParser {
  #bounds: RespParserBounds;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #state: State = State.COMMAND;
  #expected = 0; // arguments still to read in the current multibulk
  #bulkLen = 0;
  #args: string[] = [];
  #notUtf8 = false;
  #seenAny = false;

  constructor(bounds: RespParserBounds) {
    this.#bounds = bounds;
  }

  /** Bytes received and not yet parsed. */
  get pendingBytes(): number {
    return this.#buf.length - this.#pos;
  }

  /** Appends received bytes. */
  push(chunk: Buffer): void {
    if (this.#pos >= this.#buf.length) {
      this.#buf = chunk;
    } else {
      // Only a partial command is ever carried over, so this copy is bounded by one command.
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    }
    this.#pos = 0;
  }

  /**
   * The next complete command, or undefined when more bytes are needed.
   * @throws RespProtocolError, RespHttpError
   */
  next(): RespCommand | undefined {
    for (;;) {
      if (this.#state === State.COMMAND) {
        if (this.#pos >= this.#buf.length) return undefined;
        if (this.#buf[this.#pos] === STAR) {
          const n = this.#lineInteger('multibulk length');
          if (n === undefined) return undefined;
          this.#seenAny = true;
          if (n > this.#bounds.maxArgs) throw new RespProtocolError(`too many arguments (at most ${this.#bounds.maxArgs}, got ${n})`);
          if (n <= 0) continue; // Redis ignores empty and null multibulks.
          this.#expected = n;
          this.#args = [];
          this.#notUtf8 = false;
          this.#state = State.BULK_HEADER;
          continue;
        }
        const inline = this.#inline();
        if (inline === undefined) return undefined;
        if (inline.args.length > 0) return inline;
        continue;
      }
      if (this.#state === State.BULK_HEADER) {
        if (this.#pos >= this.#buf.length) return undefined;
        if (this.#buf[this.#pos] !== DOLLAR) {
          throw new RespProtocolError(`expected '$', got '${String.fromCharCode(this.#buf[this.#pos])}'`);
        }
        const len = this.#lineInteger('bulk length');
        if (len === undefined) return undefined;
        if (len < 0) throw new RespProtocolError('invalid bulk length');
        if (len > this.#bounds.maxArgBytes) throw new RespProtocolError(`argument too long (at most ${this.#bounds.maxArgBytes} bytes, got ${len})`);
        this.#bulkLen = len;
        this.#state = State.BULK_BODY;
      }
      // BULK_BODY
      const end = this.#pos + this.#bulkLen;
      if (this.#buf.length < end + 2) return undefined;
      if (this.#buf[end] !== CR || this.#buf[end + 1] !== LF) throw new RespProtocolError('bulk string not followed by CRLF');
      this.#args.push(this.#decode(this.#pos, end));
      this.#pos = end + 2;
      if (--this.#expected > 0) {
        this.#state = State.BULK_HEADER;
        continue;
      }
      this.#state = State.COMMAND;
      const cmd = { args: this.#args, notUtf8: this.#notUtf8 };
      this.#args = [];
      return cmd;
    }
  }

  /**
   * Reads `<prefix><integer>\r\n` at the position (the integer: an optional
   * `-` and 1 to 18 digits); undefined when the line is incomplete. Parsed
   * from the bytes: a string and a regular expression per header cost more
   * than the decision itself on a pipelined connection (two headers per
   * argument, profiled with `--cpu-prof`).
   */
  #lineInteger(what: string): number | undefined {
    const buf = this.#buf;
    const eol = buf.indexOf(LF, this.#pos);
    if (eol === -1) {
      if (buf.length - this.#pos > 32) throw new RespProtocolError(`invalid ${what}`);
      return undefined;
    }
    if (eol - this.#pos > 32 || buf[eol - 1] !== CR) throw new RespProtocolError(`invalid ${what}`);
    let i = this.#pos + 1;
    const negative = buf[i] === MINUS;
    if (negative) i++;
    const end = eol - 1;
    if (end - i < 1 || end - i > 18) throw new RespProtocolError(`invalid ${what}`);
    let n = 0;
    for (; i < end; i++) {
      const digit = buf[i] - ZERO;
      if (digit < 0 || digit > 9) throw new RespProtocolError(`invalid ${what}`);
      n = n * 10 + digit;
    }
    this.#pos = eol + 1;
    return negative ? -n : n;
  }

  /** Reads an inline command (space-separated words up to LF); undefined when incomplete. */
  #inline(): RespCommand | undefined {
    const eol = this.#buf.indexOf(LF, this.#pos);
    const max = this.#bounds.maxLineBytes;
    if (eol === -1) {
      if (this.#buf.length - this.#pos > max) throw new RespProtocolError(`inline command too long (at most ${max} bytes)`);
      // Checked before the line ends: a browser's request line is refused before its headers arrive.
      if (!this.#seenAny && HTTP_LINE.test(this.#buf.toString('latin1', this.#pos, Math.min(this.#buf.length, this.#pos + 16)))) {
        throw new RespHttpError('HTTP request');
      }
      return undefined;
    }
    if (eol - this.#pos > max) throw new RespProtocolError(`inline command too long (at most ${max} bytes)`);
    const stop = eol > this.#pos && this.#buf[eol - 1] === CR ? eol - 1 : eol;
    const line = this.#decode(this.#pos, stop);
    this.#pos = eol + 1;
    if (HTTP_LINE.test(line)) throw new RespHttpError('HTTP request');
    this.#seenAny = true;
    const args = line.split(' ').filter((w) => w !== '');
    if (args.length > this.#bounds.maxArgs) throw new RespProtocolError(`too many arguments (at most ${this.#bounds.maxArgs}, got ${args.length})`);
    // Inline arguments are bounded by the line; quoting (redis-cli's "a b") is not supported.
    const cmd = { args, notUtf8: this.#notUtf8 };
    this.#notUtf8 = false;
    return cmd;
  }

  #decode(start: number, end: number): string {
    const s = this.#buf.toString('utf8', start, end);
    // U+FFFD in the output is either sent as such or a replaced invalid sequence: only then look closer.
    if (s.includes('\uFFFD') && !Buffer.from(s, 'utf8').equals(this.#buf.subarray(start, end))) this.#notUtf8 = true;
    return s;
  }
}
