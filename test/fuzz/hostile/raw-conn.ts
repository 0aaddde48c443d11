/**
 * A raw TCP client for the hostile-client suite: it writes whatever bytes an
 * attack needs (a byte at a time, junk, a header of 100 KB) and records what
 * the server did with the connection — the status lines it answered, and
 * whether and when it ended the connection. Every wait is bounded.
 */
import net from 'node:net';

/** Bytes of the answer kept for inspection (an event stream may send megabytes; only the count is kept past this). */
const KEPT_BYTES = 64 * 1024;

/** Options of {@link rawConnect}. */
export interface RawConnectOptions {
  /** Local address to dial from (any of 127.0.0.0/8 on Linux), so one test can play several remote hosts. */
  localAddress?: string;
  /** false: the socket is never read (the kernel's receive window fills), until {@link RawConn.resume}. */
  read?: boolean;
}

/** One raw connection and what the server did with it. */
export class RawConn {
  readonly socket: net.Socket;
  /** performance.now() when the connection was established. */
  openedAt = 0;
  /** performance.now() when the server ended the connection (FIN or reset); null while open, or when the test closed it. */
  closedAt: number | null = null;
  /** Bytes received in all. */
  received = 0;
  /** Settles once the connection is closed, by either side. */
  readonly closed: Promise<void>;
  #kept: Buffer[] = [];
  #keptBytes = 0;
  #closedByUs = false;
  #open = true;

  private constructor(socket: net.Socket, read: boolean) {
    this.socket = socket;
    socket.on('error', () => {}); // a reset by the server is an outcome, recorded on 'close'
    if (!read) socket.pause();
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      if (this.#keptBytes < KEPT_BYTES) {
        const part = chunk.subarray(0, KEPT_BYTES - this.#keptBytes);
        this.#kept.push(part);
        this.#keptBytes += part.length;
      }
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#open = false;
        if (!this.#closedByUs) this.closedAt = performance.now();
        resolve();
      }),
    );
  }

  /** Connects to 127.0.0.1:`port`; resolves once connected. */
  static connect(port: number, options: RawConnectOptions = {}): Promise<RawConn> {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: options.localAddress });
    const conn = new RawConn(socket, options.read !== false);
    return new Promise((resolve, reject) => {
      socket.once('connect', () => {
        conn.openedAt = performance.now();
        resolve(conn);
      });
      socket.once('close', () => reject(new Error(`could not connect to 127.0.0.1:${port}`)));
    });
  }

  /** True until either side closed the connection. */
  get open(): boolean {
    return this.#open;
  }

  /** Milliseconds from connecting until the server closed the connection; null when it did not. */
  get heldMs(): number | null {
    return this.closedAt === null ? null : this.closedAt - this.openedAt;
  }

  /** The first bytes received (up to 64 KiB), as latin1 text. */
  text(): string {
    return Buffer.concat(this.#kept).toString('latin1');
  }

  /** Status codes of the HTTP responses received, in order. */
  statuses(): number[] {
    return [...this.text().matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
  }

  /** Writes without waiting; a write on a connection the server already cut is dropped. */
  write(bytes: string | Uint8Array): void {
    if (this.#open && !this.socket.destroyed && this.socket.writable) this.socket.write(bytes);
  }

  /** Starts reading a socket opened with `read: false`. */
  resume(): void {
    this.socket.resume();
  }

  /** Waits until the server closes the connection, at most `timeoutMs`; true if it did. */
  async waitClosed(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.closed, deadline]);
    clearTimeout(timer);
    return !this.#open;
  }

  /** Waits until `count` responses arrived, at most `timeoutMs`; true if they did. */
  async waitStatuses(count: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.statuses().length < count && this.#open && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.statuses().length >= count;
  }

  /** Closes the connection from this side (not counted as the server's doing). */
  destroy(): void {
    if (!this.#open) return;
    this.#closedByUs = true;
    this.socket.destroy();
  }
}
