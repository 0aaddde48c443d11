import { describe, expect, it } from 'vitest';
import { median, pairOrder, pairRatio, summarisePairs, type Pair } from '../../../bench/lib/before-after.js';

describe('pairOrder', () => {
  it('alternates B A, A B through a round and swaps every case the next round', () => {
    const sequence = (round: number): string =>
      [0, 1, 2, 3]
        .flatMap((c) => pairOrder(round, c))
        .map((b) => (b === 'before' ? 'B' : 'A'))
        .join('');
    expect(sequence(0)).toBe('BAABBAAB');
    expect(sequence(1)).toBe('ABBAABBA');
    expect(sequence(2)).toBe(sequence(0));
  });

  it('lets each build go first in half of the rounds of a case', () => {
    const firsts = Array.from({ length: 10 }, (_, r) => pairOrder(r, 3)[0]);
    expect(firsts.filter((b) => b === 'before')).toHaveLength(5);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect([median([3, 1, 2]), median([4, 1, 3, 2]), median([7])]).toEqual([2, 2.5, 7]);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('summarisePairs', () => {
  const pairs: Pair[] = [
    { round: 1, first: 'before', beforeOpsPerSec: 100, afterOpsPerSec: 90 },
    { round: 2, first: 'after', beforeOpsPerSec: 200, afterOpsPerSec: 210 },
    { round: 3, first: 'before', beforeOpsPerSec: 120, afterOpsPerSec: 120 },
  ];

  it('reports each build’s median throughput and the spread of the per-pair ratios', () => {
    expect(summarisePairs(pairs)).toEqual({
      beforeMedianOpsPerSec: 120,
      afterMedianOpsPerSec: 120,
      medianRatio: 1,
      minRatio: 0.9,
      maxRatio: 1.05,
    });
  });

  it('takes the ratio within each pair, not between the medians', () => {
    // A slow second round hits both builds of that pair; the pair's ratio is unaffected.
    const noisy: Pair[] = [
      { round: 1, first: 'before', beforeOpsPerSec: 100, afterOpsPerSec: 95 },
      { round: 2, first: 'after', beforeOpsPerSec: 40, afterOpsPerSec: 38 },
    ];
    expect(noisy.map(pairRatio)).toEqual([0.95, 0.95]);
    expect(summarisePairs(noisy).medianRatio).toBe(0.95);
  });
});
