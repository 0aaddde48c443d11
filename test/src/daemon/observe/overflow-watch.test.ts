import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../../../src/limiter/limiter.js';
import { OVERFLOW_RECENT_MS, OverflowWatch } from '../../../../src/daemon/observe/overflow-watch.js';

describe('OverflowWatch', () => {
  const open = createLimiter({ name: 'open', limit: 1, windowMs: 1_000 });
  const closed = createLimiter({ name: 'closed', limit: 1, windowMs: 1_000, onOverflow: 'deny' });

  it('lists each limiter that overflowed recently, with its policy, count and timing', () => {
    const clock = { now: 10_000 };
    const watch = new OverflowWatch(() => clock.now);
    expect(watch.recent()).toEqual([]);
    watch.record(open);
    clock.now += 2_000;
    watch.record(open);
    watch.record(closed);
    clock.now += 500;
    expect(watch.recent()).toEqual([
      { limiter: 'closed', policy: 'deny', count: 1, sinceMs: 500, lastMs: 500 },
      { limiter: 'open', policy: 'allow', count: 2, sinceMs: 2_500, lastMs: 500 },
    ]);
  });

  it('forgets a limiter once it has not overflowed for a while, and starts a new episode after', () => {
    const clock = { now: 0 };
    const watch = new OverflowWatch(() => clock.now);
    watch.record(open);
    watch.record(open);
    clock.now += OVERFLOW_RECENT_MS;
    expect(watch.recent()).toHaveLength(1);
    clock.now += 1;
    expect(watch.recent()).toEqual([]);
    watch.record(open);
    expect(watch.recent()).toEqual([{ limiter: 'open', policy: 'allow', count: 1, sinceMs: 0, lastMs: 0 }]);
  });
});
