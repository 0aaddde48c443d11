/**
 * `createClient`: wires a {@link Pipeline} of calls to one
 * {@link StreamConnection} at a time, chosen by {@link Failover}.
 *
 * Lifecycle (`ClientState`): `idle` (no connection; dials when a call
 * comes) → `connecting` → `open`; a connection that fails marks its URL in
 * the failover and the client dials the next URL at once, or, when every URL
 * is being skipped, goes `waiting` for the first to come back. `closed` is
 * final. A call never waits on any of this past its own deadline (the
 * pipeline's timer).
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { codes, isTallymeshError, type TallymeshError } from '../errors.js';
import type { ItemResult } from '../stream/batch.js';
import { MAX_STREAM_FRAME_BYTES } from '../stream/stream-codec.js';
import { checkKey, describeValue } from '../validate.js';
import { StreamConnection } from './connection.js';
import { failDecision, fromItem, type ClientDecision } from './decision.js';
import { Failover } from './failover.js';
import { resolveClientOptions, type ClientOptions, type ResolvedClientOptions } from './options.js';
import { peekOnce } from './peek.js';
import { Pipeline, type PipelineHost } from './pipeline.js';

/** Where a client is. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'waiting' | 'closed';

/** What {@link TallymeshClient.status} reports. */
export interface ClientStatus {
  state: ClientState;
  /** The stream URL of the current connection, or null. */
  url: string | null;
  /** Calls not settled yet. */
  inFlight: number;
  /** Connections opened so far. */
  connections: number;
  /** Connections lost to a problem (refused, dropped, stuck, daemon going away). */
  failures: number;
  /** The last connection problem, or null. */
  lastProblem: Error | null;
}

/** A client of one or several daemons' `/v1/stream`. */
export interface TallymeshClient {
  /**
   * Counts `cost` (default 1) hits of `key` against the daemon's limiter
   * `limiter` and resolves with the decision. Calls made in the same tick go
   * out in one frame. Settles within `timeoutMs`: when no daemon answered,
   * with the fail mode's decision or `TALLYMESH_ERR_CLIENT_TIMEOUT`.
   *
   * @throws (rejects) the daemon's registry error for a bad request
   *   (`TALLYMESH_ERR_LIMITER_UNKNOWN`, `_KEY_INVALID`, `_COST_INVALID`…),
   *   `TALLYMESH_ERR_CLIENT_CLOSED` after `close()`.
   */
  consume(limiter: string, key: string, cost?: number): Promise<ClientDecision>;
  /** The decision a cost-1 request would get now, counting nothing (one HTTP request); same deadline and fail mode. */
  peek(limiter: string, key: string): Promise<ClientDecision>;
  /** Where the client is (for logs, health checks and tests). */
  status(): ClientStatus;
  /**
   * Stops taking calls, lets those in flight settle (each within its
   * deadline), then closes the connection. Later calls reject with
   * `TALLYMESH_ERR_CLIENT_CLOSED`.
   */
  close(): Promise<void>;
}

class Client implements TallymeshClient, PipelineHost {
  #opts: ResolvedClientOptions;
  #failover: Failover;
  #pipeline: Pipeline;
  #state: ClientState = 'idle';
  #conn: StreamConnection | null = null;
  #connIndex = -1;
  /** Counts connections; identifies the one frames went out on. */
  #generation = 0;
  #waitTimer: NodeJS.Timeout | undefined;
  #connections = 0;
  #failures = 0;
  #lastProblem: Error | null = null;
  #drained: Array<() => void> = [];

  constructor(options: ResolvedClientOptions) {
    this.#opts = options;
    this.#failover = new Failover(options.streamUrls.length, options.strategy, options.backoff);
    this.#pipeline = new Pipeline(this, { timeoutMs: options.timeoutMs, maxBatch: options.maxBatch });
  }

  consume(limiter: string, key: string, cost?: number): Promise<ClientDecision> {
    if (this.#state === 'closed') return Promise.reject(new codes.TALLYMESH_ERR_CLIENT_CLOSED());
    try {
      if (typeof limiter !== 'string' || limiter === '') throw new codes.TALLYMESH_ERR_OPTION_TYPE('limiter', 'a non-empty string', describeValue(limiter));
      checkKey(key);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<ClientDecision>((resolve, reject) => {
      this.#pipeline.add(
        {
          limiter,
          key,
          cost,
          resolve: (result: ItemResult) => {
            const r = fromItem(result);
            if (isTallymeshError(r)) reject(r);
            else resolve(r);
            this.#checkDrained();
          },
          expire: () => {
            this.#settleUnanswered(resolve, reject);
            this.#checkDrained();
          },
        },
        performance.now(),
      );
    });
  }

  async peek(limiter: string, key: string): Promise<ClientDecision> {
    if (this.#state === 'closed') throw new codes.TALLYMESH_ERR_CLIENT_CLOSED();
    if (typeof limiter !== 'string' || limiter === '') throw new codes.TALLYMESH_ERR_OPTION_TYPE('limiter', 'a non-empty string', describeValue(limiter));
    checkKey(key);
    const deadline = performance.now() + this.#opts.timeoutMs;
    const urls = this.#opts.httpUrls;
    // Start with the daemon the stream is on, then the others in order.
    const first = this.#connIndex >= 0 ? this.#connIndex : 0;
    let problem: Error | null = null;
    for (let k = 0; k < urls.length; k++) {
      const left = Math.floor(deadline - performance.now());
      if (left <= 0) break;
      const answer = await peekOnce(urls[(first + k) % urls.length], limiter, key, { token: this.#opts.token, tls: this.#opts.tls, timeoutMs: left });
      if ('decision' in answer) return answer.decision;
      if ('refused' in answer) throw answer.refused;
      problem = answer.failed;
    }
    return new Promise((resolve, reject) => this.#settleUnanswered(resolve, reject, problem));
  }

  status(): ClientStatus {
    return {
      state: this.#state,
      url: this.#conn?.url ?? null,
      inFlight: this.#pipeline.unsettled,
      connections: this.#connections,
      failures: this.#failures,
      lastProblem: this.#lastProblem,
    };
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#pipeline.unsettled > 0) {
      // Let the calls in flight settle; each has its deadline, so this ends.
      await new Promise<void>((r) => this.#drained.push(r));
    }
    this.#pipeline.expireAll();
    clearTimeout(this.#waitTimer);
    this.#conn?.close();
    this.#conn = null;
  }

  // PipelineHost

  get connection(): number {
    return this.#generation;
  }

  send(bytes: Uint8Array): boolean {
    return this.#conn !== null && this.#conn.send(bytes);
  }

  needConnection(): void {
    if (this.#state === 'idle') this.#dial();
  }

  stuck(connection: number): void {
    if (connection === this.#generation && this.#conn !== null) {
      this.#conn.fail(new Error(`the daemon at ${this.#conn.url} did not answer within ${this.#opts.timeoutMs} ms`));
    }
  }

  // Connection lifecycle

  #dial(): void {
    if (this.#state === 'closed') return;
    const pick = this.#failover.pick(performance.now());
    if (pick.index < 0) {
      this.#state = 'waiting';
      this.#waitTimer = setTimeout(() => {
        this.#waitTimer = undefined;
        if (this.#state !== 'waiting') return;
        this.#state = 'idle';
        // Dial again only for calls still waiting; the rest settled by their deadlines.
        if (this.#pipeline.hasQueued) this.#dial();
      }, pick.waitMs);
      return;
    }
    this.#state = 'connecting';
    this.#connIndex = pick.index;
    const generation = ++this.#generation;
    const conn: StreamConnection = new StreamConnection(
      this.#opts.streamUrls[pick.index],
      { token: this.#opts.token, tls: this.#opts.tls, connectTimeoutMs: this.#opts.connectTimeoutMs, maxPayload: MAX_STREAM_FRAME_BYTES },
      {
        open: () => {
          if (this.#conn !== conn) return;
          this.#state = 'open';
          this.#connections++;
          this.#failover.succeeded(pick.index);
          this.#pipeline.flush();
        },
        message: (bytes) => {
          if (this.#conn !== conn) return;
          try {
            this.#pipeline.onMessage(bytes);
          } catch (err) {
            conn.fail(err as Error);
          }
        },
        close: (problem) => this.#lost(conn, generation, pick.index, problem),
      },
    );
    this.#conn = conn;
  }

  #lost(conn: StreamConnection, generation: number, index: number, problem: Error | null): void {
    if (this.#conn !== conn) return;
    this.#conn = null;
    this.#pipeline.connectionLost(generation);
    if (problem !== null) {
      this.#failures++;
      this.#lastProblem = problem;
      this.#failover.failed(index, performance.now());
    }
    if (this.#state === 'closed') {
      this.#pipeline.expireAll();
      return;
    }
    this.#state = 'idle';
    if (this.#pipeline.hasQueued) this.#dial();
  }

  /** A call no daemon answered in time settles by the fail mode. */
  #settleUnanswered(resolve: (d: ClientDecision) => void, reject: (e: TallymeshError) => void, problem: Error | null = this.#lastProblem): void {
    const mode = this.#opts.failMode;
    if (mode === 'open') resolve(failDecision(true));
    else if (mode === 'closed') resolve(failDecision(false));
    else {
      const why = problem === null ? `state ${this.#state}` : problem.message;
      reject(new codes.TALLYMESH_ERR_CLIENT_TIMEOUT(this.#opts.timeoutMs, why, ...(problem === null ? [] : [{ cause: problem }])));
    }
  }

  #checkDrained(): void {
    if (this.#drained.length === 0 || this.#pipeline.unsettled > 0) return;
    for (const r of this.#drained.splice(0)) r();
  }
}

/**
 * Creates a client of one or several tallymesh daemons over `/v1/stream`:
 * pipelined, batched per tick, reconnecting with capped exponential backoff
 * and full jitter, failing over between URLs, every call bounded by
 * `timeoutMs`. Nothing connects until the first call.
 *
 * @throws TALLYMESH_ERR_OPTION_TYPE / TALLYMESH_ERR_OPTION_RANGE for a bad option, naming it.
 * @example
 * import { createClient } from 'tallymesh/client';
 *
 * const client = createClient({
 *   urls: ['http://10.0.0.1:7070', 'http://10.0.0.2:7070'],
 *   token: process.env.TALLYMESH_API_TOKEN,
 *   timeoutMs: 200,
 *   failMode: 'open',
 * });
 * const d = await client.consume('api', 'user:42');
 * if (!d.allowed) res.status(429).set('Retry-After', String(Math.ceil(d.retryAfterMs / 1000)));
 * if (d.source !== 'daemon') log.warn('rate limit not decided by a daemon');
 * await client.close();
 */
export function createClient(options: ClientOptions): TallymeshClient {
  return new Client(resolveClientOptions(options));
}
