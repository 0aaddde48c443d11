/**
 * What a client call settles with: a {@link ClientDecision} (from a daemon,
 * or from the fail mode when none answered), or a registry error rebuilt
 * from the daemon's `[code, message]`.
 *
 * @module
 */
import { codes, type ErrorCode, type TallymeshError } from '../errors.js';
import type { ItemResult } from '../stream/batch.js';

/** Who decided a {@link ClientDecision}. */
export type DecisionSource = 'daemon' | 'fail-open' | 'fail-closed';

/**
 * A rate-limit decision, as the daemon answers it, plus where it came from.
 * A decision with `source` other than `'daemon'` was made by the client's
 * `failMode` because no daemon answered in time: nothing was counted, and
 * `limit`, `remaining`, `resetMs` and `retryAfterMs` are 0.
 */
export interface ClientDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
  source: DecisionSource;
}

/** The decision of the fail mode `open` or `closed`. */
export function failDecision(allowed: boolean): ClientDecision {
  return { allowed, limit: 0, remaining: 0, resetMs: 0, retryAfterMs: 0, source: allowed ? 'fail-open' : 'fail-closed' };
}

/**
 * The registry error a daemon's `[code, message]` stands for, with the
 * daemon's message; a code this client does not know is
 * `TALLYMESH_ERR_CLIENT_REMOTE`.
 */
export function remoteError(code: string, message: string): TallymeshError {
  if (!Object.hasOwn(codes, code)) return new codes.TALLYMESH_ERR_CLIENT_REMOTE(code, message);
  const err = new codes[code as ErrorCode]();
  // The daemon formatted the message already; keep its words.
  Object.defineProperty(err, 'message', { value: message, writable: true, configurable: true, enumerable: false });
  return err;
}

/** A daemon's item result as what a call settles with. */
export function fromItem(result: ItemResult): ClientDecision | TallymeshError {
  if ('error' in result) return remoteError(result.error.code, result.error.message);
  return { allowed: result.allowed, limit: result.limit, remaining: result.remaining, resetMs: result.resetMs, retryAfterMs: result.retryAfterMs, source: 'daemon' };
}
