/**
 * The accuracy scenario's arithmetic, on the load generator's own log of
 * admitted decisions (epoch ms, one entry per admitted hit of cost 1): the
 * most admitted in any sliding window of length W, in any aligned span of
 * the limiter's buckets, and the least admitted in any sliding window while
 * load saturated the key. Never the limiter's own counters.
 */

/** Admitted hits per millisecond over [from, to): a histogram the window sums are read from. */
export function perMillisecond(times: readonly number[], from: number, to: number): Int32Array {
  const bins = new Int32Array(Math.max(0, to - from));
  for (const t of times) {
    const i = Math.floor(t) - from;
    if (i >= 0 && i < bins.length) bins[i]++;
  }
  return bins;
}

/** The most and the least hits in any sliding window [s, s + windowMs) with from ≤ s and s + windowMs ≤ to (1 ms steps). */
export function slidingExtremes(times: readonly number[], windowMs: number, from: number, to: number): { most: number; least: number } {
  const bins = perMillisecond(times, from, to);
  if (bins.length < windowMs) return { most: 0, least: 0 };
  let sum = 0;
  for (let i = 0; i < windowMs; i++) sum += bins[i];
  let most = sum;
  let least = sum;
  for (let s = 1; s + windowMs <= bins.length; s++) {
    sum += bins[s + windowMs - 1] - bins[s - 1];
    if (sum > most) most = sum;
    if (sum < least) least = sum;
  }
  return { most, least };
}

/**
 * The most hits in any aligned span of `buckets` buckets (bucket `k` is
 * `[k·W/B, (k+1)·W/B)`, epoch-aligned as the limiter's) lying inside [from, to).
 */
export function mostAligned(times: readonly number[], windowMs: number, buckets: number, from: number, to: number): number {
  const per = new Map<number, number>();
  for (const t of times) {
    if (t < from || t >= to) continue;
    const b = Math.floor((t * buckets) / windowMs);
    per.set(b, (per.get(b) ?? 0) + 1);
  }
  const first = Math.ceil((from * buckets) / windowMs);
  const last = Math.floor((to * buckets) / windowMs) - buckets;
  let most = 0;
  for (let k = first; k <= last; k++) {
    let n = 0;
    for (let b = k; b < k + buckets; b++) n += per.get(b) ?? 0;
    if (n > most) most = n;
  }
  return most;
}

/** Hits in [from, to). */
export function countIn(times: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const t of times) if (t >= from && t < to) n++;
  return n;
}

/**
 * Hits per interval: `count` intervals of `intervalMs` from `origin`
 * (interval `i` is `[origin + i·intervalMs, origin + (i + 1)·intervalMs)`);
 * hits outside them are not counted.
 */
export function perInterval(times: readonly number[], origin: number, intervalMs: number, count: number): number[] {
  const out = new Array<number>(Math.max(0, count)).fill(0);
  for (const t of times) {
    const i = Math.floor((t - origin) / intervalMs);
    if (i >= 0 && i < out.length) out[i]++;
  }
  return out;
}
