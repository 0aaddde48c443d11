/**
 * The drain before a graceful shutdown, one rule for every front door: once
 * a stop is asked for, `/readyz` answers 503 at once (so a load balancer
 * takes the node out of rotation) while decisions keep being served for
 * `drainMs`; only then does the node stop accepting, flush to its peers and
 * close. Asking again during the drain skips the rest of it.
 *
 * At the cut the port stops listening before any request is refused, so a
 * client that reconnects after its 503 meets a closed port, and requests on
 * connections already open are answered (503, `Connection: close`) before
 * those connections close: none is cut under a request.
 *
 * @module
 */

import net from 'node:net';

/**
 * Stops `server` accepting connections, leaving the ones it accepted alone.
 * `http.Server.close()` also destroys every connection without a request in
 * progress (Node 19+), which includes one accepted a moment ago whose request
 * is still in flight: its client would see the connection closed under its
 * request. Closing only the listening socket lets such a request arrive and
 * be answered (with 503 and `Connection: close` once decisions stop); the
 * daemon cuts what is left at the end of its shutdown.
 *
 * @example
 * stopListening(server); // new connections are refused; open ones are answered
 */
export function stopListening(server: net.Server): void {
  net.Server.prototype.close.call(server);
}

/** Longest wait, at the end of a shutdown, for connections accepted before the cut to be answered. */
export const LINGER_MS = 500;

/**
 * Waits (at most `maxMs`) until `server` holds no connection: requests on
 * connections accepted just before the cut are answered rather than cut off.
 * Keep-alive connections idling since before the drain hold it to `maxMs`.
 */
export async function lingerForConnections(server: net.Server, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const open = await new Promise<number>((resolve) => server.getConnections((err, n) => resolve(err === null ? n : 0)));
    if (open === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Default drain: long enough for a load balancer polling `/readyz` every second or two to notice. */
export const DEFAULT_DRAIN_MS = 5_000;

/** Where a daemon is in its life: serving, draining (not ready, still deciding), or closing (refusing). */
export type DrainState = 'serving' | 'draining' | 'closing';

/**
 * The drain timer of one daemon.
 *
 * @example
 * const drain = new Drain(5_000);
 * await drain.run('SIGTERM');   // resolves after 5 s, or at once on a second run()
 * drain.state;                  // 'closing'
 */
export class Drain {
  readonly drainMs: number;
  #state: DrainState = 'serving';
  #endsAt = 0;
  #finish: (() => void) | null = null;
  #done: Promise<void> | null = null;

  constructor(drainMs: number) {
    this.drainMs = drainMs;
  }

  /** The current state. */
  get state(): DrainState {
    return this.#state;
  }

  /** True from the first stop request on: `/readyz` answers 503. */
  get stopping(): boolean {
    return this.#state !== 'serving';
  }

  /** What `/readyz` says while draining. */
  describe(): string {
    if (this.#state !== 'draining') return 'shutting down';
    return `draining: decisions are served for ${Math.max(0, this.#endsAt - Date.now())} ms more, then the node shuts down`;
  }

  /**
   * Starts the drain (resolves when it ends), or, called again while
   * draining, ends it now. Once closing, resolves at once.
   */
  run(): Promise<void> {
    if (this.#state === 'draining') {
      this.#finish?.();
      return this.#done as Promise<void>;
    }
    if (this.#state === 'closing') return Promise.resolve();
    this.#state = 'draining';
    this.#endsAt = Date.now() + this.drainMs;
    this.#done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#finish?.(), this.drainMs);
      this.#finish = () => {
        clearTimeout(timer);
        this.#finish = null;
        this.#state = 'closing';
        resolve();
      };
    });
    return this.#done;
  }

  /** Skips to closing (a close without drain). */
  close(): void {
    if (this.#state === 'draining') this.#finish?.();
    this.#state = 'closing';
  }
}
