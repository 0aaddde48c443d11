/**
 * A raw RESP client for tests: writes commands as multibulks (or any bytes)
 * over `net`, and decodes replies with its own small RESP2/RESP3 reader — an
 * oracle independent of src/resp. Replies keep their RESP type, so a test can
 * tell a RESP3 map from a flat array and `_` from `$-1`.
 */
import net from 'node:net';

/** One decoded reply, tagged with its RESP type byte. */
export type Reply =
  | { type: '+' | '-'; value: string }
  | { type: ':'; value: number }
  | { type: '$' | '='; value: string | null }
  | { type: '_'; value: null }
  | { type: '*'; value: Reply[] | null }
  | { type: '%'; value: Array<[Reply, Reply]> };

/** Encodes a command the way client libraries do. */
export function multibulk(...args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Decodes one reply at `pos`; undefined when incomplete. */
export function readReply(buf: Buffer, pos: number): { reply: Reply; next: number } | undefined {
  const eol = buf.indexOf('\r\n', pos);
  if (eol === -1) return undefined;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
    case '-':
      return { reply: { type, value: line }, next: after };
    case ':':
      return { reply: { type, value: Number(line) }, next: after };
    case '_':
      return { reply: { type, value: null }, next: after };
    case '$':
    case '=': {
      const n = Number(line);
      if (n < 0) return { reply: { type, value: null }, next: after };
      if (buf.length < after + n + 2) return undefined;
      return { reply: { type, value: buf.toString('utf8', after, after + n) }, next: after + n + 2 };
    }
    case '*':
    case '%': {
      const n = Number(line);
      if (n < 0) return { reply: { type: '*', value: null }, next: after };
      let p = after;
      const items: Reply[] = [];
      for (let i = 0; i < (type === '%' ? 2 * n : n); i++) {
        const r = readReply(buf, p);
        if (r === undefined) return undefined;
        items.push(r.reply);
        p = r.next;
      }
      if (type === '*') return { reply: { type, value: items }, next: p };
      const pairs: Array<[Reply, Reply]> = [];
      for (let i = 0; i < items.length; i += 2) pairs.push([items[i], items[i + 1]]);
      return { reply: { type, value: pairs }, next: p };
    }
    default:
      throw new Error(`not a RESP reply type: ${JSON.stringify(type)}`);
  }
}

/** A connection with a reply queue. */
export class RawResp {
  readonly socket: net.Socket;
  /** Every byte received (tests check that an HTTP request got none). */
  received = 0;
  closed: Promise<void>;
  #buf: Buffer = Buffer.alloc(0);
  #replies: Reply[] = [];
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
      let pos = 0;
      for (;;) {
        const r = readReply(this.#buf, pos);
        if (r === undefined) break;
        this.#replies.push(r.reply);
        pos = r.next;
      }
      this.#buf = this.#buf.subarray(pos);
      for (const w of this.#waiters.splice(0)) w();
    });
    socket.on('close', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawResp> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new RawResp(s)));
      s.once('error', reject);
    });
  }

  /** Replies received and not yet taken. */
  get buffered(): number {
    return this.#replies.length;
  }

  /** Sends a command and returns its reply. */
  async call(...args: string[]): Promise<Reply> {
    this.socket.write(multibulk(...args));
    const [r] = await this.take(1);
    return r;
  }

  /** Waits for `n` replies (rejects if the connection closes first). */
  async take(n: number): Promise<Reply[]> {
    while (this.#replies.length < n) {
      if (this.socket.destroyed || this.socket.readableEnded) throw new Error(`connection closed after ${this.#replies.length} of ${n} replies`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#replies.splice(0, n);
  }
}
