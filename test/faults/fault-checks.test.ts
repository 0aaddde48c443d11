/**
 * The fault suite's own checks, on made-up logs: each must reject a lost,
 * doubled or misplaced hit and a wrong reset outcome, or a green fault run
 * would prove nothing. (The fault suite itself needs root; these run in
 * `npm test`.)
 */
import { describe, expect, it } from 'vitest';
import { CHURN, heldLookbackMs, judgeCells } from './churn.js';
import type { Hit } from './load.js';
import { resetTruth } from './reset-partition.js';

const G = CHURN.windowMs / CHURN.buckets;

describe('judgeCells (key churn: every live bucket exact)', () => {
  // Two hits in bucket 100, one in 101, one straddling 101|102.
  const t = 100 * G;
  const log = {
    hits: [
      [t + 10, t + 12],
      [t + 50, t + 53],
      [t + G + 5, t + G + 9],
      [t + 2 * G - 2, t + 2 * G + 3],
    ] as Array<[number, number]>,
    unknown: [] as Array<[number, number]>,
  };
  const readAt = t + 3 * G;

  it('accepts the exact cells, wherever the straddling hit landed', () => {
    expect(judgeCells(log, [{ bucket: 100, count: 2 }, { bucket: 101, count: 2 }], readAt)).toBeNull();
    expect(judgeCells(log, [{ bucket: 100, count: 2 }, { bucket: 101, count: 1 }, { bucket: 102, count: 1 }], readAt)).toBeNull();
    // Cells of two replicas in one bucket add up.
    expect(judgeCells(log, [{ bucket: 100, count: 1 }, { bucket: 100, count: 1 }, { bucket: 101, count: 2 }], readAt)).toBeNull();
  });

  it('rejects a lost hit, a doubled hit, a missing bucket and a hit in the wrong bucket', () => {
    expect(judgeCells(log, [{ bucket: 100, count: 1 }, { bucket: 101, count: 2 }], readAt)).toMatch(/bucket 100: 1/);
    expect(judgeCells(log, [{ bucket: 100, count: 3 }, { bucket: 101, count: 2 }], readAt)).toMatch(/bucket 100: 3/);
    expect(judgeCells(log, [{ bucket: 101, count: 2 }], readAt)).toMatch(/bucket 100: 0/);
    expect(judgeCells(log, [{ bucket: 100, count: 2 }, { bucket: 101, count: 1 }, { bucket: 103, count: 1 }], readAt)).not.toBeNull();
    // The straddling hit counted in both of its buckets: each bucket within range, the total not.
    expect(judgeCells(log, [{ bucket: 100, count: 2 }, { bucket: 101, count: 2 }, { bucket: 102, count: 1 }], readAt)).toMatch(/total 5/);
  });

  it('lets buckets that left the window go, but not buckets still inside it', () => {
    const late = (100 + CHURN.buckets) * G + 1; // bucket 100 may be gone by now; 101 must be there
    expect(judgeCells(log, [{ bucket: 101, count: 2 }], late)).toBeNull();
    expect(judgeCells(log, [], late)).toMatch(/bucket 101: 0/);
    // Present though it may have left: it must still be exact.
    expect(judgeCells(log, [{ bucket: 100, count: 1 }, { bucket: 101, count: 2 }], late)).toMatch(/bucket 100: 1/);
  });

  it('lets a request with unknown outcome be counted or not, and nothing more', () => {
    const withUnknown = { hits: log.hits.slice(0, 2), unknown: [[t + 20, t + 25]] as Array<[number, number]> };
    expect(judgeCells(withUnknown, [{ bucket: 100, count: 2 }], readAt)).toBeNull();
    expect(judgeCells(withUnknown, [{ bucket: 100, count: 3 }], readAt)).toBeNull();
    expect(judgeCells(withUnknown, [{ bucket: 100, count: 4 }], readAt)).not.toBeNull();
  });

  it('bounds held keys by window, bucket and the half-window sweep lap', () => {
    expect(heldLookbackMs()).toBeGreaterThanOrEqual(CHURN.windowMs + G + CHURN.windowMs / 2);
    expect(heldLookbackMs()).toBeLessThan(2 * CHURN.windowMs);
  });
});

describe('resetTruth (reset during a partition)', () => {
  const tl = { cutStart: 10_000, cutEnd: 10_050, resetSent: 11_000, resetDone: 11_010 };
  const hit = (node: string, sent: number, t = sent + 2): Hit => ({ node, limiter: 'exact', key: 'hot', sent, t });
  const hits = [
    hit('n1', 9_000), hit('n2', 9_000), // before the cut: observed by n1
    hit('n2', 9_900), // answered within the in-flight margin before the cut: either
    hit('n1', 10_500), // n1, before the reset: observed
    hit('n1', 11_005), // n1, during the reset request: either
    hit('n1', 11_500), hit('n1', 12_000), // n1 after the reset: visible under both rules
    hit('n2', 10_200), hit('n3', 11_500), hit('n4', 12_500), // majority during the partition
  ];

  it('keeps the majority\'s partition hits under observed-remove and hides them under the generation rule', () => {
    const r = resetTruth(hits, [], 'n1', tl);
    expect(r.observedRemove).toEqual({ lo: 5, hi: 7 });
    expect(r.generation).toEqual({ lo: 2, hi: 3 });
  });

  it('widens only the upper end for requests with unknown outcome', () => {
    const r = resetTruth(hits, [hit('n3', 12_000), hit('n1', 9_000)], 'n1', tl);
    expect(r.observedRemove).toEqual({ lo: 5, hi: 8 });
    expect(r.generation).toEqual({ lo: 2, hi: 3 });
  });
});
