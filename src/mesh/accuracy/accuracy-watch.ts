/**
 * Accuracy while running (docs/accuracy.md, Accuracy while running): per
 * limiter, an estimate of over-admission — the largest window count of any
 * key, as this node knows it now (its peers' hits merged), divided by the
 * limit — and an `slo` event when it passes the limiter's `sloRatio` (and
 * again when it is back under).
 *
 * A paced walk, off the decision path: every `digestIntervalMs` each
 * limiter's keys are read from where the last walk stopped, at most
 * {@link WALK_SLOTS} of them; the estimate is the largest count read within
 * the last window. With fewer keys than that every key is read every
 * interval; with more, each is read once per lap, so a short excess on one
 * key among millions can be missed (an estimate, not a proof).
 *
 * @module
 */
import type { Limiter } from '../../limiter/limiter.js';

/** Slots read per limiter per walk. */
export const WALK_SLOTS = 4096;

/** A limiter's estimated admitted ratio passed its `sloRatio` (`active`), or came back under it. */
export interface SloEvent {
  type: 'slo';
  limiter: string;
  active: boolean;
  /** The estimate: the largest window count read in the last window ÷ the limit. */
  ratio: number;
  sloRatio: number;
}

interface Estimate {
  cursor: number;
  /** The largest count read, and when (physical ms). */
  peak: number;
  peakAt: number;
  deviating: boolean;
}

/** Walks the limiters' keys and keeps each one's estimate. */
export class AccuracyWatch {
  #estimates = new Map<string, Estimate>();
  #now: () => number;
  #emit: (event: SloEvent) => void;

  constructor(now: () => number, emit: (event: SloEvent) => void) {
    this.#now = now;
    this.#emit = emit;
  }

  /** The estimated admitted ratio of `limiter` (0 before its first walk). */
  ratio(limiter: Limiter): number {
    const e = this.#estimates.get(limiter.name);
    return e === undefined ? 0 : Math.round((e.peak / limiter.limit) * 1000) / 1000;
  }

  /** One walk over every limiter. */
  walk(limiters: Iterable<Limiter>): void {
    const now = this.#now();
    for (const limiter of limiters) {
      let e = this.#estimates.get(limiter.name);
      if (e === undefined) this.#estimates.set(limiter.name, (e = { cursor: 0, peak: 0, peakAt: now, deviating: false }));
      const { peak, cursor } = limiter.replica.peakCount(e.cursor, WALK_SLOTS);
      e.cursor = cursor;
      // The estimate covers the last window: an older peak gives way to what was read now.
      if (peak >= e.peak || now - e.peakAt > limiter.windowMs) {
        e.peak = peak;
        e.peakAt = now;
      }
      const bound = limiter.sloRatio;
      if (bound === undefined) continue;
      const ratio = this.ratio(limiter);
      if (ratio > bound !== e.deviating) {
        e.deviating = !e.deviating;
        this.#emit({ type: 'slo', limiter: limiter.name, active: e.deviating, ratio, sloRatio: bound });
      }
    }
  }
}
