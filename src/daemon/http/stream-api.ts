/**
 * `GET /v1/stream`: a WebSocket for high-throughput clients. Each binary
 * message is a batch of consume requests with a request id; the answer is
 * one message with the decisions, in order (frame shapes in
 * stream-codec.ts and docs/http-api.md). Clients may pipeline: frames are
 * answered in the order they arrive.
 *
 * A malformed frame closes that connection with a close code and a reason
 * naming the problem; every other client carries on. A client that stops
 * reading its answers is paused (its socket is no longer read) until the
 * backlog drains, so a slow reader costs bounded memory.
 *
 * What a connection may hold is bounded in time and number too
 * ({@link StreamBounds}): one sweep every `pingIntervalMs` pings every
 * client and cuts one that did not answer the previous ping — a dead peer,
 * a client stuck inside a frame (a pong cannot arrive in the middle of a
 * frame), or one that has not read its answers for that long (a paused
 * socket is not read, pongs included); it closes, with 1000, a client that
 * sent no complete request for `idleTimeoutMs` (one that answers pings but
 * holds a half-sent message, or nothing); and upgrades past `maxClients`
 * are refused with 503.
 *
 * @module
 */
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Decider } from '../decider.js';
import { codes, isTallymeshError } from '../../errors.js';
import { refuseUpgrade } from '../../mesh/port/port-guard.js';
import { AUTH_CHALLENGE } from './http-auth.js';
import type { DaemonMetrics } from '../observe/metrics.js';
import { decodeStreamRequest, encodeStreamResponse, MAX_STREAM_FRAME_BYTES, type StreamRequest } from '../../stream/stream-codec.js';
import { integerOption } from '../../validate.js';

/** URL path of the stream. */
export const STREAM_PATH = '/v1/stream';
/** Unsent response bytes at which a client's socket stops being read… */
const PAUSE_BYTES = 4 * 1024 * 1024;
/** …and at which it is read again. */
const RESUME_BYTES = 1024 * 1024;
/** Longest close reason a close frame can carry (RFC 6455 §5.5: 125-byte control payload minus the code). */
const MAX_CLOSE_REASON_BYTES = 123;

/** Time and number bounds of `/v1/stream` connections. */
export interface StreamBounds {
  /**
   * A ping goes to every client this often; a client that has not answered
   * the previous one by then is cut (dead-peer timeout: between one and two
   * intervals). Default 15 s.
   */
  pingIntervalMs: number;
  /** A client that sent no complete request for this long is closed with 1000 (checked at each ping). Default 120 s. */
  idleTimeoutMs: number;
  /** Most clients connected at once; upgrades past it get 503. Default 1,000. */
  maxClients: number;
}

/** The defaults of {@link StreamBounds} (documented in docs/http-api.md). */
export const DEFAULT_STREAM_BOUNDS: Readonly<StreamBounds> = {
  pingIntervalMs: 15_000,
  idleTimeoutMs: 120_000,
  maxClients: 1_000,
};

/**
 * {@link DEFAULT_STREAM_BOUNDS} with `given` laid over them, each checked.
 *
 * @throws TALLYMESH_ERR_OPTION_TYPE / TALLYMESH_ERR_OPTION_RANGE naming the field (`stream.pingIntervalMs`, …).
 * @example
 * resolveStreamBounds({ idleTimeoutMs: 30_000 }); // { pingIntervalMs: 15000, idleTimeoutMs: 30000, maxClients: 1000 }
 */
export function resolveStreamBounds(given: Partial<StreamBounds> = {}): StreamBounds {
  const b = { ...DEFAULT_STREAM_BOUNDS, ...given };
  return {
    pingIntervalMs: integerOption('stream.pingIntervalMs', b.pingIntervalMs, 10, 3_600_000),
    idleTimeoutMs: integerOption('stream.idleTimeoutMs', b.idleTimeoutMs, 10, 86_400_000),
    maxClients: integerOption('stream.maxClients', b.maxClients, 1, 1_000_000),
  };
}

/** Close codes (RFC 6455 §7.4.1) this endpoint sends. */
export const StreamCloseCode = {
  /** Idle past `idleTimeoutMs`: nothing wrong, reconnect when there is work. */
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  /** Sent by ws itself for a frame over maxPayload. */
  TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
} as const;

/** Options of {@link StreamApi}. */
export interface StreamApiOptions {
  decider: Decider;
  metrics: DaemonMetrics;
  authorize: (req: http.IncomingMessage) => boolean;
  logger: Logger;
  /** Default {@link DEFAULT_STREAM_BOUNDS}. */
  bounds?: Partial<StreamBounds>;
}

/** Per-connection state. */
interface Client {
  /** Unsent answer bytes, and whether its socket is paused for them. */
  unsent: number;
  paused: boolean;
  /** When its last complete message arrived (or it connected), performance.now(). */
  lastMessageAt: number;
  /** A ping went out and no pong came back yet. */
  awaitingPong: boolean;
  /** When it was asked to close for being idle; a client that ignores the close frame is cut a sweep later. */
  closingSince: number | null;
}

// One refusal writer for every upgrade on the port (the browser guard's too).
export { refuseUpgrade };

function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > MAX_CLOSE_REASON_BYTES) reason = reason.slice(0, -1);
  return reason;
}

/**
 * The `/v1/stream` endpoint.
 *
 * @example
 * const stream = new StreamApi({ decider, metrics, authorize, logger });
 * server.on('upgrade', (req, socket, head) => { if (pathOf(req.url) === STREAM_PATH) stream.handleUpgrade(req, socket, head); });
 */
export class StreamApi {
  #opts: StreamApiOptions;
  #bounds: StreamBounds;
  #wss: WebSocketServer;
  #clients = new Map<WebSocket, Client>();
  #sweep: NodeJS.Timeout;

  constructor(options: StreamApiOptions) {
    this.#opts = options;
    this.#bounds = resolveStreamBounds(options.bounds);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_STREAM_FRAME_BYTES, perMessageDeflate: false, clientTracking: true });
    // One timer for every client; unref'd so an idle daemon's timer never holds the process open.
    this.#sweep = setInterval(() => this.#heartbeat(), this.#bounds.pingIntervalMs).unref();
  }

  /** Connected clients. */
  get clients(): number {
    return this.#wss.clients.size;
  }

  /** Takes an upgrade request for {@link STREAM_PATH}: checks the token and shutdown state, then opens the WebSocket. */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.#opts.authorize(req)) {
      this.#opts.metrics.streamRejected('unauthorized');
      refuseUpgrade(socket, new codes.TALLYMESH_ERR_HTTP_UNAUTHORIZED(), { 'www-authenticate': AUTH_CHALLENGE });
      return;
    }
    if (!this.#opts.decider.open) {
      refuseUpgrade(socket, new codes.TALLYMESH_ERR_MESH_CLOSED());
      return;
    }
    // ws completes an upgrade synchronously (no verifyClient), so the count is exact.
    if (this.#wss.clients.size >= this.#bounds.maxClients) {
      this.#opts.metrics.streamRejected('too-many-clients');
      this.#opts.logger.debug({ event: 'stream-reject', reason: 'too-many-clients', remote: req.socket.remoteAddress }, 'refused a stream client');
      refuseUpgrade(socket, new codes.TALLYMESH_ERR_HTTP_TOO_MANY_STREAMS(this.#bounds.maxClients));
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws));
  }

  /**
   * Says goodbye (1001) to every client and resolves when all are gone.
   * Frames received after shutdown began are neither answered nor counted;
   * answers to earlier frames go out before the close frame.
   */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    const clients = [...this.#wss.clients];
    for (const ws of clients) ws.close(StreamCloseCode.GOING_AWAY, 'shutting down');
    await Promise.all(clients.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : new Promise((r) => ws.once('close', r)))));
    this.#wss.close();
  }

  /** Cuts every remaining client off (the shutdown deadline passed). */
  terminate(): void {
    clearInterval(this.#sweep);
    for (const ws of this.#wss.clients) ws.terminate();
  }

  #serve(ws: WebSocket): void {
    const flow: Client = { unsent: 0, paused: false, lastMessageAt: performance.now(), awaitingPong: false, closingSince: null };
    this.#clients.set(ws, flow);
    ws.once('close', () => this.#clients.delete(ws));
    ws.on('pong', () => {
      flow.awaitingPong = false;
    });
    // ws reports protocol violations (a frame over maxPayload, bad UTF-8 in a
    // close reason…) here and closes the connection itself with the right code.
    ws.on('error', (err: Error & { code?: string }) => {
      this.#opts.metrics.streamRejected(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too-large' : 'protocol');
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      flow.lastMessageAt = performance.now();
      try {
        this.#onMessage(ws, flow, data, isBinary);
      } catch (err) {
        // A bug, not the client's fault: this client gets 1011, the daemon and every other client carry on.
        this.#opts.logger.error({ event: 'stream-error', err }, 'unexpected error on a stream');
        this.#opts.metrics.streamRejected('internal');
        ws.close(StreamCloseCode.INTERNAL_ERROR, 'internal error');
      }
    });
  }

  /**
   * One sweep: cut clients that did not answer the last ping or ignored an
   * idle close, close idle ones, ping the rest.
   */
  #heartbeat(): void {
    const now = performance.now();
    for (const [ws, client] of this.#clients) {
      if (ws.readyState !== WebSocket.OPEN && client.closingSince === null) continue; // closing for another reason: ws bounds that
      if (client.closingSince !== null) {
        // Asked to close a sweep ago and still here: it ignores close frames.
        if (now - client.closingSince >= this.#bounds.pingIntervalMs) ws.terminate();
      } else if (client.awaitingPong) {
        this.#opts.metrics.streamRejected('dead');
        this.#opts.logger.debug({ event: 'stream-reject', reason: 'dead', detail: `no pong within ${this.#bounds.pingIntervalMs} ms` }, 'cut a stream client');
        ws.terminate(); // it is not reading: a close frame would wait in vain
      } else if (now - client.lastMessageAt >= this.#bounds.idleTimeoutMs) {
        client.closingSince = now;
        this.#reject(ws, StreamCloseCode.NORMAL, 'idle', `idle: no complete request for ${this.#bounds.idleTimeoutMs} ms`);
      } else {
        client.awaitingPong = true;
        ws.ping();
      }
    }
  }

  #onMessage(ws: WebSocket, flow: Client, data: RawData, isBinary: boolean): void {
    // Frames that arrive after a close began (shutdown, or an earlier bad
    // frame in the same read) are neither decided nor answered.
    if (!this.#opts.decider.open || ws.readyState !== WebSocket.OPEN) return;
    if (!isBinary) {
      this.#reject(ws, StreamCloseCode.UNSUPPORTED_DATA, 'text', 'text frames are not accepted: send binary MessagePack');
      return;
    }
    let frame: StreamRequest;
    try {
      // With the default binaryType, data is one Buffer (fragments already joined).
      frame = decodeStreamRequest(data as Buffer);
    } catch (err) {
      this.#refuseFrame(ws, err);
      return;
    }
    const started = this.#opts.metrics.sampleStart();
    const bytes = encodeStreamResponse(frame.id, this.#opts.decider.many(frame.requests));
    flow.unsent += bytes.length;
    ws.send(bytes, { binary: true }, () => {
      flow.unsent -= bytes.length;
      if (flow.paused && flow.unsent <= RESUME_BYTES) {
        flow.paused = false;
        ws.resume();
      }
    });
    if (!flow.paused && flow.unsent > PAUSE_BYTES) {
      // The client sends faster than it reads: stop reading its socket (TCP backpressure) until it catches up.
      flow.paused = true;
      ws.pause();
    }
    this.#opts.metrics.observeLatency('stream', started);
  }

  #refuseFrame(ws: WebSocket, err: unknown): void {
    if (!isTallymeshError(err)) throw err;
    if (err.code === 'TALLYMESH_ERR_HTTP_BATCH_TOO_LARGE') this.#reject(ws, StreamCloseCode.POLICY_VIOLATION, 'batch-too-large', err.message);
    else this.#reject(ws, StreamCloseCode.INVALID_PAYLOAD, 'malformed', err.message);
  }

  #reject(ws: WebSocket, code: number, reason: string, message: string): void {
    this.#opts.metrics.streamRejected(reason);
    this.#opts.logger.debug({ event: 'stream-reject', reason, detail: message }, 'closed a stream client');
    ws.close(code, closeReason(message));
  }
}
