/**
 * The keyed hash that stands for a rate-limit key in logs and events. Keys
 * are user ids, IP addresses, API keys: personal data that logs must not
 * collect, so the daemon writes this hash instead, never the key.
 *
 * May import: `node:crypto` only.
 *
 * @module
 */
import { createHmac } from 'node:crypto';

/** Hex digits kept of a key hash: 64 bits, enough to tell keys apart in a log search. */
const KEY_HASH_HEX = 16;

/**
 * A function hashing rate-limit keys for logs and events: HMAC-SHA-256 keyed
 * with the cluster secret, truncated to 64 bits. Keyed, so that someone
 * holding the logs cannot confirm a guessed key (an IP address, an e-mail)
 * without the secret; the same on every node of a cluster, so lines about
 * one key correlate across nodes. Without a secret (loopback development)
 * the key is a fixed label and the hash is only a pseudonym.
 *
 * @example
 * const hashKey = keyHasher(secret);
 * hashKey('user:42');   // '3f0c5d9e1b2a7c44'
 */
export function keyHasher(secret: string): (key: string) => string {
  const hmacKey = secret === '' ? 'tallymesh-key-hash' : secret;
  return (key) => createHmac('sha256', hmacKey).update(key, 'utf8').digest('hex').slice(0, KEY_HASH_HEX);
}
