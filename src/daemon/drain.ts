/**
 * The drain before a graceful shutdown, one rule for every front door: once
 * a stop is asked for, `/readyz` answers 503 at once (so a load balancer
 * takes the node out of rotation) while decisions keep being served for
 * `drainMs`; only then does the node stop accepting, flush to its peers and
 * close. Asking again during the drain skips the rest of it.
 *
 * While draining, HTTP responses carry `Connection: close`: keep-alive
 * connections end after their response instead of idling into the cut,
 * where a client's next request on them would meet a reset.
 *
 * @module
 */

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
