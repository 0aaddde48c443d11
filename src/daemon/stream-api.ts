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
 * @module
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Decider } from './decider.js';
import { codes, isTallymeshError } from '../errors.js';
import { refuseUpgrade } from '../mesh/port-guard.js';
import { AUTH_CHALLENGE } from './http-auth.js';
import type { DaemonMetrics } from './metrics.js';
import { decodeStreamRequest, encodeStreamResponse, MAX_STREAM_FRAME_BYTES, type StreamRequest } from './stream-codec.js';

/** URL path of the stream. */
export const STREAM_PATH = '/v1/stream';
/** Unsent response bytes at which a client's socket stops being read… */
const PAUSE_BYTES = 4 * 1024 * 1024;
/** …and at which it is read again. */
const RESUME_BYTES = 1024 * 1024;
/** Longest close reason a close frame can carry (RFC 6455 §5.5: 125-byte control payload minus the code). */
const MAX_CLOSE_REASON_BYTES = 123;

/** Close codes (RFC 6455 §7.4.1) this endpoint sends. */
export const StreamCloseCode = {
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
  #wss: WebSocketServer;

  constructor(options: StreamApiOptions) {
    this.#opts = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: MAX_STREAM_FRAME_BYTES, perMessageDeflate: false, clientTracking: true });
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
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#serve(ws));
  }

  /**
   * Says goodbye (1001) to every client and resolves when all are gone.
   * Frames received after shutdown began are neither answered nor counted;
   * answers to earlier frames go out before the close frame.
   */
  async close(): Promise<void> {
    const clients = [...this.#wss.clients];
    for (const ws of clients) ws.close(StreamCloseCode.GOING_AWAY, 'shutting down');
    await Promise.all(clients.map((ws) => (ws.readyState === WebSocket.CLOSED ? undefined : new Promise((r) => ws.once('close', r)))));
    this.#wss.close();
  }

  /** Cuts every remaining client off (the shutdown deadline passed). */
  terminate(): void {
    for (const ws of this.#wss.clients) ws.terminate();
  }

  #serve(ws: WebSocket): void {
    const flow = { unsent: 0, paused: false };
    // ws reports protocol violations (a frame over maxPayload, bad UTF-8 in a
    // close reason…) here and closes the connection itself with the right code.
    ws.on('error', (err: Error & { code?: string }) => {
      this.#opts.metrics.streamRejected(err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too-large' : 'protocol');
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
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

  #onMessage(ws: WebSocket, flow: { unsent: number; paused: boolean }, data: RawData, isBinary: boolean): void {
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
