/**
 * A per-peer outbound queue with a byte bound and a drop-oldest policy.
 *
 * When a peer reads slower than we write, frames wait here. The queue never
 * grows past its bound: to make room it drops the oldest DELTA frames first
 * (a later snapshot supersedes them), then the oldest of any other frame
 * except the handshake's. Every drop is counted; the owner is told through
 * `onOverflow` and answers with a snapshot. Dropping is O(1) amortized: dead
 * entries are skipped lazily and two cursors remember where the oldest
 * candidates can be.
 *
 * @module
 */
import { FrameType } from '../codec/frame.js';
import type { FrameTypeCode } from '../codec/frame.js';

interface Entry {
  bytes: Uint8Array | null; // null once sent or dropped
  readonly type: FrameTypeCode;
}

/** What {@link SendQueue.push} did. */
export interface QueuePushResult {
  /** False when the new frame itself had to be dropped. */
  accepted: boolean;
  /** Frames dropped by this push, the new one included when not accepted. */
  dropped: number;
}

/** Compact the backing array once this many dead entries lead it. */
const COMPACT_AFTER = 1024;

const isHandshake = (type: FrameTypeCode): boolean => type === FrameType.HELLO || type === FrameType.AUTH;

/**
 * FIFO of encoded frames holding at most `maxBytes` (handshake frames, which
 * are tiny and come first on a connection, are always admitted).
 *
 * @example
 * ```ts
 * const queue = new SendQueue(8 * 1024 * 1024);
 * const { dropped } = queue.push(bytes, FrameType.DELTA);
 * if (dropped > 0) handlers.onOverflow(nodeId);
 * for (let next = queue.shift(); next; next = queue.shift()) socket.send(next);
 * ```
 */
export class SendQueue {
  readonly maxBytes: number;
  #entries: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #droppableBytes = 0;
  #count = 0;
  // Invariant: no live DELTA before #deltaCursor, no live droppable entry before #anyCursor.
  #deltaCursor = 0;
  #anyCursor = 0;

  constructor(maxBytes: number) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`SendQueue: maxBytes must be a positive integer, got ${maxBytes}`);
    this.maxBytes = maxBytes;
  }

  /** Bytes waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Frames waiting. */
  get length(): number {
    return this.#count;
  }

  /** Append a frame, dropping older ones if it would not fit. */
  push(bytes: Uint8Array, type: FrameTypeCode): QueuePushResult {
    let dropped = 0;
    if (!isHandshake(type)) {
      const pinned = this.#bytes - this.#droppableBytes;
      if (pinned + bytes.length > this.maxBytes) return { accepted: false, dropped: 1 };
      let excess = this.#bytes + bytes.length - this.maxBytes;
      if (excess > 0) {
        [excess, dropped] = this.#dropOldest(excess, true);
        if (excess > 0) {
          const [, more] = this.#dropOldest(excess, false);
          dropped += more;
        }
      }
      this.#droppableBytes += bytes.length;
    }
    this.#entries.push({ bytes, type });
    this.#bytes += bytes.length;
    this.#count++;
    return { accepted: true, dropped };
  }

  /** Remove and return the oldest frame, or undefined when empty. */
  shift(): Uint8Array | undefined {
    while (this.#head < this.#entries.length) {
      const entry = this.#entries[this.#head++];
      if (entry.bytes === null) continue;
      const bytes = entry.bytes;
      this.#forget(entry);
      this.#maybeCompact();
      return bytes;
    }
    this.#maybeCompact();
    return undefined;
  }

  /** Drop everything (the connection is gone). */
  clear(): void {
    this.#entries = [];
    this.#head = this.#bytes = this.#droppableBytes = this.#count = this.#deltaCursor = this.#anyCursor = 0;
  }

  /** Drops oldest candidates until `excess` bytes are freed; returns [excess left, frames dropped]. */
  #dropOldest(excess: number, deltasOnly: boolean): [number, number] {
    let dropped = 0;
    let i = Math.max(this.#head, deltasOnly ? this.#deltaCursor : this.#anyCursor);
    for (; excess > 0 && i < this.#entries.length; i++) {
      const entry = this.#entries[i];
      if (entry.bytes === null || isHandshake(entry.type) || (deltasOnly && entry.type !== FrameType.DELTA)) continue;
      excess -= entry.bytes.length;
      this.#forget(entry);
      dropped++;
    }
    if (deltasOnly) this.#deltaCursor = i;
    else this.#anyCursor = i;
    return [excess, dropped];
  }

  #forget(entry: Entry): void {
    const size = (entry.bytes as Uint8Array).length;
    this.#bytes -= size;
    if (!isHandshake(entry.type)) this.#droppableBytes -= size;
    this.#count--;
    entry.bytes = null;
  }

  #maybeCompact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = [];
    } else if (this.#head < COMPACT_AFTER || this.#head * 2 < this.#entries.length) {
      return;
    } else {
      this.#entries = this.#entries.slice(this.#head);
    }
    this.#deltaCursor = Math.max(0, this.#deltaCursor - this.#head);
    this.#anyCursor = Math.max(0, this.#anyCursor - this.#head);
    this.#head = 0;
  }
}
