import { describe, expect, it } from 'vitest';
import { Hlc, encodeHlc } from '../../../crdt/hlc.js';
import { createLimiter, Limiter, type EmbeddedLimiterOptions } from '../../../src/limiter/limiter.js';

/** A limiter on a hand-driven clock. */
function limiterAt(start: number, options: Partial<EmbeddedLimiterOptions> = {}): { limiter: Limiter; clock: { now: number } } {
  const clock = { now: start };
  const limiter = createLimiter({ name: 'api', limit: 3, windowMs: 1_000, buckets: 10, ...options, now: () => clock.now });
  return { limiter, clock };
}

describe('createLimiter', () => {
  it('admits up to the limit and denies the rest with the time to retry', () => {
    const { limiter, clock } = limiterAt(1_000_000);
    expect(limiter.consume('k')).toEqual({ allowed: true, limit: 3, remaining: 2, resetMs: 1_100, retryAfterMs: 0 });
    expect(limiter.consume('k').remaining).toBe(1);
    expect(limiter.consume('k').remaining).toBe(0);
    const denied = limiter.consume('k');
    // Bucket 10 000 holds 3 hits; one fits again once a window later its weight is ≤ 2/3:
    // at 1 000 000 + 1 000 + 100/3 ms.
    expect(denied).toEqual({ allowed: false, limit: 3, remaining: 0, resetMs: 1_100, retryAfterMs: 1_034 });
    expect(limiter.stats).toEqual({ allowed: 3, denied: 1, overflows: 0 });
    // Other keys have their own window.
    expect(limiter.consume('other').allowed).toBe(true);
    // At retryAfterMs the request fits, a millisecond earlier it does not.
    clock.now += denied.retryAfterMs - 1;
    expect(limiter.peek('k').allowed).toBe(false);
    clock.now += 1;
    expect(limiter.consume('k').allowed).toBe(true);
  });

  it('charges the cost of a request', () => {
    const { limiter } = limiterAt(50_000, { limit: 5 });
    expect(limiter.consume('k', 3)).toMatchObject({ allowed: true, remaining: 2 });
    expect(limiter.consume('k', 3)).toMatchObject({ allowed: false, remaining: 2 });
    expect(limiter.consume('k', 2)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.count('k')).toBe(5);
  });

  it('slides: hits leave the window bucket by bucket', () => {
    const { limiter, clock } = limiterAt(10_000, { limit: 10 });
    limiter.consume('k', 4); // bucket 100
    clock.now = 10_500;
    limiter.consume('k', 6); // bucket 105
    clock.now = 11_000; // bucket 110: bucket 100 is the edge, fully weighted
    expect(limiter.count('k')).toBe(10);
    clock.now = 11_050; // half of bucket 100 still inside
    expect(limiter.count('k')).toBeCloseTo(8, 12);
    clock.now = 11_100;
    expect(limiter.count('k')).toBe(6);
    clock.now = 11_600;
    expect(limiter.count('k')).toBe(0);
    expect(limiter.consume('k', 10).allowed).toBe(true);
  });

  it('does not count a peek', () => {
    const { limiter } = limiterAt(1_000);
    for (let i = 0; i < 10; i++) expect(limiter.peek('k')).toMatchObject({ allowed: true, remaining: 3, retryAfterMs: 0 });
    expect(limiter.size).toBe(0);
    limiter.consume('k', 3);
    expect(limiter.peek('k')).toMatchObject({ allowed: false, remaining: 0 });
    expect(limiter.count('k')).toBe(3);
    expect(limiter.stats).toEqual({ allowed: 1, denied: 0, overflows: 0 });
  });

  it('forgets every hit of a key on reset, and only of that key', () => {
    const { limiter, clock } = limiterAt(1_000);
    limiter.consume('k', 3);
    limiter.consume('j', 2);
    expect(limiter.consume('k').allowed).toBe(false);
    clock.now += 10;
    limiter.reset('k');
    expect(limiter.count('k')).toBe(0);
    expect(limiter.count('j')).toBe(2);
    expect(limiter.consume('k', 3).allowed).toBe(true);
    // The reset is a change to replicate: the floors it raised, over the hits it hid.
    const { state } = limiter.replica.drainDelta();
    const flat = state?.keys.find(([key]) => key === 'k')?.[1] ?? [];
    expect(flat.slice(2, 4)).toEqual([3, 6]);
  });

  it('changes the limit at runtime', () => {
    const { limiter } = limiterAt(1_000, { limit: 5 });
    limiter.consume('k', 2);
    limiter.setLimit(2);
    expect(limiter.limit).toBe(2);
    expect(limiter.consume('k')).toMatchObject({ allowed: false, limit: 2 });
    expect(limiter.replica.drainDelta().limitChanged).toBe(true);
    expect(limiter.replica.drainDelta().limitChanged).toBe(false);
    expect(limiter.replica.limitRegister).toMatchObject({ value: 2, replica: limiter.replicaId });
    expect(() => limiter.setLimit(0)).toThrow(expect.objectContaining({ code: 'TALLYMESH_ERR_OPTION_RANGE' }));
    expect(limiter.limit).toBe(2);
  });

  describe('past maxKeys', () => {
    it('admits new keys without counting them when onOverflow is allow', () => {
      const { limiter } = limiterAt(1_000, { maxKeys: 2 });
      limiter.consume('a');
      limiter.consume('b');
      expect(limiter.consume('c')).toMatchObject({ allowed: true, remaining: 2, retryAfterMs: 0 });
      expect(limiter.consume('c').allowed).toBe(true);
      expect(limiter.size).toBe(2);
      expect(limiter.count('c')).toBe(0);
      expect(limiter.stats).toEqual({ allowed: 4, denied: 0, overflows: 2 });
      // Known keys are still limited as usual.
      expect(limiter.consume('a', 2).allowed).toBe(true);
      expect(limiter.consume('a').allowed).toBe(false);
    });

    it('denies new keys when onOverflow is deny', () => {
      const { limiter } = limiterAt(1_000, { maxKeys: 2, onOverflow: 'deny' });
      limiter.consume('a');
      limiter.consume('b');
      const d = limiter.consume('c');
      expect(d).toMatchObject({ allowed: false, remaining: 0 });
      expect(d.retryAfterMs).toBeGreaterThan(0);
      expect(limiter.stats).toEqual({ allowed: 2, denied: 1, overflows: 1 });
      expect(limiter.consume('a').allowed).toBe(true);
    });

    it('makes room again once old keys expire', () => {
      const { limiter, clock } = limiterAt(1_000, { maxKeys: 2, onOverflow: 'deny' });
      limiter.consume('a');
      limiter.consume('b');
      expect(limiter.consume('c').allowed).toBe(false);
      clock.now += 1_200; // one window and a bucket later: a and b have expired
      expect(limiter.consume('c').allowed).toBe(true);
      expect(limiter.count('c')).toBe(1);
      expect(limiter.size).toBeLessThanOrEqual(2);
    });

    it('stays at maxKeys when merged state already filled it', () => {
      const { limiter, clock } = limiterAt(1_000, { maxKeys: 2, onOverflow: 'deny' });
      limiter.consume('old');
      clock.now = 1_500;
      // Peers' keys arrive by merge, past the bound.
      limiter.replica.merge({ replicas: ['peer#1'], keys: ['p1', 'p2', 'p3'].map((k) => [k, [limiter.replica.currentBucket(), 0, 0, 1]]) });
      expect(limiter.size).toBe(4);
      clock.now = 2_150; // 'old' has expired, the peers' keys have not
      expect(limiter.consume('new').allowed).toBe(false);
      expect(limiter.size).toBeLessThanOrEqual(3);
      expect([...limiter.keys()]).not.toContain('new');
    });

    it('counts keys a peer reset against the bound, and a reset of a key it does not hold costs nothing', () => {
      const { limiter } = limiterAt(1_000, { maxKeys: 2, onOverflow: 'deny' });
      for (let i = 0; i < 100; i++) limiter.reset(`unknown${i}`);
      expect(limiter.size).toBe(0);
      // Peers' resets arrive as cells with raised floors: held keys like any other.
      const b = limiter.replica.currentBucket();
      limiter.replica.merge({ replicas: ['peer#1'], keys: [['t1', [b, 0, 1, 1]], ['t2', [b, 0, 2, 2]]] });
      expect(limiter.size).toBe(2);
      expect(limiter.consume('new').allowed).toBe(false);
      expect(limiter.stats.overflows).toBe(1);
    });

    it('stays within the node-wide bound when its sweep frees a key of its own', () => {
      const clock = { now: 1_000 };
      const hlc = new Hlc();
      let nodeFull = false;
      const limiter = new Limiter(
        { name: 'api', limit: 3, windowMs: 1_000, buckets: 10, onOverflow: 'deny' },
        { hlc, now: () => clock.now, replicaId: 'n#1', maxClockOffsetMs: 500, nodeFull: () => nodeFull },
      );
      limiter.consume('old');
      clock.now = 2_200; // 'old' has expired; other limiters fill the node meanwhile
      nodeFull = true;
      expect(limiter.consume('new').allowed).toBe(false);
      expect([...limiter.keys()]).not.toContain('new');
    });
  });

  it('gives every limiter its own replica id: node id plus a fresh incarnation', () => {
    const a = createLimiter({ name: 'api', limit: 1, windowMs: 1_000, nodeId: 'n1', now: () => 5 });
    const b = createLimiter({ name: 'api', limit: 1, windowMs: 1_000, nodeId: 'n1', now: () => 5 });
    expect(a.replicaId).toMatch(/^n1#./);
    expect(b.replicaId).toMatch(/^n1#./);
    expect(a.replicaId).not.toBe(b.replicaId);
    expect(createLimiter({ name: 'api', limit: 1, windowMs: 1_000 }).replicaId).toMatch(/^local#./);
  });

  it('defaults to one bucket per second, clamped to [10, 600]', () => {
    const make = (windowMs: number) => createLimiter({ name: 'api', limit: 1, windowMs, now: () => 0 }).buckets;
    expect(make(60_000)).toBe(60);
    expect(make(5_000)).toBe(10);
    expect(make(100)).toBe(10);
    expect(make(3_600_000)).toBe(600);
  });

  it('takes time only from the now option', () => {
    let calls = 0;
    const limiter = createLimiter({ name: 'api', limit: 1, windowMs: 1_000, now: () => (calls++, 42_000) });
    limiter.consume('k');
    expect(calls).toBeGreaterThan(0);
    expect(limiter.replica.currentBucket()).toBe(420); // 10 buckets of 100 ms
  });
});
