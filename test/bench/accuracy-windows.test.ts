/**
 * The accuracy scenario's window arithmetic (bench/accuracy/accuracy-windows.ts)
 * on logs whose answers are worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import { countIn, mostAligned, perInterval, slidingExtremes } from '../../bench/accuracy/accuracy-windows.js';

describe('accuracy windows', () => {
  it('finds the most and the least hits in any sliding window, at millisecond steps', () => {
    // 3 hits at 100, 2 at 1 050, 1 at 1 999; windows of 1 000 ms inside [0, 3 000).
    const times = [100, 100, 100, 1_050, 1_050, 1_999];
    // [100, 1 100) holds 5; [1 050, 2 050) holds 3; [2 000, 3 000) holds none.
    expect(slidingExtremes(times, 1_000, 0, 3_000)).toEqual({ most: 5, least: 0 });
    // Inside [1 000, 2 100) windows start at 1 000 … 1 100: [1 000, 2 000) holds 3, [1 051, 2 051) only the hit at 1 999.
    expect(slidingExtremes(times, 1_000, 1_000, 2_100)).toEqual({ most: 3, least: 1 });
    // A span shorter than the window holds no window.
    expect(slidingExtremes(times, 1_000, 0, 999)).toEqual({ most: 0, least: 0 });
  });

  it('counts aligned spans of the buckets only', () => {
    // W = 1 000, B = 4: buckets of 250 ms. Hits at 200 and 300 straddle buckets 0 and 1.
    const times = [200, 300, 900, 1_000, 1_100];
    // Spans inside [0, 2 000): [0, 1 000) holds 3, [250, 1 250) holds 4, [500, 1 500) 3, [750, 1 750) 3, [1 000, 2 000) 2.
    expect(mostAligned(times, 1_000, 4, 0, 2_000)).toBe(4);
    // A sliding window sees [200, 1 200): 5.
    expect(slidingExtremes(times, 1_000, 0, 2_000).most).toBe(5);
    expect(countIn(times, 300, 1_000)).toBe(2);
  });

  it('counts hits per interval from an origin, leaving out those outside the intervals', () => {
    // Intervals of 500 ms from 1 000: [1 000, 1 500), [1 500, 2 000), [2 000, 2 500).
    expect(perInterval([999, 1_000, 1_499.9, 1_500, 2_499, 2_500], 1_000, 500, 3)).toEqual([2, 1, 1]);
    expect(perInterval([1_000], 1_000, 500, 0)).toEqual([]);
  });
});
