/**
 * The demo's load generator: batches of consume requests sent over each
 * daemon's real HTTP API (`POST /v1/consume` with `{ requests }`), keys drawn
 * from a Zipf-like distribution so a few hot keys hit their limit while the
 * rest stay under it. It keeps its own log of what was admitted per key —
 * the truth the demo's summary checks every node against.
 *
 * @module
 */

/** Client-side tallies for one daemon. */
export interface TargetStats {
  sent: number;
  admitted: number;
  denied: number;
  errors: number;
  /** Last request failure, for the view. */
  lastError: string | null;
}

/** Options of {@link LoadGenerator}. */
export interface LoadOptions {
  /** Base URLs of the daemons; the load is spread evenly over them. */
  urls: string[];
  limiter: string;
  keys: string[];
  /** Offered decisions per second, over all daemons. */
  rate: number;
  /** Batches go out every `tickMs` (default 50). */
  tickMs?: number;
  seed?: number;
}

/** mulberry32: a small seeded PRNG, enough to pick keys and costs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Share of the load each key gets: key i (from 0) ∝ 1/(i+1). */
export function zipfShares(n: number): number[] {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((x, y) => x + y, 0);
  return weights.map((w) => w / total);
}

/** Most requests in flight per daemon: past it a tick is skipped rather than queued. */
const MAX_IN_FLIGHT = 2;

/** Sends batches of decisions to every daemon until stopped. */
export class LoadGenerator {
  readonly stats: TargetStats[];
  /** Hits admitted per key, from the daemons' answers. */
  readonly admittedByKey = new Map<string, number>();
  /** Requests sent per key. */
  readonly sentByKey = new Map<string, number>();
  #o: Required<LoadOptions>;
  #random: () => number;
  #cumulative: number[];
  #credit: number[];
  #inFlight: number[];
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;
  #pending = new Set<Promise<void>>();

  constructor(options: LoadOptions) {
    this.#o = { tickMs: 50, seed: 1, ...options };
    this.#random = prng(this.#o.seed);
    let sum = 0;
    this.#cumulative = zipfShares(options.keys.length).map((s) => (sum += s));
    this.stats = options.urls.map(() => ({ sent: 0, admitted: 0, denied: 0, errors: 0, lastError: null }));
    this.#credit = options.urls.map(() => 0);
    this.#inFlight = options.urls.map(() => 0);
  }

  /** Starts sending. */
  start(): void {
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.#o.tickMs);
  }

  /** Stops sending and waits for the answers still in flight. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.#pending);
  }

  /** Totals over every daemon. */
  totals(): TargetStats {
    const t: TargetStats = { sent: 0, admitted: 0, denied: 0, errors: 0, lastError: null };
    for (const s of this.stats) {
      t.sent += s.sent;
      t.admitted += s.admitted;
      t.denied += s.denied;
      t.errors += s.errors;
      t.lastError = s.lastError ?? t.lastError;
    }
    return t;
  }

  #tick(): void {
    // Credit follows the clock, not the tick count: a busy event loop fires
    // fewer ticks, and the next ones make up for it.
    const now = performance.now();
    const perTarget = (this.#o.rate * (now - this.#lastTick)) / 1000 / this.#o.urls.length;
    this.#lastTick = now;
    for (let i = 0; i < this.#o.urls.length; i++) {
      // Fractional credit carries over so low rates still send something.
      this.#credit[i] += perTarget;
      const n = Math.floor(this.#credit[i]);
      if (n === 0 || this.#inFlight[i] >= MAX_IN_FLIGHT) continue;
      this.#credit[i] -= n;
      const p = this.#send(i, Math.min(n, 1000));
      this.#pending.add(p);
      void p.finally(() => this.#pending.delete(p));
    }
  }

  #pickKey(): string {
    const r = this.#random();
    let lo = 0;
    let hi = this.#cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#cumulative[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    return this.#o.keys[lo];
  }

  async #send(i: number, n: number): Promise<void> {
    const requests = Array.from({ length: n }, () => ({
      limiter: this.#o.limiter,
      key: this.#pickKey(),
      // Mostly single hits, now and then a heavier request.
      cost: this.#random() < 0.9 ? 1 : 2 + Math.floor(this.#random() * 2),
    }));
    const s = this.stats[i];
    this.#inFlight[i]++;
    try {
      const res = await fetch(`${this.#o.urls[i]}/v1/consume`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requests }),
        signal: AbortSignal.timeout(5000),
      });
      const body = (await res.json()) as { results?: Array<{ allowed?: unknown }>; error?: { message?: string } };
      if (res.status !== 200 || !Array.isArray(body.results)) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
      s.sent += n;
      body.results.forEach((d, j) => {
        const { key, cost } = requests[j];
        this.sentByKey.set(key, (this.sentByKey.get(key) ?? 0) + 1);
        if (d.allowed === true) {
          s.admitted++;
          this.admittedByKey.set(key, (this.admittedByKey.get(key) ?? 0) + cost);
        } else if (d.allowed === false) s.denied++;
        else s.errors++;
      });
    } catch (err) {
      s.errors += n;
      s.lastError = (err as Error).message;
    } finally {
      this.#inFlight[i]--;
    }
  }
}
