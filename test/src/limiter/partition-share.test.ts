/**
 * A `partition: 'share'` limiter's decisions on its share, against figures
 * worked out by hand from the formula of docs/accuracy.md:
 *
 *     post(t) + cost ≤ w · (L − pre(t))
 */
import { describe, expect, it } from 'vitest';
import { createLimiter, type EmbeddedLimiterOptions, type Limiter } from '../../../src/limiter/limiter.js';

const OPTIONS = { name: 'api', limit: 90, windowMs: 10_000, buckets: 10 } as const;

function limiterAt(clock: { now: number }, nodeId: string, options: Partial<EmbeddedLimiterOptions> = {}): Limiter {
  return createLimiter({ ...OPTIONS, partition: 'share', ...options, nodeId, now: () => clock.now });
}

/** Node a with 30 hits of its own and 30 of node b in bucket 0 (t = 0 .. 999). */
function twoNodes(): { a: Limiter; b: Limiter; clock: { now: number } } {
  const clock = { now: 500 };
  const a = limiterAt(clock, 'a');
  const b = limiterAt(clock, 'b');
  a.consume('k', 30);
  b.consume('k', 30);
  a.replica.merge(b.replica.snapshot().state);
  return { a, b, clock };
}

describe("partition: 'share' decisions", () => {
  it('admits only its weight of the budget left when contact was lost, with remaining and retryAfterMs for the share', () => {
    const { a, clock } = twoNodes();
    clock.now = 1_000; // bucket 1
    expect(a.enterShare(3, 'contact', 'lost contact with c (down)')).toBe(true);
    expect(a.share).toMatchObject({ fromBucket: 1, weight: 1 / 3, members: 3, cause: 'contact' });
    // pre = 60 (bucket 0, every replica), budget left 30, a's third is 10.
    for (let i = 1; i <= 10; i++) expect(a.consume('k')).toMatchObject({ allowed: true, remaining: 10 - i });
    const denied = a.consume('k');
    // The count (70) has room for 20 more; the share has none until bucket 0 slides: share count
    // (1 − f)·60/3 + 10 ≤ 29 at f ≥ 0.05, i.e. t = 10 050.
    expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 9_050 });
    expect(a.count('k')).toBe(70);
    clock.now = 10_049;
    expect(a.peek('k').allowed).toBe(false);
    clock.now = 10_050;
    expect(a.consume('k').allowed).toBe(true);
    // Once bucket 0 has left, the share is a third of the limit per window of a's own hits: 30, 11 used.
    clock.now = 11_000;
    expect(a.peek('k')).toMatchObject({ allowed: true, remaining: 19 });
  });

  it('counts its own hits of the share bucket against its share, and other replicas’ as spent before the loss', () => {
    const clock = { now: 1_200 };
    const a = limiterAt(clock, 'a');
    const b = limiterAt(clock, 'b');
    a.enterShare(2, 'contact', 'lost contact with b (suspect)');
    // Both in bucket 1, the share bucket: b's 20 (merged) are spent budget, a's own count against its half.
    b.consume('k', 20);
    a.replica.merge(b.replica.snapshot().state);
    // (90 − 20) / 2 = 35 for a.
    expect(a.consume('k', 35)).toMatchObject({ allowed: true, remaining: 0 });
    expect(a.consume('k')).toMatchObject({ allowed: false });
  });

  it('denies a cost above its whole share, and a key it never saw beyond it', () => {
    const clock = { now: 0 };
    const a = limiterAt(clock, 'a');
    a.enterShare(3, 'contact', 'lost contact');
    expect(a.consume('fresh', 31)).toMatchObject({ allowed: false, retryAfterMs: 10_000 });
    expect(a.consume('fresh', 30)).toMatchObject({ allowed: true, remaining: 0 });
    expect(a.consume('fresh', 1)).toMatchObject({ allowed: false });
  });

  it('decides on the full count again once the share ends: the cells were never changed', () => {
    const { a, clock } = twoNodes();
    clock.now = 1_000;
    a.enterShare(3, 'contact', 'lost contact');
    for (let i = 0; i < 12; i++) a.consume('k');
    expect(a.count('k')).toBe(70);
    expect(a.leaveShare()).toBe(true);
    expect(a.share).toBeNull();
    expect(a.consume('k', 20)).toMatchObject({ allowed: true, remaining: 0 });
    expect(a.consume('k')).toMatchObject({ allowed: false });
    expect(a.leaveShare()).toBe(false);
  });

  it('keeps the bucket of the first loss while the share lasts, taking a new weight', () => {
    const { a, clock } = twoNodes();
    clock.now = 1_000;
    a.enterShare(3, 'contact', 'lost contact with c (down)');
    clock.now = 3_000;
    expect(a.enterShare(2, 'contact', 'lost contact with b (down)')).toBe(false);
    expect(a.share).toMatchObject({ fromBucket: 1, weight: 1 / 2, members: 2, reason: 'lost contact with b (down)' });
    // Half of the 30 left in bucket 1.
    expect(a.consume('k', 15).allowed).toBe(true);
    expect(a.consume('k').allowed).toBe(false);
  });

  it("never shares with partition: 'local', the default", () => {
    const clock = { now: 0 };
    const a = createLimiter({ ...OPTIONS, now: () => clock.now });
    expect(a.partition).toBe('local');
    expect(a.enterShare(3, 'contact', 'lost contact')).toBe(false);
    expect(a.share).toBeNull();
    expect(a.consume('k', 90).allowed).toBe(true);
  });

  it('refuses a partition policy, maxLagMs or sloRatio it does not take, naming the option', () => {
    expect(() => createLimiter({ ...OPTIONS, partition: 'shared' as 'share' })).toThrow(
      expect.objectContaining({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('partition') }),
    );
    expect(() => createLimiter({ ...OPTIONS, maxLagMs: 0 })).toThrow(expect.objectContaining({ message: expect.stringContaining('maxLagMs') }));
    expect(createLimiter({ ...OPTIONS, partition: 'share' }).maxLagMs).toBe(200);
    expect(() => createLimiter({ ...OPTIONS, sloRatio: 0.5 })).toThrow(expect.objectContaining({ code: 'TALLYMESH_ERR_OPTION_RANGE', message: expect.stringContaining('sloRatio') }));
    expect(() => createLimiter({ ...OPTIONS, sloRatio: '1.1' as unknown as number })).toThrow(expect.objectContaining({ code: 'TALLYMESH_ERR_OPTION_TYPE' }));
    expect(createLimiter({ ...OPTIONS, sloRatio: 1.05 }).sloRatio).toBe(1.05);
  });
});
