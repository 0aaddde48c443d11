/**
 * Hybrid logical clock (Kulkarni, Demirbas et al., "Logical Physical Clocks
 * and Consistent Snapshots in Globally Distributed Databases", 2014).
 *
 * A timestamp is one JavaScript number: `wallMs * 2^LOGICAL_BITS + logical`.
 * The encoding keeps order (comparing two numbers compares the timestamps),
 * is exact up to 2^53 (wall times until the year 2248) and is a plain
 * MessagePack integer on the wire.
 *
 * The clock is pure: physical time is always an argument.
 *
 * @module
 */

/** Bits of the logical counter in an encoded timestamp. */
export const LOGICAL_BITS = 10;
/** 2^LOGICAL_BITS: logical events per millisecond before the wall part is borrowed. */
export const LOGICAL_SPAN = 1 << LOGICAL_BITS;
/** Default bound on how far a remote wall time may run ahead of local physical time. */
export const DEFAULT_MAX_CLOCK_OFFSET_MS = 500;

/**
 * Encodes a wall time and a logical counter into one ordered number.
 * @example encodeHlc(1_700_000_000_000, 3) > encodeHlc(1_700_000_000_000, 2) // true
 */
export function encodeHlc(wallMs: number, logical: number): number {
  return wallMs * LOGICAL_SPAN + logical;
}

/** The wall-clock part (ms) of an encoded timestamp. */
export function wallOf(ts: number): number {
  return Math.floor(ts / LOGICAL_SPAN);
}

/** The logical part of an encoded timestamp. */
export function logicalOf(ts: number): number {
  return ts - wallOf(ts) * LOGICAL_SPAN;
}

/** Options of {@link Hlc}. */
export interface HlcOptions {
  /** Remote wall times further ahead of local physical time than this are rejected. Default 500. */
  maxOffsetMs?: number;
}

/**
 * A hybrid logical clock.
 *
 * Invariants: every timestamp returned by {@link Hlc.tick} or accepted by
 * {@link Hlc.receive} is strictly greater than every earlier one; the wall
 * part never exceeds the largest physical time seen plus `maxOffsetMs` (plus
 * at most one ms per LOGICAL_SPAN events in one ms, the overflow borrow).
 *
 * @example
 * const clock = new Hlc();
 * const a = clock.tick(Date.now());
 * const ok = clock.receive(remoteTs, Date.now()); // false: too far ahead, ignored
 */
export class Hlc {
  /** Largest wall time (ms) this clock has issued or accepted. */
  #wall = 0;
  /** Logical counter within `#wall`. */
  #logical = 0;
  readonly maxOffsetMs: number;

  constructor(options: HlcOptions = {}) {
    this.maxOffsetMs = options.maxOffsetMs ?? DEFAULT_MAX_CLOCK_OFFSET_MS;
  }

  /** The last timestamp issued or accepted (0 before any event). */
  get last(): number {
    return encodeHlc(this.#wall, this.#logical);
  }

  /**
   * The wall time (ms) used to align window buckets: the later of physical
   * time and the clock's wall part. Does not create an event.
   */
  wall(physicalMs: number): number {
    return physicalMs > this.#wall ? physicalMs : this.#wall;
  }

  /** A local or send event: returns a fresh timestamp greater than all before it. */
  tick(physicalMs: number): number {
    if (physicalMs > this.#wall) {
      this.#wall = physicalMs;
      this.#logical = 0;
    } else {
      this.#bump();
    }
    return this.last;
  }

  /**
   * A receive event. Returns false, leaving the clock untouched, when the
   * remote wall time is more than `maxOffsetMs` ahead of `physicalMs`: a peer
   * with a runaway clock must not drag every window boundary with it.
   */
  receive(remoteTs: number, physicalMs: number): boolean {
    const remoteWall = wallOf(remoteTs);
    if (remoteWall - physicalMs > this.maxOffsetMs) return false;
    const remoteLogical = remoteTs - remoteWall * LOGICAL_SPAN;
    const wall = Math.max(this.#wall, remoteWall, physicalMs);
    if (wall === this.#wall && wall === remoteWall) {
      this.#logical = Math.max(this.#logical, remoteLogical);
      this.#bump();
    } else if (wall === this.#wall) {
      this.#bump();
    } else if (wall === remoteWall) {
      this.#wall = wall;
      this.#logical = remoteLogical;
      this.#bump();
    } else {
      this.#wall = wall;
      this.#logical = 0;
    }
    return true;
  }

  /** How far (ms) a remote timestamp's wall time is ahead of `physicalMs` (negative: behind). */
  offsetOf(remoteTs: number, physicalMs: number): number {
    return wallOf(remoteTs) - physicalMs;
  }

  #bump(): void {
    // Past LOGICAL_SPAN events in one ms the counter would spill into the wall
    // part; borrow the next ms explicitly so the encoding stays ordered.
    if (++this.#logical >= LOGICAL_SPAN) {
      this.#wall += 1;
      this.#logical = 0;
    }
  }
}
