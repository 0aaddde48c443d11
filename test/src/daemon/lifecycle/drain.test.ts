import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Drain } from '../../../../src/daemon/lifecycle/drain.js';

describe('Drain', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('serves until asked, drains for drainMs, then closes', async () => {
    const drain = new Drain(5_000);
    expect([drain.state, drain.stopping]).toEqual(['serving', false]);
    let ended = false;
    void drain.run().then(() => (ended = true));
    expect([drain.state, drain.stopping]).toEqual(['draining', true]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(drain.describe()).toBe('draining: decisions are served for 4000 ms more, then the node shuts down');
    await vi.advanceTimersByTimeAsync(3_999);
    expect(ended).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect([ended, drain.state, drain.describe()]).toEqual([true, 'closing', 'shutting down']);
  });

  it('ends the drain at once when asked again, and resolves both callers', async () => {
    const drain = new Drain(60_000);
    const first = drain.run();
    const second = drain.run();
    await Promise.all([first, second]);
    expect(drain.state).toBe('closing');
    // Once closing, another request resolves at once.
    await drain.run();
  });

  it('closes without a drain, and with drainMs 0 ends at the next timer turn', async () => {
    const drain = new Drain(5_000);
    drain.close();
    expect(drain.state).toBe('closing');
    const zero = new Drain(0);
    const done = zero.run();
    await vi.advanceTimersByTimeAsync(0);
    await done;
    expect(zero.state).toBe('closing');
  });
});
