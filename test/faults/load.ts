/**
 * Load generator for the fault suite and the soak: keep-alive HTTP
 * `POST /v1/consume` spread over the daemons at a steady rate, logging every
 * admitted hit (node, limiter, key, time). That log is the truth the checks
 * compare the daemons' counts against — never the limiter's own counters.
 *
 * Requests whose outcome is unknown (sent, then the connection broke or the
 * timeout hit) are logged apart as indeterminate: a daemon may have counted
 * them, so they widen the upper bound of what it may count and nothing else.
 */
import http from 'node:http';
import { requestJson, RequestFailure } from './http.js';
import { createPrng } from '../../transport/sim/prng.js';

/** A daemon to send load to. */
export interface LoadTarget {
  id: string;
  url: string;
}

/** A key the load hits, with its share of the requests. */
export interface KeySpec {
  limiter: string;
  key: string;
  weight: number;
}

/** One admitted hit. `t` is the load generator's wall clock when the answer arrived, `sent` when the request left. */
export interface Hit {
  node: string;
  limiter: string;
  key: string;
  t: number;
  sent?: number;
}

/** Options of {@link LoadGenerator}. */
export interface LoadOptions {
  targets: LoadTarget[];
  /** Requests per second over all targets. */
  ratePerSec: number;
  keys: KeySpec[];
  seed: number;
  /** Requests in flight per target (default 4). */
  concurrency?: number;
  /** Per-request timeout (default 10 s: longer than any pause the suite injects). */
  timeoutMs?: number;
}

/** What a run saw. */
export interface LoadResult {
  sent: number;
  /** Requests sent, by limiter. */
  sentByLimiter: Record<string, number>;
  admitted: number;
  denied: number;
  hits: Hit[];
  indeterminate: Hit[];
  /** Requests refused before anything was sent (target down), or answered 503. */
  unavailable: number;
  /** Anything else: unexpected statuses or bodies, by kind. */
  errors: Record<string, number>;
  /** Response latencies of decisions, ms. */
  latencies: number[];
  startedAt: number;
  stoppedAt: number;
}

/** A seeded PRNG (the project's sfc32), as a bare function. */
export function prng(seed: number): () => number {
  const r = createPrng(seed);
  return () => r.next();
}

interface TargetState {
  target: LoadTarget;
  agent: http.Agent;
  next: number;
}

const MAX_LOGGED_LATENCIES = 200_000;

/** Steady keep-alive load over a set of daemons. */
export class LoadGenerator {
  readonly #opts: Required<LoadOptions>;
  readonly #random: () => number;
  readonly #cumulative: number[];
  #states: TargetState[] = [];
  #workers: Promise<void>[] = [];
  #running = false;
  readonly #result: LoadResult;

  constructor(options: LoadOptions) {
    this.#opts = { concurrency: 4, timeoutMs: 10_000, ...options };
    this.#random = prng(options.seed);
    let sum = 0;
    this.#cumulative = options.keys.map((k) => (sum += k.weight));
    this.#result = {
      sent: 0,
      sentByLimiter: {},
      admitted: 0,
      denied: 0,
      hits: [],
      indeterminate: [],
      unavailable: 0,
      errors: {},
      latencies: [],
      startedAt: 0,
      stoppedAt: 0,
    };
  }

  /** The live result (hits so far). */
  get result(): LoadResult {
    return this.#result;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#result.startedAt = Date.now();
    const { targets, concurrency, ratePerSec } = this.#opts;
    this.#states = targets.map((target) => ({
      target,
      agent: new http.Agent({ keepAlive: true, maxSockets: concurrency }),
      next: Date.now(),
    }));
    const intervalMs = (1000 * targets.length) / ratePerSec;
    for (const state of this.#states) {
      for (let w = 0; w < concurrency; w++) this.#workers.push(this.#worker(state, intervalMs));
    }
  }

  /** Stops sending, waits for requests in flight, returns the result. */
  async stop(): Promise<LoadResult> {
    this.#running = false;
    await Promise.all(this.#workers);
    this.#workers = [];
    for (const s of this.#states) s.agent.destroy();
    this.#result.stoppedAt = Date.now();
    return this.#result;
  }

  #pickKey(): KeySpec {
    const keys = this.#opts.keys;
    const x = this.#random() * this.#cumulative[this.#cumulative.length - 1];
    for (let i = 0; i < keys.length; i++) if (x < this.#cumulative[i]) return keys[i];
    return keys[keys.length - 1];
  }

  async #worker(state: TargetState, intervalMs: number): Promise<void> {
    // Bounded: at most one request per interval per target for as long as the run lasts.
    for (let i = 0; this.#running && i < 10_000_000; i++) {
      const now = Date.now();
      // No catch-up burst after a stall (a paused target): the schedule restarts from now.
      const slot = Math.max(state.next, now);
      state.next = slot + intervalMs;
      if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
      if (!this.#running) return;
      await this.#one(state);
    }
  }

  async #one(state: TargetState): Promise<void> {
    const spec = this.#pickKey();
    const r = this.#result;
    r.sent++;
    r.sentByLimiter[spec.limiter] = (r.sentByLimiter[spec.limiter] ?? 0) + 1;
    const t0 = Date.now();
    try {
      const res = await requestJson(`${state.target.url}/v1/consume`, {
        method: 'POST',
        body: { limiter: spec.limiter, key: spec.key },
        agent: state.agent,
        timeoutMs: this.#opts.timeoutMs,
      });
      const t = Date.now();
      const body = res.body as { allowed?: unknown } | null;
      if ((res.status === 200 || res.status === 429) && body !== null && typeof body.allowed === 'boolean') {
        if (r.latencies.length < MAX_LOGGED_LATENCIES) r.latencies.push(t - t0);
        if (body.allowed) {
          r.admitted++;
          r.hits.push({ node: state.target.id, limiter: spec.limiter, key: spec.key, t, sent: t0 });
        } else r.denied++;
      } else if (res.status === 503) {
        r.unavailable++;
      } else {
        const kind = `http ${res.status}`;
        r.errors[kind] = (r.errors[kind] ?? 0) + 1;
      }
    } catch (err) {
      if (err instanceof RequestFailure && err.kind === 'refused') {
        r.unavailable++;
        // Nothing listens there (a crashed node): do not spin on instant refusals.
        await new Promise((resolve) => setTimeout(resolve, 20));
      } else {
        r.indeterminate.push({ node: state.target.id, limiter: spec.limiter, key: spec.key, t: Date.now(), sent: t0 });
      }
    }
  }
}

/** Hits per key (optionally only those of one limiter or node). */
export function tally(hits: readonly Hit[], filter: (h: Hit) => boolean = () => true): Map<string, number> {
  const out = new Map<string, number>();
  for (const h of hits) if (filter(h)) out.set(h.key, (out.get(h.key) ?? 0) + 1);
  return out;
}

/**
 * The most hits of one key admitted inside any window of `windowMs`, over
 * the keys of `hits`, divided by `limit` (the design's admittedRatio).
 */
export function admittedRatio(hits: readonly Hit[], windowMs: number, limit: number): number {
  const byKey = new Map<string, number[]>();
  for (const h of hits) {
    let list = byKey.get(h.key);
    if (list === undefined) byKey.set(h.key, (list = []));
    list.push(h.t);
  }
  let best = 0;
  for (const times of byKey.values()) {
    times.sort((a, b) => a - b);
    let lo = 0;
    for (let hi = 0; hi < times.length; hi++) {
      while (times[hi] - times[lo] >= windowMs) lo++;
      best = Math.max(best, hi - lo + 1);
    }
  }
  return best / limit;
}

/** A percentile of `values` (0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
