import { describe, expect, it } from 'vitest';
import { createPrng } from '../../../transport/sim/prng.js';

const take = <T>(n: number, next: () => T): T[] => Array.from({ length: n }, next);

describe('createPrng', () => {
  it('gives the same sequence for the same seed', () => {
    expect(take(100, createPrng(42).next)).toEqual(take(100, createPrng(42).next));
  });

  it('gives unrelated sequences for neighbouring seeds', () => {
    const a = take(100, createPrng(1).uint32);
    const b = take(100, createPrng(2).uint32);
    expect(a.filter((x, i) => x === b[i])).toEqual([]);
  });

  it('returns floats in [0, 1) with a mean near 1/2', () => {
    const xs = take(20_000, createPrng(7).next);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.01);
  });

  it('returns integers in [0, n) that hit every value about equally', () => {
    const rng = createPrng(9);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 50_000; i++) counts[rng.int(10)]++;
    for (const c of counts) expect(Math.abs(c - 5_000)).toBeLessThan(300);
  });

  it('rejects a non-positive or fractional bound', () => {
    const rng = createPrng(1);
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(2.5)).toThrow(RangeError);
  });

  it('picks elements of an array and refuses an empty one', () => {
    const rng = createPrng(3);
    const seen = new Set(take(200, () => rng.pick(['x', 'y', 'z'])));
    expect([...seen].sort()).toEqual(['x', 'y', 'z']);
    expect(() => rng.pick([])).toThrow(RangeError);
  });

  it('forks reproducible streams that differ from the parent', () => {
    const p1 = createPrng(5);
    const p2 = createPrng(5);
    const c1 = p1.fork();
    const c2 = p2.fork();
    expect(take(20, c1.uint32)).toEqual(take(20, c2.uint32));
    expect(take(20, p1.uint32)).toEqual(take(20, p2.uint32));
    expect(take(20, createPrng(5).fork().uint32)).not.toEqual(take(20, createPrng(5).uint32));
  });

  it('refuses a non-finite seed', () => {
    expect(() => createPrng(Number.NaN)).toThrow(RangeError);
  });
});
