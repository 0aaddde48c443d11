/**
 * Small, fast, non-cryptographic hashes for digests and key sharding.
 * Not a defence against a hostile peer (peers are authenticated); only a
 * way for two honest replicas to notice they differ.
 *
 * @module
 */

/** 32-bit FNV-1a over the UTF-16 code units of a string. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Splits a non-negative integer below 2^53 into two 32-bit words and folds them into `h`. */
function fold(h: number, n: number): number {
  const hi = Math.floor(n / 4294967296);
  h = fmix((h ^ (n >>> 0)) >>> 0);
  return fmix((h ^ hi) >>> 0);
}

/**
 * Hash of one cell: key hash, bucket, replica hash, floor and count.
 * Digests add these modulo 2^32, so the order of cells does not matter.
 */
export function mix32(keyHash: number, bucket: number, replicaHash: number, floor: number, count: number): number {
  let h = fmix(keyHash ^ replicaHash);
  h = fold(h, bucket);
  h = fold(h, floor);
  return fold(h, count);
}
