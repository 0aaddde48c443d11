/**
 * One WebSocket to one daemon's `/v1/stream`, from dial to close. It does
 * not redial: the client ({@link ./client.ts}) decides where and when to go
 * next, through {@link ./failover.ts}.
 *
 * It reports exactly one `close(problem)`: `problem` is null when the daemon
 * closed the stream as idle (1000: nothing is wrong, redial when there is
 * work) or when this side closed it, and an Error otherwise (refused,
 * unauthorized, dropped, cut, the daemon going away).
 *
 * @module
 */
import type { SecureContextOptions } from 'node:tls';
import WebSocket from 'ws';
import { codes } from '../errors.js';

/** TLS options passed to the `wss`/`https` connection (node:tls names). */
export interface ClientTlsOptions extends Pick<SecureContextOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'pfx'> {
  /** Default true: refuse a certificate the CAs do not vouch for. */
  rejectUnauthorized?: boolean;
  /** SNI and certificate name, when the URL's host is not it. */
  servername?: string;
}

/** What a {@link StreamConnection} needs beside its URL. */
export interface ConnectionOptions {
  /** Sent as `Authorization: Bearer <token>` on the upgrade. */
  token?: string;
  tls?: ClientTlsOptions;
  /** The upgrade must complete within this. */
  connectTimeoutMs: number;
  /** Largest answer frame accepted. */
  maxPayload: number;
}

/** Callbacks of a {@link StreamConnection}; none may throw. */
export interface ConnectionHandlers {
  open(): void;
  message(bytes: Buffer): void;
  close(problem: Error | null): void;
}

/** States of a connection; no way back from `closed`. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

const UNEXPECTED_RESPONSE = /Unexpected server response: (\d+)/;

/** The error an upgrade refused with `status` stands for. */
function refusal(status: number): Error {
  if (status === 401) return new codes.TALLYMESH_ERR_HTTP_UNAUTHORIZED();
  if (status === 503) return new Error('the daemon refused the stream with 503 (too many streams, or shutting down)');
  return new Error(`the daemon answered the upgrade with HTTP ${status}`);
}

/**
 * A stream connection.
 *
 * @example
 * const c = new StreamConnection('ws://127.0.0.1:7070/v1/stream', { connectTimeoutMs: 1000, maxPayload: 1 << 20 }, {
 *   open: () => c.send(encodeStreamRequest(1, [{ limiter: 'api', key: 'k' }])),
 *   message: (bytes) => console.log(decodeStreamResponse(bytes)),
 *   close: (problem) => console.log('closed', problem),
 * });
 */
export class StreamConnection {
  readonly url: string;
  #ws: WebSocket;
  #handlers: ConnectionHandlers;
  #state: ConnectionState = 'connecting';
  #problem: Error | null = null;

  constructor(url: string, options: ConnectionOptions, handlers: ConnectionHandlers) {
    this.url = url;
    this.#handlers = handlers;
    this.#ws = new WebSocket(url, {
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      handshakeTimeout: options.connectTimeoutMs,
      maxPayload: options.maxPayload,
      perMessageDeflate: false,
      followRedirects: false,
      ...options.tls,
    });
    this.#ws.binaryType = 'nodebuffer';
    this.#ws.on('open', () => {
      if (this.#state !== 'connecting') return;
      this.#state = 'open';
      this.#handlers.open();
    });
    this.#ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.#state !== 'open') return;
      if (!isBinary) {
        this.fail(new codes.TALLYMESH_ERR_STREAM_MALFORMED('the daemon sent a text frame'));
        return;
      }
      this.#handlers.message(data);
    });
    this.#ws.on('error', (err: Error) => {
      // ws follows every 'error' with 'close'; keep the first cause.
      const m = UNEXPECTED_RESPONSE.exec(err.message);
      this.#problem ??= m === null ? err : refusal(Number(m[1]));
    });
    this.#ws.on('close', (code: number, reason: Buffer) => this.#closed(code, reason.toString('utf8')));
  }

  /** Where the connection is. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Bytes queued in the socket, not yet written. */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  /** Sends one frame; false when the connection is not open. */
  send(bytes: Uint8Array): boolean {
    if (this.#state !== 'open') return false;
    this.#ws.send(bytes, { binary: true });
    return true;
  }

  /** Cuts the connection for `problem` (a stuck daemon, a malformed answer); `close(problem)` follows at once. */
  fail(problem: Error): void {
    if (this.#state === 'closed') return;
    this.#problem ??= problem;
    this.#ws.terminate();
    this.#closed(1006, '');
  }

  /** Closes the connection normally (1000); `close(null)` follows when the daemon answers, or at once. */
  close(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connecting') {
      this.#ws.terminate();
      this.#closed(1000, 'closed by the client');
      return;
    }
    this.#ws.close(1000, 'closed by the client');
    this.#closed(1000, 'closed by the client');
  }

  #closed(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    // 1000 is the daemon's idle close, or ours: nothing is wrong with that daemon.
    const problem = code === 1000 ? null : (this.#problem ?? new Error(`the stream closed with ${code}${reason === '' ? '' : `: ${reason}`}`));
    this.#handlers.close(problem);
  }
}
