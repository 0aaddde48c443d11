import { describe, expect, it } from 'vitest';
import { LogSampler } from '../../../../src/daemon/observe/log-sampler.js';

describe('LogSampler', () => {
  it('lets one report per subject through per interval and counts the ones held back', () => {
    let now = 0;
    const t = new LogSampler(10_000, () => now);
    expect(t.take('a')).toBe(0);
    expect(t.take('b')).toBe(0);
    expect(t.take('a')).toBeNull();
    now = 9_999;
    expect(t.take('a')).toBeNull();
    now = 10_000;
    expect(t.take('a')).toBe(2);
    expect(t.take('a')).toBeNull();
  });
});
