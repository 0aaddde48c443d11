/**
 * Anti-entropy digests: which buckets a digest covers and how two are compared.
 *
 * @module
 */
import type { Limiter } from '../limiter/limiter.js';

/** Key shards per limiter digest: 256 × 4 bytes per limiter per digest interval. */
export const DIGEST_SHARDS = 256;

/**
 * The buckets a digest covers: the live window minus the two newest buckets,
 * whose cells are still in flight as deltas (comparing them would trigger
 * repairs that the next delta makes moot), and minus the oldest, which a peer
 * a little ahead may already have dropped.
 */
export function digestRange(limiter: Limiter): { from: number; to: number } {
  const cur = limiter.currentBucket();
  return { from: cur - limiter.buckets + 1, to: cur - 2 };
}

/** Indexes of the shards where two digests differ. */
export function compareDigests(ours: number[], theirs: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < ours.length; i++) if (ours[i] !== theirs[i]) out.push(i);
  return out;
}
