/**
 * A small seeded pseudo-random number generator for simulations and tests.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's "Small Fast Counting" PRNG,
 * from PractRand), seeded through splitmix32 so that nearby integer seeds
 * (1, 2, 3...) give unrelated streams. It is not cryptographic: it exists so
 * that a simulated run is a pure function of its seed.
 *
 * @module
 */

/** A deterministic random source. Same seed, same sequence, on every platform. */
export interface Prng {
  /** A float in [0, 1). */
  next(): number;
  /** An unsigned 32-bit integer. */
  uint32(): number;
  /** An integer in [0, n). `n` must be a positive integer no larger than 2^32. */
  int(n: number): number;
  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** An independent generator seeded from this one (advances this one by one step). */
  fork(): Prng;
}

const TWO_POW_32 = 4_294_967_296;
/** Outputs discarded after seeding; sfc32's authors recommend a short warm-up. */
const WARM_UP_ROUNDS = 12;

/**
 * splitmix32: spreads one 32-bit seed into well-mixed 32-bit words
 * (the 32-bit variant of Steele, Lea and Flood's SplitMix).
 */
function splitmix32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Create a generator from a 32-bit integer seed (other numbers are truncated
 * to their low 32 bits).
 *
 * @example
 * ```ts
 * const rng = createPrng(42);
 * const latency = 1 + rng.int(5); // 1..5
 * const child = rng.fork();       // an independent, reproducible stream
 * ```
 */
export function createPrng(seed: number): Prng {
  if (!Number.isFinite(seed)) throw new RangeError(`createPrng: seed must be a finite number, got ${seed}`);
  const mix = splitmix32(seed);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();

  const uint32 = (): number => {
    // sfc32: a 128-bit state with a counter (d) that guarantees a period of at least 2^32.
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < WARM_UP_ROUNDS; i++) uint32();

  const next = (): number => uint32() / TWO_POW_32;
  return {
    next,
    uint32,
    int(n: number): number {
      if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
        throw new RangeError(`Prng.int: n must be an integer in [1, 2^32], got ${n}`);
      }
      return Math.floor(next() * n);
    },
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('Prng.pick: cannot pick from an empty array');
      return items[Math.floor(next() * items.length)];
    },
    fork(): Prng {
      return createPrng(uint32());
    },
  };
}
