/**
 * `GET /v1/events`: Server-Sent Events (WHATWG HTML §9.2) about what the node
 * sees — sampled denials, membership changes, clock-skew rejections, limiter
 * overflow and readiness.
 *
 * - Every event has an id `<incarnation>:<seq>`; the last
 *   {@link EVENT_BUFFER_SIZE} are kept in a ring, so a client reconnecting
 *   with `Last-Event-ID` gets what it missed. When it missed more than the
 *   ring holds, or the id is from another process, it first gets a `gap`
 *   event, then everything the ring still holds.
 * - `retry:` tells clients how soon to reconnect; a comment line every
 *   {@link KEEP_ALIVE_MS} keeps proxies from closing an idle stream.
 * - Publishing never waits on a client: each client may have at most
 *   {@link MAX_CLIENT_BYTES} unsent; past it the client is cut off (it can
 *   reconnect and resume from its last id).
 * - Denials are capped per second (`eventsDeniedPerSec`); each denial event
 *   says how many were left out before it. Keys appear only as keyed hashes.
 *
 * @module
 */
import type http from 'node:http';
import type { Decision, Limiter } from '../../limiter/limiter.js';
import type { Mesh, ShareEvent, SloEvent } from '../../mesh/mesh.js';
import type { ReplicatorEvent } from '../../mesh/replicator.js';
import { LogSampler } from '../observe/log-sampler.js';

/** Events kept for `Last-Event-ID` resumption. */
export const EVENT_BUFFER_SIZE = 1024;
/** Interval of the keep-alive comment. */
export const KEEP_ALIVE_MS = 15_000;
/** Reconnection delay suggested to clients (the `retry:` field). */
export const RETRY_MS = 2_000;
/** Unsent bytes a client may accumulate before it is dropped. */
export const MAX_CLIENT_BYTES = 1024 * 1024;
/** Why a slow client's connection was destroyed (the socket's error; never sent or thrown). */
const SLOW_CLIENT_REASON = 'event client cut off: its unsent backlog passed the bound';
/** At most one skew event per peer per this interval (a skewed peer is refused many times a second). */
const SKEW_EVENT_MS = 1_000;
/** At most one overflow event per limiter per this interval. */
const OVERFLOW_EVENT_MS = 10_000;

/** Event types on the stream. */
export type EventType = 'denied' | 'peer' | 'skew' | 'overflow' | 'share' | 'slo' | 'ready' | 'gap';

/** Options of {@link EventHub}. */
export interface EventHubOptions {
  /** The process incarnation: the id prefix that tells this process's events from a predecessor's. */
  incarnation: string;
  /** Denial events per second (0: none). */
  deniedPerSec: number;
  hashKey: (key: string) => string;
  /** Told about every event not delivered. */
  onDropped?: (reason: 'sampled' | 'slow-client', n: number) => void;
  keepAliveMs?: number;
  maxClientBytes?: number;
  now?: () => number;
}

/**
 * The event stream's state: ring buffer, clients, sampling.
 *
 * @example
 * const hub = new EventHub({ incarnation: mesh.incarnation, deniedPerSec: 10, hashKey });
 * hub.watch(mesh);
 * server.on('request', (req, res) => req.url === '/v1/events' && hub.serve(req, res));
 */
export class EventHub {
  #opts: Required<Omit<EventHubOptions, 'onDropped'>> & Pick<EventHubOptions, 'onDropped'>;
  #clients = new Set<http.ServerResponse>();
  /** ring[seq % EVENT_BUFFER_SIZE] is the serialised event `seq`, for seqs after `#seq - EVENT_BUFFER_SIZE`. */
  #ring: string[] = new Array(EVENT_BUFFER_SIZE);
  #seq = 0;
  #keepAlive: NodeJS.Timeout;
  #skewSampler: LogSampler;
  #overflowSampler: LogSampler;
  /** Denial sampling: the current one-second window, denials sent in it, and denials left out since the last one sent. */
  #windowStart = 0;
  #sentInWindow = 0;
  #leftOut = 0;

  constructor(options: EventHubOptions) {
    this.#opts = { keepAliveMs: KEEP_ALIVE_MS, maxClientBytes: MAX_CLIENT_BYTES, now: Date.now, ...options };
    this.#skewSampler = new LogSampler(SKEW_EVENT_MS, this.#opts.now);
    this.#overflowSampler = new LogSampler(OVERFLOW_EVENT_MS, this.#opts.now);
    this.#keepAlive = setInterval(() => this.#broadcast(': keep-alive\n\n'), this.#opts.keepAliveMs);
    this.#keepAlive.unref();
  }

  /** Connected clients. */
  get clients(): number {
    return this.#clients.size;
  }

  /** Publishes the mesh's membership, skew, partition share and readiness events. */
  watch(mesh: Mesh): void {
    mesh.on('peer', (e: Extract<ReplicatorEvent, { type: 'peer' }>) =>
      this.publish('peer', { nodeId: e.nodeId, address: e.address, state: e.state, reason: e.reason }),
    );
    mesh.on('skew', (e: Extract<ReplicatorEvent, { type: 'skew' }>) => {
      const suppressed = this.#skewSampler.take(e.nodeId);
      if (suppressed !== null) this.publish('skew', { nodeId: e.nodeId, offsetMs: e.offsetMs, suppressed });
    });
    // Rare (a partition, lag past maxLagMs) and each one changes what the limiter admits: never sampled.
    mesh.on('share', ({ type: _type, ...e }: ShareEvent) => this.publish('share', e));
    // At most one per limiter per walk (a digest interval), and only on a crossing.
    mesh.on('slo', ({ type: _type, ...e }: SloEvent) => this.publish('slo', e));
    if (mesh.ready) this.publish('ready', {});
    else mesh.once('ready', () => this.publish('ready', {}));
  }

  /** Offers a denial; published unless this second's cap is reached. */
  denied(limiter: Limiter, key: string, cost: number, d: Decision): void {
    const now = this.#opts.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#sentInWindow = 0;
    }
    if (this.#sentInWindow >= this.#opts.deniedPerSec) {
      this.#leftOut++;
      this.#opts.onDropped?.('sampled', 1);
      return;
    }
    this.#sentInWindow++;
    const suppressed = this.#leftOut;
    this.#leftOut = 0;
    this.publish('denied', {
      limiter: limiter.name,
      keyHash: this.#opts.hashKey(key),
      bucket: limiter.replica.currentBucket(),
      cost,
      limit: d.limit,
      remaining: d.remaining,
      retryAfterMs: d.retryAfterMs,
      suppressed,
    });
  }

  /** Reports a limiter overflow (at most once per limiter per 10 s). */
  overflow(limiter: Limiter, key: string): void {
    const suppressed = this.#overflowSampler.take(limiter.name);
    if (suppressed === null) return;
    this.publish('overflow', {
      limiter: limiter.name,
      keyHash: this.#opts.hashKey(key),
      bucket: limiter.replica.currentBucket(),
      policy: limiter.overflowPolicy,
      suppressed,
    });
  }

  /** Appends an event to the ring and sends it to every client. */
  publish(type: EventType, data: Record<string, unknown>): void {
    const seq = ++this.#seq;
    const chunk = this.#format(seq, type, { ...data, at: this.#opts.now() });
    this.#ring[seq % EVENT_BUFFER_SIZE] = chunk;
    this.#broadcast(chunk);
  }

  /** Serves one SSE client: headers, `retry:`, the replay `Last-Event-ID` asks for, then live events. */
  serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses unless told not to; an event stream must flow.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    const lastId = req.headers['last-event-id'];
    if (typeof lastId === 'string' && lastId !== '') this.#replay(res, lastId);
    this.#clients.add(res);
    res.on('close', () => this.#clients.delete(res));
  }

  /** Ends every stream and stops the keep-alive timer. */
  close(): void {
    clearInterval(this.#keepAlive);
    for (const res of this.#clients) res.end();
    this.#clients.clear();
  }

  #replay(res: http.ServerResponse, lastId: string): void {
    const oldest = Math.max(1, this.#seq - EVENT_BUFFER_SIZE + 1);
    const m = /^([^:]+):(\d{1,15})$/.exec(lastId);
    const seq = m === null ? -1 : Number(m[2]);
    let from = seq + 1;
    if (m === null || m[1] !== this.#opts.incarnation || seq > this.#seq) {
      // Another process's id (a restart, or another node behind a load balancer): nothing can be matched.
      from = oldest;
      this.#write(res, this.#format(oldest - 1, 'gap', { reason: 'unknown-id', lastEventId: lastId, at: this.#opts.now() }));
    } else if (from < oldest) {
      this.#write(res, this.#format(oldest - 1, 'gap', { reason: 'expired', lastEventId: lastId, missed: oldest - from, at: this.#opts.now() }));
      from = oldest;
    }
    for (let s = from; s <= this.#seq; s++) this.#write(res, this.#ring[s % EVENT_BUFFER_SIZE]);
  }

  #format(seq: number, type: EventType, data: Record<string, unknown>): string {
    // JSON.stringify never emits a raw newline, so the data fits on one `data:` line.
    return `id: ${this.#opts.incarnation}:${seq}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  #broadcast(chunk: string): void {
    for (const res of this.#clients) this.#write(res, chunk);
  }

  /** Writes without ever waiting: a client whose backlog passes the bound is cut off instead. */
  #write(res: http.ServerResponse, chunk: string): void {
    if (res.destroyed || res.writableEnded) return;
    if (res.writableLength + chunk.length > this.#opts.maxClientBytes) {
      this.#clients.delete(res);
      // With a reason, node fails the backlog's pending writes with that one error; without
      // one it builds an ERR_STREAM_DESTROYED, stack trace included, per pending chunk (four
      // per event): ~80 ms of event loop per client cut at 1 MiB, which clients that never
      // read could multiply into seconds (test/fuzz/hostile-clients.fuzz.ts).
      res.destroy(new Error(SLOW_CLIENT_REASON));
      this.#opts.onDropped?.('slow-client', 1);
      return;
    }
    res.write(chunk);
  }
}
