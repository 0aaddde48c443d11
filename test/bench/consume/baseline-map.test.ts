import { describe, expect, it } from 'vitest';
import { BaselineMapLimiter, defaultBuckets } from '../../../bench/consume/baseline-map.js';

// The floor must be a correct sliding-window counter, or beating it means nothing.
describe('BaselineMapLimiter', () => {
  const windowMs = 60_000; // 60 buckets of 1 s
  const T0 = 1_700_000_000_000; // bucket-aligned

  it('uses one bucket per second of window, clamped to [10, 600]', () => {
    expect([defaultBuckets(60_000), defaultBuckets(1_000), defaultBuckets(3_600_000)]).toEqual([60, 10, 600]);
  });

  it('admits up to the limit within a window and denies the next hit', () => {
    const lim = new BaselineMapLimiter({ limit: 3, windowMs });
    expect([1, 2, 3, 4].map((i) => lim.consume('k', 1, T0 + i))).toEqual([true, true, true, false]);
    expect(lim.consume('other', 1, T0 + 5)).toBe(true);
  });

  it('weights the bucket leaving the window by the fraction still inside', () => {
    const lim = new BaselineMapLimiter({ limit: 10, windowMs });
    for (let i = 0; i < 10; i++) expect(lim.consume('k', 1, T0)).toBe(true);
    // One full window later that bucket is the weighted one: at 25% through the
    // current bucket 75% of it counts, 7.5 hits, leaving room for 2.
    const t = T0 + windowMs + 250;
    expect([lim.consume('k', 1, t), lim.consume('k', 1, t), lim.consume('k', 1, t)]).toEqual([true, true, false]);
  });

  it('forgets everything after more than a window of silence', () => {
    const lim = new BaselineMapLimiter({ limit: 2, windowMs });
    lim.consume('k', 2, T0);
    expect(lim.consume('k', 1, T0 + 30_000)).toBe(false);
    expect(lim.consume('k', 2, T0 + 2 * windowMs)).toBe(true);
  });
});
