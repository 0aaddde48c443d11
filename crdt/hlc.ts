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
 * Receiving (issue 10, defect 12): a node is judged by what it can be
 * blamed for, its own physical clock, which every frame carries beside the
 * HLC; the HLC is merged even when it carries a faster node's time relayed
 * through the sender, but never adopted more than `HLC_LEAD_FACTOR ·
 * maxOffsetMs` ahead of the receiver's physical clock. The rule and its proof
 * sketch are in `docs/window-math.md` ("Time: the hybrid logical clock").
 *
 * @module
 */

/** Bits of the logical counter in an encoded timestamp. */
export const LOGICAL_BITS = 10;
/** 2^LOGICAL_BITS: logical events per millisecond before the wall part is borrowed. */
export const LOGICAL_SPAN = 1 << LOGICAL_BITS;
/** Default bound on how far a sender's own physical clock may run ahead of the receiver's. */
export const DEFAULT_MAX_CLOCK_OFFSET_MS = 500;
/**
 * How many offset bounds an HLC may lead a physical clock by: a receiver
 * adopts no wall time more than `HLC_LEAD_FACTOR · maxOffsetMs` ahead of its
 * own physical clock, and refuses a sender holding one that far ahead of the
 * sender's own. Twice the bound: honest clocks spread over at most 2·maxOffsetMs
 * (every linked pair within maxOffsetMs) relay to each other without refusal.
 */
export const HLC_LEAD_FACTOR = 2;

/**
 * What a receiver makes of a remote clock reading (see {@link Hlc.receive}).
 * - `accepted`: merged into the clock;
 * - `sender-clock-ahead`: the sender's own physical clock runs more than
 *   `maxOffsetMs` ahead of ours — the sender's fault;
 * - `hlc-ahead-of-sender`: the HLC leads the sender's own clock by more than
 *   `HLC_LEAD_FACTOR · maxOffsetMs`, which no honest sender holds (it would
 *   have refused to adopt it) — the sender's fault;
 * - `hlc-beyond-bound`: the HLC leads our physical clock by more than
 *   `HLC_LEAD_FACTOR · maxOffsetMs`: a clock relayed from somewhere further
 *   ahead, not necessarily the sender's fault. Not adopted.
 */
export type ClockVerdict = 'accepted' | 'sender-clock-ahead' | 'hlc-ahead-of-sender' | 'hlc-beyond-bound';

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
  /**
   * A sender whose own physical clock runs further ahead of ours than this is
   * refused; relayed HLC wall times may lead ours by `HLC_LEAD_FACTOR` times it. Default 500.
   */
  maxOffsetMs?: number;
}

/**
 * A hybrid logical clock.
 *
 * Invariants: every timestamp returned by {@link Hlc.tick} or produced by an
 * accepted {@link Hlc.receive} is strictly greater than every earlier one
 * (and than the accepted remote timestamp); the wall part never exceeds the
 * largest physical time seen plus `HLC_LEAD_FACTOR · maxOffsetMs` (plus at
 * most one ms per LOGICAL_SPAN events in one ms, the overflow borrow).
 *
 * @example
 * const clock = new Hlc();
 * const a = clock.tick(Date.now());
 * // frame.hlc and frame.physicalMs: the sender's HLC and its own physical clock
 * const verdict = clock.receive(frame.hlc, frame.physicalMs, Date.now()); // 'accepted', or why not
 */
export class Hlc {
  /** Largest wall time (ms) this clock has issued or accepted. */
  #wall = 0;
  /** Logical counter within `#wall`. */
  #logical = 0;
  readonly maxOffsetMs: number;
  /** How far (ms) an adopted wall time may lead physical time: `HLC_LEAD_FACTOR · maxOffsetMs`. */
  readonly maxLeadMs: number;

  constructor(options: HlcOptions = {}) {
    this.maxOffsetMs = options.maxOffsetMs ?? DEFAULT_MAX_CLOCK_OFFSET_MS;
    this.maxLeadMs = HLC_LEAD_FACTOR * this.maxOffsetMs;
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
   * Judges a remote clock reading without changing the clock: the HLC
   * `remoteTs` of a sender whose own physical clock read `senderPhysicalMs`,
   * against our physical clock `physicalMs`. Every comparison is of wall
   * parts (ms), never of encoded numbers, so a logical counter at
   * LOGICAL_SPAN − 1 does not count as the next millisecond.
   */
  judge(remoteTs: number, senderPhysicalMs: number, physicalMs: number): ClockVerdict {
    const remoteWall = wallOf(remoteTs);
    // What we can check: the sender's own clock. A relayed HLC is not its fault.
    if (senderPhysicalMs - physicalMs > this.maxOffsetMs) return 'sender-clock-ahead';
    // No honest sender holds an HLC this far ahead of its own clock: it would not have adopted it.
    if (remoteWall - senderPhysicalMs > this.maxLeadMs) return 'hlc-ahead-of-sender';
    // Whatever the sender states, our clock never leads our physical time by more than maxLeadMs.
    if (remoteWall - physicalMs > this.maxLeadMs) return 'hlc-beyond-bound';
    return 'accepted';
  }

  /**
   * A receive event: {@link Hlc.judge}s the reading and, when accepted,
   * merges it (Kulkarni et al.: the clock becomes the largest of its own,
   * the remote and the physical time, strictly above both timestamps).
   * Otherwise returns why, leaving the clock untouched.
   */
  receive(remoteTs: number, senderPhysicalMs: number, physicalMs: number): ClockVerdict {
    const verdict = this.judge(remoteTs, senderPhysicalMs, physicalMs);
    if (verdict !== 'accepted') return verdict;
    const remoteWall = wallOf(remoteTs);
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
    return verdict;
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
