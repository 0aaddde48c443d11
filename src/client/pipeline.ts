/**
 * The calls in flight: request ids, batching, per-call deadlines.
 *
 * - **Batching.** Calls made in the same tick go out together: the first
 *   call of a tick schedules one flush (a microtask), which packs every
 *   queued call into frames of at most `maxBatch` requests.
 * - **Request ids.** Each frame gets the next id; the daemon echoes it, and
 *   an answer settles that frame's calls in order.
 * - **Deadlines.** Every call has its own timer, started when it is made:
 *   when it fires, the call settles through `expire` (the client's fail
 *   mode) whatever the socket does — queued behind a dial, sent to a daemon
 *   that died, or sent to one that never answers. An answer that comes later
 *   is dropped for that call.
 * - **Redelivery.** When a connection is lost, the calls it had not answered
 *   go back to the front of the queue and are sent on the next connection,
 *   inside their deadline still (at-least-once: see docs/client.md).
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { codes } from '../errors.js';
import { decodeStreamResponse, encodeStreamRequest } from '../stream/stream-codec.js';
import type { ItemResult } from '../stream/batch.js';

/** A call sent this share of its timeout ago and not answered marks its connection stuck. */
const STUCK_FRACTION = 0.9;

/** Where a call is. */
type CallState = 'queued' | 'sent' | 'settled';

/** One consume request waiting for its decision. */
export interface Call {
  limiter: string;
  key: string;
  cost: number | undefined;
  state: CallState;
  /** When the call was made (performance.now()). */
  startedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** The connection it was last sent on, and when (performance.now()). */
  connection: number;
  sentAt: number;
  resolve(result: ItemResult): void;
  expire(): void;
}

/** A frame sent and not answered yet. */
interface SentFrame {
  calls: Call[];
  /** The connection it went out on (the client's counter). */
  connection: number;
}

/** What the pipeline needs from the client. */
export interface PipelineHost {
  /** Sends one frame on the open connection; false when there is none. */
  send(bytes: Uint8Array): boolean;
  /** Which connection `send` writes to now. */
  readonly connection: number;
  /** There are queued calls and no open connection: dial. */
  needConnection(): void;
  /** A call sent on `connection` outlived its deadline: that daemon is not answering. */
  stuck(connection: number): void;
}

/**
 * The call queue and the frames in flight.
 *
 * @example
 * const p = new Pipeline(host, { timeoutMs: 1000, maxBatch: 1000 });
 * p.add({ limiter: 'api', key: 'k', cost: undefined, resolve, expire });
 * p.onMessage(bytes);   // settles the calls of the frame it answers
 */
export class Pipeline {
  #host: PipelineHost;
  #timeoutMs: number;
  #maxBatch: number;
  #queue: Call[] = [];
  #sent = new Map<number, SentFrame>();
  #nextId = 0;
  #flushScheduled = false;
  #unsettled = 0;

  constructor(host: PipelineHost, options: { timeoutMs: number; maxBatch: number }) {
    this.#host = host;
    this.#timeoutMs = options.timeoutMs;
    this.#maxBatch = options.maxBatch;
  }

  /** Calls not settled yet. */
  get unsettled(): number {
    return this.#unsettled;
  }

  /** Queues a call and starts its deadline. */
  add(call: Omit<Call, 'state' | 'timer' | 'startedAt' | 'connection' | 'sentAt'>, startedAt: number): void {
    const c = call as Call;
    c.state = 'queued';
    c.startedAt = startedAt;
    c.connection = -1;
    c.sentAt = 0;
    c.timer = setTimeout(() => this.#expire(c), this.#timeoutMs);
    this.#unsettled++;
    this.#queue.push(c);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.flush();
      });
    }
  }

  /** Sends every queued call, `maxBatch` to a frame; asks for a connection when there is none. */
  flush(): void {
    if (this.#queue.length === 0) return;
    const queue = this.#queue;
    this.#queue = [];
    let i = 0;
    while (i < queue.length) {
      const batch: Call[] = [];
      while (i < queue.length && batch.length < this.#maxBatch) {
        const c = queue[i++];
        if (c.state === 'queued') batch.push(c);
      }
      if (batch.length === 0) break;
      const id = this.#nextId;
      const bytes = encodeStreamRequest(id, batch);
      if (!this.#host.send(bytes)) {
        // No open connection: keep the rest, in order, and get one.
        this.#queue = batch.concat(queue.slice(i).filter((c) => c.state === 'queued'), this.#queue);
        this.#host.needConnection();
        return;
      }
      this.#nextId = this.#nextId >= Number.MAX_SAFE_INTEGER ? 0 : this.#nextId + 1;
      const connection = this.#host.connection;
      const now = performance.now();
      for (const c of batch) {
        c.state = 'sent';
        c.connection = connection;
        c.sentAt = now;
      }
      this.#sent.set(id, { calls: batch, connection });
    }
  }

  /**
   * An answer frame arrived on the current connection.
   *
   * @throws TALLYMESH_ERR_STREAM_MALFORMED when it is malformed or answers no frame in flight:
   *   the client then drops that connection.
   */
  onMessage(bytes: Uint8Array): void {
    const { id, results } = decodeStreamResponse(bytes);
    const frame = this.#sent.get(id);
    if (frame === undefined || results.length !== frame.calls.length) {
      throw new codes.TALLYMESH_ERR_STREAM_MALFORMED(frame === undefined ? `an answer to id ${id}, which is not in flight` : `${results.length} results for ${frame.calls.length} requests`);
    }
    this.#sent.delete(id);
    for (let i = 0; i < frame.calls.length; i++) {
      const c = frame.calls[i];
      if (c.state === 'settled') continue; // its deadline passed first
      this.#settle(c);
      c.resolve(results[i]);
    }
  }

  /** The connection `connection` is gone: its unanswered calls go back to the front of the queue. */
  connectionLost(connection: number): void {
    const again: Call[] = [];
    for (const [id, frame] of this.#sent) {
      if (frame.connection !== connection) continue;
      this.#sent.delete(id);
      for (const c of frame.calls) {
        if (c.state !== 'sent') continue;
        c.state = 'queued';
        again.push(c);
      }
    }
    if (again.length > 0) this.#queue = again.concat(this.#queue);
  }

  /** True when calls wait to be sent. */
  get hasQueued(): boolean {
    return this.#queue.some((c) => c.state === 'queued');
  }

  /** Settles every call through `expire` at once (the client is closing and cannot wait). */
  expireAll(): void {
    for (const c of this.#queue) if (c.state !== 'settled') this.#expire(c);
    for (const frame of this.#sent.values()) for (const c of frame.calls) if (c.state !== 'settled') this.#expire(c);
    this.#queue = [];
    this.#sent.clear();
  }

  #settle(c: Call): void {
    c.state = 'settled';
    clearTimeout(c.timer);
    this.#unsettled--;
  }

  #expire(c: Call): void {
    if (c.state === 'settled') return;
    const wasSent = c.state === 'sent';
    this.#settle(c);
    c.expire();
    // Sent on a connection and unanswered there for (nearly) a whole timeout:
    // that connection is stuck. A call redelivered late in its life says
    // nothing of the connection it went to last, which has had little time.
    if (wasSent && performance.now() - c.sentAt >= this.#timeoutMs * STUCK_FRACTION) this.#host.stuck(c.connection);
  }
}
