/**
 * The receive limit of a WebSocket before its link authenticated.
 *
 * `ws` fixes `maxPayload` per WebSocketServer, and it must be the full frame
 * bound (4 MiB by default) for authenticated peers. Its receiver checks a
 * frame's declared length against that bound and then buffers the payload
 * until it is complete, so without this guard anyone who can open a socket
 * could park a nearly complete 4 MiB frame per socket before AUTH.
 *
 * The guard reads the same bytes as `ws` (a second `'data'` listener on the
 * raw socket, added after ws's own) and parses only RFC 6455 frame headers
 * (§5.2): until the link is open, a data message whose declared length
 * passes the handshake bound, or more raw bytes than the handshake needs,
 * cut the socket on the spot. What the receiver ever holds before AUTH is
 * then the bytes of the read that revealed the header — freed with the
 * socket. It relies only on public behaviour of `ws`: its server emits
 * `'message'` synchronously while it parses a read when
 * `allowSynchronousEvents` is true (the transport sets it), so by the time
 * the guard looks at a read, every complete frame in it — AUTH included —
 * already reached the link.
 *
 * @module
 */
import type { Duplex } from 'node:stream';

/** Longest RFC 6455 frame header: 2 bytes, an 8-byte extended length, a 4-byte mask. */
const MAX_HEADER_BYTES = 14;
/** Payload length markers in the second header byte (RFC 6455 §5.2). */
const LENGTH_16 = 126;
const LENGTH_64 = 127;
/** Opcodes below this carry data (continuation 0x0, text 0x1, binary 0x2); control frames start at 0x8. */
const FIRST_CONTROL_OPCODE = 0x8;
const OPCODE_CONTINUATION = 0x0;

/** Limits a {@link PreAuthGuard} enforces until the link is open. */
export interface PreAuthLimits {
  /** Largest data message (summed over its fragments) accepted before AUTH. */
  maxMessageBytes: number;
  /** Most raw bytes (headers, payloads, control frames) read before AUTH. */
  maxBytes: number;
}

/**
 * Watches one socket until its link authenticates.
 *
 * @example
 * ```ts
 * const guard = new PreAuthGuard(rawSocket, { maxMessageBytes: 1024, maxBytes: 4096 },
 *   () => link.state === 'open', (detail) => { link.fail('too-large', detail); ws.terminate(); });
 * // on AUTH:
 * guard.release();
 * ```
 */
export class PreAuthGuard {
  #socket: Duplex;
  #limits: PreAuthLimits;
  #isOpen: () => boolean;
  #refuse: (detail: string) => void;
  #done = false;
  /** Raw bytes read so far while the link was not open. */
  #bytes = 0;
  /** Bytes of the frame header being read (it may span reads). */
  #header = Buffer.alloc(MAX_HEADER_BYTES);
  #headerBytes = 0;
  /** Payload bytes of the current frame still to skip. */
  #skip = 0;
  /** Declared length of the data message in progress, summed over its fragments. */
  #messageBytes = 0;

  /**
   * @param socket the raw socket under the WebSocket; attach after ws attached its own reader.
   * @param isOpen true once the link authenticated; read at every chunk.
   * @param refuse called once with what was refused; it must close the socket for good.
   */
  constructor(socket: Duplex, limits: PreAuthLimits, isOpen: () => boolean, refuse: (detail: string) => void) {
    this.#socket = socket;
    this.#limits = limits;
    this.#isOpen = isOpen;
    this.#refuse = refuse;
    socket.on('data', this.#onData);
    socket.once('close', this.release);
  }

  /** Stop watching: the link authenticated (or the socket is gone). Idempotent. */
  release = (): void => {
    if (this.#done) return;
    this.#done = true;
    this.#socket.off('data', this.#onData);
    this.#socket.off('close', this.release);
  };

  #onData = (chunk: Buffer): void => {
    // ws read this chunk first: if it carried AUTH, the link is open by now and the rest is the peer's to send.
    if (this.#isOpen()) {
      this.release();
      return;
    }
    this.#bytes += chunk.length;
    if (this.#bytes > this.#limits.maxBytes) {
      this.#fail(`${this.#bytes} bytes before AUTH (at most ${this.#limits.maxBytes})`);
      return;
    }
    let at = 0;
    while (at < chunk.length && !this.#done) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        this.#skip -= n;
        at += n;
      } else {
        at = this.#readHeader(chunk, at);
      }
    }
  };

  /** Consumes header bytes from `chunk` at `at`; checks the frame once its header is complete. Returns the new offset. */
  #readHeader(chunk: Buffer, at: number): number {
    let offset = at;
    while (offset < chunk.length && this.#headerBytes < this.#headerLength()) {
      this.#header[this.#headerBytes++] = chunk[offset++];
    }
    if (this.#headerBytes < this.#headerLength()) return offset;
    const opcode = this.#header[0] & 0x0f;
    const length = this.#payloadLength();
    this.#headerBytes = 0;
    this.#skip = length;
    if (opcode < FIRST_CONTROL_OPCODE) {
      this.#messageBytes = opcode === OPCODE_CONTINUATION ? this.#messageBytes + length : length;
      if (this.#messageBytes > this.#limits.maxMessageBytes) {
        this.#fail(`declared a ${this.#messageBytes}-byte message before AUTH (at most ${this.#limits.maxMessageBytes})`);
      }
    }
    return offset;
  }

  /** Header length as far as it is known: 2 until the second byte arrived. */
  #headerLength(): number {
    if (this.#headerBytes < 2) return 2;
    const marker = this.#header[1] & 0x7f;
    const extended = marker === LENGTH_16 ? 2 : marker === LENGTH_64 ? 8 : 0;
    const mask = (this.#header[1] & 0x80) !== 0 ? 4 : 0;
    return 2 + extended + mask;
  }

  #payloadLength(): number {
    const marker = this.#header[1] & 0x7f;
    if (marker === LENGTH_16) return this.#header.readUInt16BE(2);
    // A 63-bit length: exact enough as a double for any comparison with a bound below 2^53.
    if (marker === LENGTH_64) return this.#header.readUInt32BE(2) * 2 ** 32 + this.#header.readUInt32BE(6);
    return marker;
  }

  #fail(detail: string): void {
    this.release();
    this.#refuse(detail);
  }
}
