/**
 * The pure window math (crdt/window-math.ts) against the formulas of
 * docs/window-math.md, computed here independently: bucket boundaries in
 * exact integer arithmetic (test/helpers/window-model.ts), and resetMs and
 * retryAfterMs by scanning every millisecond with the documented count
 *
 *     count(t) = Σ_{b = cur−B+1 .. cur} c_b  +  (1 − f) · c_{cur−B},   1 − f = ((cur+1)·W − t·B) / W
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bucketOf, countAhead, edgeWeight, resetMs, retryAfterMs } from '../../crdt/window-math.js';
import { fcParams } from '../helpers/fc.js';
import { exactBucketOf, exactFraction, type WindowShape } from '../helpers/window-model.js';

const shapeArb: fc.Arbitrary<WindowShape> = fc.oneof(
  fc.record({ windowMs: fc.constantFrom(1000, 10_000, 999, 7, 60_000, 100), buckets: fc.constantFrom(1, 3, 7, 10, 13, 60) }),
  fc.record({ windowMs: fc.integer({ min: 1, max: 5000 }), buckets: fc.integer({ min: 1, max: 24 }) }),
);

const timeArb = fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }));

/** The documented count at `t` of a key whose hits per bucket are `hits` (bucket id → hits), no other hits. */
function docCount(shape: WindowShape, hits: Map<number, number>, t: number): number {
  const { windowMs: W, buckets: B } = shape;
  const cur = exactBucketOf(shape, t);
  let full = 0;
  let edge = 0;
  for (const [b, n] of hits) {
    if (b > cur - B) full += n;
    else if (b === cur - B) edge += n;
  }
  return full + edge * (((cur + 1) * W - t * B) / W);
}

/** `per[i]` = hits of bucket `cur − i`, as the window hands them to countAhead and retryAfterMs. */
function hitsOf(per: Float64Array, cur: number): Map<number, number> {
  const hits = new Map<number, number>();
  per.forEach((n, i) => {
    if (n > 0) hits.set(cur - i, n);
  });
  return hits;
}

/** Hits per bucket for the last B + 1 buckets, and the time and target to ask about. */
const retryCaseArb = fc
  .record({ shape: shapeArb, t: timeArb })
  .chain(({ shape, t }) =>
    fc
      .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 9 })), { minLength: shape.buckets + 1, maxLength: shape.buckets + 1 })
      .chain((hits) => {
        const total = hits.reduce((a, b) => a + b, 0);
        return fc.integer({ min: 0, max: total }).map((target) => ({ shape, t, per: Float64Array.from(hits), target }));
      }),
  );

describe('window math', () => {
  it('puts every millisecond in the bucket floor(t·B / W) computed exactly', () => {
    fc.assert(
      fc.property(shapeArb, timeArb, ({ windowMs, buckets }, t) => {
        expect(bucketOf(t, windowMs, buckets)).toBe(exactBucketOf({ windowMs, buckets }, t));
      }),
      fcParams(1000),
    );
  });

  it('puts the first millisecond of every bucket in that bucket', () => {
    expect(bucketOf(20_000, 10_000, 7)).toBe(14);
    fc.assert(
      fc.property(shapeArb, timeArb, ({ windowMs: W, buckets: B }, t) => {
        const b = exactBucketOf({ windowMs: W, buckets: B }, t);
        const first = Math.ceil((b * W) / B);
        expect(bucketOf(first, W, B)).toBe(b);
        // (b − 1 when a bucket is a millisecond or wider; narrower ones can be skipped)
        expect(bucketOf(first - 1, W, B)).toBeLessThan(b);
      }),
      fcParams(1000),
    );
  });

  it('weights the edge bucket by 1 − f, the part of it still inside the window', () => {
    fc.assert(
      fc.property(shapeArb, timeArb, (shape, t) => {
        const cur = exactBucketOf(shape, t);
        const w = edgeWeight(t, cur, shape.windowMs, shape.buckets);
        expect(w).toBeGreaterThan(0);
        expect(w).toBeLessThanOrEqual(1);
        expect(w).toBeCloseTo(1 - exactFraction(shape, t), 12);
        // Weight 1 exactly at the first millisecond of a bucket.
        if (exactFraction(shape, t) === 0) expect(w).toBe(1);
      }),
      fcParams(1000),
    );
  });

  it('gives an exact resetMs: the newest bucket has left the window then and not a millisecond earlier', () => {
    expect(resetMs(0, 500, 1_000, 10)).toBe(600);
    fc.assert(
      fc.property(shapeArb, timeArb, fc.integer({ min: -2, max: 30 }), (shape, t, back) => {
        const { windowMs: W, buckets: B } = shape;
        const newest = exactBucketOf(shape, t) - back;
        const r = resetMs(newest, t, W, B);
        expect(r).toBeGreaterThanOrEqual(0);
        const hits = new Map([[newest, 1]]);
        expect(docCount(shape, hits, t + r)).toBe(0);
        if (r > 0) expect(docCount(shape, hits, t + r - 1)).toBeGreaterThan(0);
      }),
      fcParams(1000),
    );
  });

  it('counts the full buckets plus the weighted edge bucket, now and ahead of time, as documented', () => {
    expect(countAhead(Float64Array.of(3, 1, 2), 5, 2_750, 1_000, 2)).toBe(5);
    fc.assert(
      fc.property(retryCaseArb, fc.nat(20_000), ({ shape, t, per }, dt) => {
        const cur = exactBucketOf(shape, t);
        const at = t + (dt % (shape.windowMs + 2 * Math.ceil(shape.windowMs / shape.buckets)));
        expect(countAhead(per, cur, at, shape.windowMs, shape.buckets)).toBe(docCount(shape, hitsOf(per, cur), at));
      }),
      fcParams(500),
    );
  });

  it('gives an exact retryAfterMs: the count fits the target then and not a millisecond earlier', () => {
    expect(retryAfterMs(Float64Array.of(3, 2, 0), 5, 2_500, 1_000, 2, 4)).toBe(750);
    fc.assert(
      fc.property(retryCaseArb, ({ shape, t, per, target }) => {
        const { windowMs: W, buckets: B } = shape;
        const cur = exactBucketOf(shape, t);
        const hits = hitsOf(per, cur);
        // Brute force: every millisecond until all these hits have left the window.
        const horizon = Math.ceil(((cur + B + 1) * W) / B) - t + 1;
        let expected = -1;
        for (let r = 1; r <= horizon; r++) {
          if (docCount(shape, hits, t + r) <= target) {
            expected = r;
            break;
          }
        }
        expect(expected).toBeGreaterThan(0);
        expect(retryAfterMs(per, cur, t, W, B, target)).toBe(expected);
      }),
      fcParams(300),
    );
  });
});
