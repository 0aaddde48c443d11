/**
 * Eager validation of options and arguments, throwing registry errors that
 * name the offending option. Validation happens at construction and at the
 * API boundary, never on the network path.
 *
 * @module
 */
import { codes } from '../errors.js';

/** Longest key accepted, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 256;
/** Most buckets one window may have. */
export const MAX_BUCKETS = 600;
/** Fewest buckets a window gets by default. */
export const MIN_DEFAULT_BUCKETS = 10;
/** Largest limit accepted (counts stay exact integers far below 2^53). */
export const MAX_LIMIT = 1e12;
/** Longest window accepted: 31 days. */
export const MAX_WINDOW_MS = 31 * 24 * 3600 * 1000;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

/** Requires an integer within [min, max]; TypeError when not a number, RangeError when out of bounds. */
export function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_TYPE(name, 'a number', show(value));
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(name, `an integer from ${min} to ${max}`, show(value));
  }
  return value;
}

/** Requires a limiter name: 1–64 of [A-Za-z0-9_.-], starting with a letter or digit. */
export function nameOption(value: unknown, option = 'name'): string {
  if (typeof value !== 'string') throw new codes.TALLYMESH_ERR_OPTION_TYPE(option, 'a string', show(value));
  if (!NAME_RE.test(value)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(option, '1-64 characters of [A-Za-z0-9_.-] starting with a letter or digit', show(value));
  }
  return value;
}

/** Requires one of the listed strings. */
export function enumOption<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new codes.TALLYMESH_ERR_OPTION_RANGE(name, `one of ${allowed.join(', ')}`, show(value));
  }
  return value as T;
}

/** Default bucket count for a window: one per second, clamped to [10, 600]. */
export function defaultBuckets(windowMs: number): number {
  return Math.min(MAX_BUCKETS, Math.max(MIN_DEFAULT_BUCKETS, Math.round(windowMs / 1000)));
}

/** Validates a rate-limit key (hot path: the byte count is taken only for long keys). */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) throw new codes.TALLYMESH_ERR_KEY_INVALID(show(key));
  // A UTF-16 code unit encodes to at most 3 bytes of UTF-8.
  if (key.length * 3 > MAX_KEY_BYTES) {
    const bytes = Buffer.byteLength(key, 'utf8');
    if (bytes > MAX_KEY_BYTES) throw new codes.TALLYMESH_ERR_KEY_TOO_LONG(MAX_KEY_BYTES, bytes);
  }
}

/** Validates a cost against the limit in force. */
export function checkCost(cost: unknown, limit: number): asserts cost is number {
  if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 1 || cost > limit) {
    throw new codes.TALLYMESH_ERR_COST_INVALID(limit, show(cost));
  }
}
