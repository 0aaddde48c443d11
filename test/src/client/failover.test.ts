/**
 * The client's redial policy without sockets or real time: capped
 * exponential backoff with full jitter, and which URL comes next.
 */
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/client/backoff.js';
import { Failover } from '../../../src/client/failover.js';

describe('Backoff', () => {
  it('draws each delay from [0, min(maxMs, initialMs × 2^n)] and starts over on reset', () => {
    expect(Array.from({ length: 8 }, ((b) => () => b.next())(new Backoff({ initialMs: 50, maxMs: 1000 }, () => 0.999999)))).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
    const low = new Backoff({ initialMs: 50, maxMs: 1000 }, () => 0);
    expect([low.next(), low.next()]).toEqual([0, 0]);
    const half = new Backoff({ initialMs: 50, maxMs: 1000 }, () => 0.5);
    expect([half.next(), half.next(), half.next()]).toEqual([25, 50, 100]);
    half.reset();
    expect(half.attempts).toBe(0);
    expect(half.next()).toBe(25);
  });

  it('never overflows after many failures', () => {
    const b = new Backoff({ initialMs: 1, maxMs: 5000 }, () => 0.999999);
    for (let i = 0; i < 2000; i++) b.next();
    expect(b.next()).toBe(5000);
  });
});

describe('Failover', () => {
  const backoff = { initialMs: 100, maxMs: 1000 };

  it('first-healthy: picks the first URL not skipped, and skips a failed one for its backoff delay', () => {
    const f = new Failover(3, 'first-healthy', backoff, () => 0.999999);
    expect(f.pick(0)).toEqual({ index: 0, waitMs: 0 });
    f.failed(0, 0); // skipped until 100
    expect(f.pick(50)).toEqual({ index: 1, waitMs: 0 });
    f.failed(1, 50); // until 150
    f.failed(2, 60); // until 160
    expect(f.pick(70)).toEqual({ index: -1, waitMs: 30 });
    expect(f.pick(100)).toEqual({ index: 0, waitMs: 0 });
    f.failed(0, 100); // second failure in a row: until 300
    expect(f.failures(0)).toBe(2);
    expect(f.pick(200)).toEqual({ index: 1, waitMs: 0 });
    f.succeeded(0);
    expect(f.failures(0)).toBe(0);
    expect(f.pick(200)).toEqual({ index: 0, waitMs: 0 });
  });

  it('round-robin: starts after the URL used last', () => {
    const f = new Failover(3, 'round-robin', backoff, () => 0.5);
    expect([f.pick(0).index, f.pick(0).index, f.pick(0).index, f.pick(0).index]).toEqual([0, 1, 2, 0]);
    f.failed(1, 0);
    expect(f.pick(0).index).toBe(2);
  });
});
