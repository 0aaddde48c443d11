/**
 * One WebSocket as a {@link Conduit}: flow control, close codes and the
 * translation of socket events into link calls.
 *
 * Flow control: a frame goes straight to the socket while the socket's
 * `bufferedAmount` is under {@link HIGH_WATER_BYTES}; otherwise it waits in
 * a byte-bounded {@link SendQueue}, which the completion callback of every
 * socket write drains. Memory per peer is therefore bounded by the high-water
 * mark plus the queue bound, and `write` never blocks.
 *
 * Closing: a refusal closes at once, dropping what waits. An orderly close
 * (`close(reason, 'drain')`, the node shutting down) drains instead: it
 * accepts no new frame, sends what the queue holds in order, waits until
 * every socket write has completed (`bufferedAmount` back to 0), and only
 * then sends the close frame, so the peer reads the final DELTA and the BYE
 * before it. The transport bounds how long that may take and then calls
 * {@link WsConduit.abandon}, which counts what was left and cuts the socket.
 *
 * @module
 */
import { WebSocket } from 'ws';
import type { RawData } from 'ws';
import type { FrameTypeCode } from '../codec/frame.js';
import type { CloseMode, Conduit, Link } from '../link.js';
import { SendQueue } from './send-queue.js';

/** Stop writing to a socket holding this many unsent bytes; queue instead. */
export const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * WebSocket close codes (RFC 6455 §7.4.2 private range 4000–4999) for each
 * refusal, so a peer's logs tell what went wrong even across versions.
 */
export const CLOSE_CODES: Readonly<Record<string, number>> = {
  auth: 4001,
  version: 4002,
  'too-large': 4003,
  malformed: 4004,
  unexpected: 4005,
  duplicate: 4006,
  self: 4007,
  timeout: 4008,
  restarted: 4009,
  'handshake-evicted': 4010,
  shutdown: 1001, // "going away"
};
/** Close code for any other reason (disconnect() with a reason of the owner's). */
export const CLOSE_NORMAL = 1000;
/** RFC 6455 limits a close reason to 123 bytes. */
const MAX_CLOSE_REASON_BYTES = 123;

function closeReason(reason: string): string {
  let text = reason;
  while (Buffer.byteLength(text) > MAX_CLOSE_REASON_BYTES) text = text.slice(0, -1);
  return text;
}

/** Payload of a round-trip probe: its send time as a float64 of `performance.now()`. */
const PROBE_BYTES = 8;
/** Weight of the newest round trip in the smoothed one. */
const ROUND_TRIP_SMOOTHING = 0.2;
/** Round trips above this (ms) are not an answer to a probe. */
const MAX_ROUND_TRIP_MS = 60_000;

/** Where a conduit is in its life: taking frames, sending out what it took before closing, or done. */
type ConduitState = 'open' | 'draining' | 'closed';

/** Frames (and their bytes) a draining conduit could not hand to the network. */
export interface UnsentFrames {
  frames: number;
  bytes: number;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}

/**
 * Adapts one open WebSocket to a link.
 *
 * @example
 * ```ts
 * const conduit = new WsConduit(ws, '10.0.0.2:51234', 8 * 1024 * 1024);
 * const link = manager.accept(conduit);
 * if (link) conduit.bind(link); else conduit.close('shutdown');
 * ```
 */
export class WsConduit implements Conduit {
  readonly remote: string;
  readonly socket: WebSocket;
  #queue: SendQueue;
  #link: Link | null = null;
  #state: ConduitState = 'open';
  #closeReason = '';
  /** Frames handed to the socket whose write has not completed yet (their bytes are in `bufferedAmount`). */
  #inFlight = 0;
  #inFlightBytes = 0;
  /** Told what a drain had to leave behind (the socket closed under it, or it was abandoned). */
  #onUnsent: (unsent: UnsentFrames) => void;
  /** Heard from the peer since the last keepalive ping. */
  #alive = true;
  /** Smoothed round-trip time of the probes (NaN: none answered yet). */
  roundTripMs = Number.NaN;
  #pump = (): void => {
    while (this.#queue.length > 0 && this.socket.readyState === WebSocket.OPEN && this.socket.bufferedAmount < HIGH_WATER_BYTES) {
      this.#send(this.#queue.shift() as Uint8Array);
    }
    if (this.#state === 'draining') this.#finishDrain();
  };

  constructor(socket: WebSocket, remote: string, maxQueueBytes: number, onUnsent: (unsent: UnsentFrames) => void = () => {}) {
    this.socket = socket;
    this.remote = remote;
    this.#queue = new SendQueue(maxQueueBytes);
    this.#onUnsent = onUnsent;
    socket.on('message', (data, isBinary) => {
      this.#alive = true;
      if (!isBinary) this.#link?.fail('malformed', 'text message (frames are binary)');
      else this.#link?.receive(toBytes(data));
    });
    socket.on('pong', (data: Buffer) => {
      this.#alive = true;
      // A probe's pong echoes the 8-byte send time (RFC 6455 §5.5.3: a pong carries the ping's data).
      if (data.length === PROBE_BYTES) this.#sampleRoundTrip(performance.now() - data.readDoubleLE(0));
    });
    socket.on('error', (err: Error & { code?: string }) => {
      // ws reports protocol violations here, then closes the socket itself.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#link?.fail('too-large', err.message);
      else if (err.code?.startsWith('WS_ERR_')) this.#link?.fail('malformed', err.message);
      // Anything else (ECONNRESET...) is followed by 'close'.
    });
    socket.on('close', (code, reason) => {
      // A drain the peer (or the network) cut short: whatever had not gone out is lost, and said so.
      if (this.#state === 'draining') this.#reportUnsent();
      this.#state = 'closed';
      this.#queue.clear();
      const text = reason.toString();
      this.#link?.remoteClosed(text !== '' ? text : code === 1006 ? 'connection lost' : `closed with code ${code}`);
    });
  }

  /** Deliver this socket's events to `link` from now on. */
  bind(link: Link): void {
    this.#link = link;
  }

  /** The link this socket carries (null until bound). */
  get link(): Link | null {
    return this.#link;
  }

  write(bytes: Uint8Array, type: FrameTypeCode): boolean {
    if (this.#state !== 'open' || this.socket.readyState !== WebSocket.OPEN) return false;
    if (this.#queue.length === 0 && this.socket.bufferedAmount < HIGH_WATER_BYTES) {
      this.#send(bytes);
      return true;
    }
    const { accepted, dropped } = this.#queue.push(bytes, type);
    if (dropped > 0) this.#link?.overflowed(dropped);
    return accepted;
  }

  close(reason: string, mode: CloseMode = 'now'): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'draining') {
      if (mode === 'drain') return;
      // A close that cannot wait overtakes a drain: what was left is lost.
      this.#reportUnsent();
    }
    this.#closeReason = reason;
    if (mode === 'drain' && this.socket.readyState === WebSocket.OPEN) {
      this.#state = 'draining';
      this.#pump();
      return;
    }
    this.#state = 'closed';
    this.#queue.clear();
    this.#closeSocket();
  }

  /**
   * Give up a drain (its deadline passed): count and report the frames the
   * socket has not taken or not finished writing, then cut the connection.
   * Returns what was left; zeros when nothing was.
   */
  abandon(): UnsentFrames {
    const unsent = this.#state === 'draining' ? this.#reportUnsent() : { frames: 0, bytes: 0 };
    this.#state = 'closed';
    this.#queue.clear();
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.terminate();
    return unsent;
  }

  queuedBytes(): number {
    return this.#queue.bytes;
  }

  #send(bytes: Uint8Array): void {
    this.#inFlight++;
    this.#inFlightBytes += bytes.length;
    // ws calls back once the bytes are written to the OS, or with an error once the socket is gone.
    this.socket.send(bytes, () => {
      this.#inFlight--;
      this.#inFlightBytes -= bytes.length;
      this.#pump();
    });
  }

  /** Draining: once the queue is empty and every write completed, the close frame follows them. */
  #finishDrain(): void {
    if (this.#queue.length > 0 || this.#inFlight > 0) return;
    this.#state = 'closed';
    this.#closeSocket();
  }

  #closeSocket(): void {
    if (this.socket.readyState === WebSocket.OPEN) {
      this.socket.close(CLOSE_CODES[this.#closeReason] ?? CLOSE_NORMAL, closeReason(this.#closeReason));
    } else if (this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.terminate();
    }
  }

  /** Reports (once) what a drain leaves behind: frames still queued plus those whose write never completed. */
  #reportUnsent(): UnsentFrames {
    const unsent = { frames: this.#queue.length + this.#inFlight, bytes: this.#queue.bytes + this.#inFlightBytes };
    this.#state = 'closed';
    this.#queue.clear();
    if (unsent.frames > 0) this.#onUnsent(unsent);
    return unsent;
  }

  /** Sends a round-trip probe: a ping carrying its send time, which the peer's pong echoes. */
  probe(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    const data = Buffer.allocUnsafe(PROBE_BYTES);
    data.writeDoubleLE(performance.now(), 0);
    this.socket.ping(data);
  }

  #sampleRoundTrip(ms: number): void {
    // A pong not answering one of our probes (a peer may send any 8 bytes) is ignored.
    if (!(ms >= 0 && ms < MAX_ROUND_TRIP_MS)) return;
    this.roundTripMs = Number.isNaN(this.roundTripMs) ? ms : this.roundTripMs * (1 - ROUND_TRIP_SMOOTHING) + ms * ROUND_TRIP_SMOOTHING;
  }

  /** Keepalive tick: ping, or terminate a socket that answered nothing since the last tick (half-open TCP). */
  heartbeat(): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    if (!this.#alive) {
      this.socket.terminate();
      return;
    }
    this.#alive = false;
    this.socket.ping();
  }
}
