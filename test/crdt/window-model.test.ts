/**
 * The window math against a brute-force model (test/helpers/window-model.ts):
 * random single-node schedules of consumes and resets over several keys,
 * checked against the log of every admitted hit. The guarantees under test
 * are the ones docs/window-math.md states.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../crdt/sliding-window.js';
import { fcParams } from '../helpers/fc.js';
import { countFromCells, windowView } from '../helpers/cells.js';
import { exactBucketOf, WindowModel, type WindowShape } from '../helpers/window-model.js';

const KEYS = ['a', 'b', 'c'];
const EPS = 1e-9;

interface Op {
  kind: 'consume' | 'reset' | 'peek';
  key: string;
  cost: number;
  /** Time step before the op, in ms. */
  dt: number;
}

interface Schedule {
  shape: WindowShape;
  limit: number;
  start: number;
  ops: Op[];
}

/** Window shapes that stress the arithmetic: widths that are not whole ms, one bucket, many buckets. */
const shapeArb: fc.Arbitrary<WindowShape> = fc.oneof(
  fc.record({ windowMs: fc.constantFrom(1000, 10_000, 999, 7, 60_000, 100), buckets: fc.constantFrom(1, 3, 7, 10, 13, 60) }),
  fc.record({ windowMs: fc.integer({ min: 1, max: 5000 }), buckets: fc.integer({ min: 1, max: 24 }) }),
);

function opArb(shape: WindowShape, limit: number): fc.Arbitrary<Op> {
  const g = shape.windowMs / shape.buckets;
  const dt = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: Math.max(1, Math.ceil(g)) }) },
    { weight: 2, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 * shape.windowMs }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 * shape.windowMs }) },
  );
  const cost = fc.oneof(
    { weight: 5, arbitrary: fc.integer({ min: 1, max: Math.min(limit, 3) }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: limit }) },
  );
  return fc.record({
    kind: fc.constantFrom<Op['kind']>('consume', 'consume', 'consume', 'consume', 'consume', 'consume', 'peek', 'reset'),
    key: fc.constantFrom(...KEYS),
    cost,
    dt,
  });
}

const scheduleArb: fc.Arbitrary<Schedule> = fc
  .record({
    shape: shapeArb,
    limit: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 25 }) }, { weight: 1, arbitrary: fc.integer({ min: 26, max: 1_000_000 }) }),
    start: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 })),
  })
  .chain(({ shape, limit, start }) =>
    fc.array(opArb(shape, limit), { minLength: 1, maxLength: 60 }).map((ops) => ({ shape, limit, start, ops })),
  );

function newWindow(shape: WindowShape): SlidingWindow {
  return new SlidingWindow({ ...shape, replicaId: 'solo#1' });
}

/** An independent copy of `w` at time `t`, to probe the future without touching `w`. */
function cloneAt(w: SlidingWindow, shape: WindowShape, t: number): SlidingWindow {
  const copy = newWindow(shape);
  copy.merge(w.snapshot(t).state, t);
  return copy;
}

/** Replays a schedule, calling `check` around every decision; returns the models. */
function replay(
  s: Schedule,
  check: (ctx: { w: SlidingWindow; model: WindowModel; op: Op; t: number; phase: 'before' | 'after'; allowed?: boolean; retryAfterMs?: number; resetMs?: number; remaining?: number }) => void,
): Map<string, WindowModel> {
  const w = newWindow(s.shape);
  const models = new Map(KEYS.map((k) => [k, new WindowModel(s.shape, s.limit)]));
  let t = s.start;
  for (const op of s.ops) {
    t += op.dt;
    const model = models.get(op.key) as WindowModel;
    if (op.kind === 'reset') {
      w.reset(op.key);
      model.reset();
      continue;
    }
    check({ w, model, op, t, phase: 'before' });
    const d = w.decide(op.key, op.cost, s.limit, t, op.kind === 'consume');
    if (d.allowed && op.kind === 'consume') model.record(t, op.cost);
    check({ w, model, op, t, phase: 'after', allowed: d.allowed, retryAfterMs: d.retryAfterMs, resetMs: d.resetMs, remaining: d.remaining });
  }
  return models;
}

describe('window math against the brute-force model', () => {
  it('estimates the true count within c_edge·max(f, 1−f) (bound b)', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        replay(s, ({ w, model, op, t, phase }) => {
          if (phase !== 'before') return;
          const { estimate, edgeHits, f, truth } = model.estimate(t);
          const count = w.count(op.key, t);
          // The store computes exactly the formula, from the same hits.
          expect(count).toBeCloseTo(estimate, 9);
          expect(countFromCells(w, op.key, t)).toBeCloseTo(count, 9);
          // (b): |estimate − truth| ≤ c_edge · max(f, 1 − f)
          expect(Math.abs(count - truth)).toBeLessThanOrEqual(edgeHits * Math.max(f, 1 - f) + EPS);
        });
      }),
      fcParams(150),
    );
  });

  it('admits a request exactly when the estimate plus its cost fits under the limit', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        replay(s, ({ model, op, t, phase, allowed, remaining }) => {
          if (phase !== 'after') return;
          const { estimate } = model.estimate(t);
          if (allowed && op.kind === 'consume') {
            // estimate now includes the request itself
            expect(estimate).toBeLessThanOrEqual(s.limit + EPS);
            expect(remaining).toBe(Math.max(0, Math.floor(s.limit - estimate + EPS)));
          } else if (allowed) {
            expect(estimate + op.cost).toBeLessThanOrEqual(s.limit + EPS);
          } else {
            expect(estimate + op.cost).toBeGreaterThan(s.limit - EPS);
            expect(remaining).toBe(Math.max(0, Math.floor(s.limit - estimate + EPS)));
          }
        });
      }),
      fcParams(150),
    );
  });

  it('never admits more than the limit in any span of B aligned buckets (guarantee a)', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        const models = replay(s, () => {});
        for (const model of models.values()) expect(model.maxAlignedSpan()).toBeLessThanOrEqual(s.limit);
      }),
      fcParams(300),
    );
  });

  it('admits at most limit + the hits of one bucket in any sliding window (bound c)', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        const models = replay(s, () => {});
        for (const model of models.values()) {
          for (const hits of model.epochs) {
            for (const start of model.windowStarts(hits)) {
              const { count, simple, weighted } = model.slidingWindow(hits, start);
              expect(count).toBeLessThanOrEqual(weighted + 1e-6);
              expect(weighted).toBeLessThanOrEqual(simple + EPS);
              expect(count).toBeLessThanOrEqual(2 * s.limit - 1 || 1);
            }
          }
        }
      }),
      fcParams(300),
    );
  });

  it('reaches 2·limit − 1 in a sliding window on the worst-case schedule, and no more', () => {
    // limit hits at the last ms of a bucket, then as many as the weighting lets through
    // one window later: the window ending just before the next boundary holds nearly 2·limit.
    const shape = { windowMs: 10_000, buckets: 10 };
    const limit = 100;
    const w = newWindow(shape);
    const model = new WindowModel(shape, limit);
    const t0 = 5 * 1000 - 1;
    expect(w.decide('k', limit, limit, t0, true).allowed).toBe(true);
    model.record(t0, limit);
    for (let t = t0 + 1; t < t0 + 11_000; t++) {
      if (w.decide('k', 1, limit, t, true).allowed) model.record(t, 1);
    }
    const worst = Math.max(...model.windowStarts(model.hits).map((s0) => model.slidingWindow(model.hits, s0).count));
    // [4999, 14999): the 100 hits of t0 plus 99 in bucket 14 — the weighted bound,
    // limit + A − (1 − φ)·c_k = 100 + 100 − 0.001·100, rounded down: 2·limit − 1.
    expect(worst).toBe(2 * limit - 1);
    expect(model.maxAlignedSpan()).toBeLessThanOrEqual(limit);
  });

  it('never changes state on a denied call', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        let before: { view: unknown; pending: number; count: number } | null = null;
        replay(s, ({ w, op, t, phase, allowed }) => {
          if (phase === 'before') {
            before = { view: windowView(w, KEYS, t), pending: w.pending, count: w.count(op.key, t) };
            return;
          }
          if (op.kind === 'peek' || allowed === false) {
            expect(windowView(w, KEYS, t)).toEqual(before?.view);
            expect(w.pending).toBe(before?.pending);
            expect(w.count(op.key, t)).toBe(before?.count);
          }
        });
      }),
      fcParams(150),
    );
  });

  it('gives an exact retryAfterMs: the same cost is admitted then and not a millisecond earlier', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        replay(s, ({ w, op, t, phase, allowed, retryAfterMs }) => {
          if (phase !== 'after') return;
          if (allowed) {
            expect(retryAfterMs).toBe(0);
            return;
          }
          const r = retryAfterMs as number;
          expect(r).toBeGreaterThanOrEqual(1);
          expect(Number.isInteger(r)).toBe(true);
          const probe = cloneAt(w, s.shape, t);
          // Earlier probe first: probing moves the copy's clock.
          if (r > 1) expect(probe.decide(op.key, op.cost, s.limit, t + r - 1, false).allowed).toBe(false);
          expect(probe.decide(op.key, op.cost, s.limit, t + r, false).allowed).toBe(true);
        });
      }),
      fcParams(200),
    );
  });

  it('gives an exact resetMs: the count is 0 then and not a millisecond earlier', () => {
    fc.assert(
      fc.property(scheduleArb, (s) => {
        replay(s, ({ w, op, t, phase, resetMs }) => {
          if (phase !== 'after') return;
          const r = resetMs as number;
          expect(Number.isInteger(r)).toBe(true);
          const probe = cloneAt(w, s.shape, t);
          if (r >= 1) expect(probe.count(op.key, t + r - 1)).toBeGreaterThan(0);
          expect(probe.count(op.key, t + r)).toBe(0);
          const later = cloneAt(w, s.shape, t);
          expect(later.decide(op.key, 1, s.limit, t + r, false).remaining).toBe(s.limit);
        });
      }),
      fcParams(200),
    );
  });

  it('places every hit in the exactly aligned bucket', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 0, max: 1_900_000_000_000 }), (shape, t) => {
        expect(newWindow(shape).bucketOf(t)).toBe(exactBucketOf(shape, t));
      }),
      fcParams(2000),
    );
  });

  it('places the first millisecond of a bucket in that bucket', () => {
    // 20 000 is the first ms of bucket 14 when W = 10 000 and B = 7 (14·10000/7).
    const w = newWindow({ windowMs: 10_000, buckets: 7 });
    expect(w.bucketOf(20_000)).toBe(14);
    expect(w.bucketOf(19_999)).toBe(13);
  });
});
