/**
 * The decision path shared by the HTTP API and the stream: resolve the
 * limiter, consume, and report denials and overflows to whoever watches —
 * so both front doors count, sample and log the same way.
 *
 * It also holds the shutdown gate: once {@link Decider.stop} is called no
 * hit is admitted any more, which is what lets the daemon hand every admitted
 * hit to its peers in the last flush.
 *
 * @module
 */
import { codes, isTallymeshError } from '../errors.js';
import type { Decision, Limiter } from '../limiter/limiter.js';
import type { Mesh } from '../mesh/mesh.js';

// The batch shapes live with the stream's wire format (src/stream/), which the client shares.
import type { ConsumeRequest, ItemError, ItemResult } from '../stream/batch.js';
export { MAX_BATCH_REQUESTS, type ConsumeRequest, type ItemError, type ItemResult } from '../stream/batch.js';

/** Observers of the decision path. Called synchronously; must not throw. */
export interface DeciderHooks {
  /** A request was denied. */
  denied(limiter: Limiter, key: string, cost: number, decision: Decision): void;
  /** A new key met a full node (the decision followed the limiter's `onOverflow`). */
  overflow(limiter: Limiter, key: string): void;
}

/**
 * Decides consume requests against a mesh's limiters.
 *
 * @example
 * const decider = new Decider(mesh, { denied: () => {}, overflow: () => {} });
 * decider.one('api', 'user:42', 1);   // { allowed: true, limit: 100, remaining: 99, ... }
 * decider.many([{ limiter: 'api', key: '' }]);   // [{ error: { code: 'TALLYMESH_ERR_KEY_INVALID', ... } }]
 */
export class Decider {
  #mesh: Mesh;
  #hooks: DeciderHooks;
  #stopped = false;

  constructor(mesh: Mesh, hooks: DeciderHooks) {
    this.#mesh = mesh;
    this.#hooks = hooks;
  }

  /** False once shutdown began. */
  get open(): boolean {
    return !this.#stopped;
  }

  /** Refuses every later request with TALLYMESH_ERR_MESH_CLOSED. */
  stop(): void {
    this.#stopped = true;
  }

  /** The limiter named `name`. @throws TALLYMESH_ERR_HTTP_BAD_REQUEST, TALLYMESH_ERR_LIMITER_UNKNOWN */
  limiter(name: unknown): Limiter {
    if (typeof name !== 'string') throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST('"limiter" must be a string');
    const limiter = this.#mesh.get(name);
    if (limiter === undefined) throw new codes.TALLYMESH_ERR_LIMITER_UNKNOWN(name);
    return limiter;
  }

  /**
   * Decides one request (cost defaults to 1).
   * @throws registry errors for a closed daemon, an unknown limiter, a bad key or cost.
   */
  one(limiterName: unknown, key: unknown, cost: unknown = 1): Decision {
    if (this.#stopped) throw new codes.TALLYMESH_ERR_MESH_CLOSED();
    const limiter = this.limiter(limiterName);
    const overflowsBefore = limiter.stats.overflows;
    // consume() validates key and cost and throws registry errors for them.
    const decision = limiter.consume(key as string, cost as number);
    if (!decision.allowed) this.#hooks.denied(limiter, key as string, cost as number, decision);
    // The mesh's 'overflow' event does not say which key; comparing the counter does, for free.
    if (limiter.stats.overflows !== overflowsBefore) this.#hooks.overflow(limiter, key as string);
    return decision;
  }

  /**
   * Decides a batch in order. A bad item yields `{ error }` in its place and
   * harms none of the others.
   */
  many(requests: readonly ConsumeRequest[]): ItemResult[] {
    const results: ItemResult[] = new Array(requests.length);
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i];
      try {
        if (typeof r !== 'object' || r === null || Array.isArray(r)) {
          throw new codes.TALLYMESH_ERR_HTTP_BAD_REQUEST(`requests[${i}] must be an object`);
        }
        if (r.keyNotUtf8 === true) throw new codes.TALLYMESH_ERR_KEY_MALFORMED('bytes that are not valid UTF-8');
        results[i] = this.one(r.limiter, r.key, r.cost === undefined ? 1 : r.cost);
      } catch (err) {
        results[i] = itemError(err);
      }
    }
    return results;
  }
}

/** The `{ error }` of a failed item. Only registry errors describe bad input; anything else is a bug and propagates. */
function itemError(err: unknown): ItemError {
  if (!isTallymeshError(err)) throw err;
  return { error: { code: err.code, message: err.message } };
}
